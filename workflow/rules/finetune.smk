# Fine-tuning: `snakemake finetune` adapts IFRNet to this data's triplets (config section
# finetune:). Not part of the default run; its curves join the report once the model is current
# (same settings, no newer input), so that a report never starts a training.


localrules:
    plot_finetune,


rule finetune:
    input:
        FINETUNE_PATHS["model"],
        FINETUNE_PATHS["card"],
        FINETUNE_PLOT,


rule finetune_model:
    input:
        frames=FINETUNE_INPUTS,
    output:
        model=FINETUNE_PATHS["model"],
        card=FINETUNE_PATHS["card"],
        curves=FINETUNE_PATHS["curves"],
    params:
        settings=job_settings("finetune"),
    log:
        RESULTS / "logs" / "finetune_model.log",
    benchmark:
        RESULTS / "benchmarks" / "finetune_model.tsv"
    threads: SETTINGS.model_jobs.threads
    resources:
        **model_job_resources(uses_gpu=True),
    conda:
        ENV
    shell:
        "vfi --threads {threads} finetune --settings-json {params.settings:q} 2> {log:q}"


rule plot_finetune:
    input:
        FINETUNE_PATHS["curves"],
    output:
        report(
            FINETUNE_PLOT,
            caption="../report/finetune.rst",
            category=CATEGORY_TRAINING,
            labels={"figure": f"fine-tuning of {SETTINGS.finetune.name}"},
        ),
    params:
        name=SETTINGS.finetune.name,
    log:
        RESULTS / "logs" / "plot_finetune.log",
    benchmark:
        RESULTS / "benchmarks" / "plot_finetune.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi plot-training --curves {input:q} --out {output:q} --name {params.name:q} 2> {log:q}"
