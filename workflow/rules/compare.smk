# Backends compared with the main one (config compare:). Each compare backend runs the main
# run's jobs with its own settings (rules/common.smk: COMPARE_SETTINGS), writing under
# <results_dir>/compare/<backend>/: keyframe copies and model jobs named compare_<backend>_...,
# per-sequence provenance, scores and temporal consistency, and its tables. One job then compares
# every backend with the main one on the same frames. Nothing here runs without compare:.


if COMPARE_SETTINGS:

    localrules:
        compare_aggregate,
        compare_backends,


for backend, job in COMPARE_COPY_JOBS:

    rule:
        name:
            job.name
        input:
            job.inputs,
        output:
            job.outputs,
        params:
            job=job.name,
            settings=job_settings("copy", COMPARE_SETTINGS[backend]),
        log:
            RESULTS / "logs" / "compare" / backend / f"{job.name}.log",
        benchmark:
            RESULTS / "benchmarks" / "compare" / backend / f"{job.name}.tsv"
        localrule: True
        threads: 1
        conda:
            ENV
        shell:
            "vfi --threads {threads} copy-keyframes --settings-json {params.settings:q}"
            " --job {params.job} {output:q} 2> {log:q}"


for backend, job in COMPARE_LEVEL_JOBS:

    rule:
        name:
            job.name
        input:
            frames=job.inputs,
            weights=model_weights(backend),
        output:
            job.outputs,
        params:
            job=job.name,
            level=job.level,
            settings=job_settings("model", COMPARE_SETTINGS[backend]),
        log:
            RESULTS / "logs" / "compare" / backend / f"{job.name}.log",
        benchmark:
            RESULTS / "benchmarks" / "compare" / backend / f"{job.name}.tsv"
        threads: SETTINGS.model_jobs.threads
        resources:
            **model_job_resources(backend=backend),
        conda:
            ENV
        shell:
            "vfi --threads {threads} interpolate --settings-json {params.settings:q}"
            " --level {params.level} --job {params.job} {output:q} 2> {log:q}"


if COMPARE_SETTINGS:

    rule compare_finish_sequence:
        input:
            compare_finish_inputs,
        output:
            provenance=COMPARE_ROOT / "{backend}" / "{seq}" / "provenance.json",
            metrics_txt=COMPARE_ROOT / "{backend}" / "{seq}" / "metrics.txt",
            metrics_csv=COMPARE_ROOT / "{backend}" / "{seq}" / "metrics.csv",
            temporal=COMPARE_ROOT / "{backend}" / "{seq}" / "temporal.csv",
        params:
            settings=compare_finish_settings,
        wildcard_constraints:
            backend=compare_backend_pattern(),
            seq="[^/]+",
        log:
            RESULTS / "logs" / "compare" / "{backend}" / "finish_sequence" / "{seq}.log",
        benchmark:
            RESULTS / "benchmarks" / "compare" / "{backend}" / "finish_sequence" / "{seq}.tsv"
        threads: 1
        resources:
            gpu=finish_gpus,
        conda:
            ENV
        shell:
            "vfi --threads {threads} finish --settings-json {params.settings:q}"
            " --sequence {wildcards.seq:q} 2> {log:q}"

    rule compare_aggregate:
        input:
            unpack(compare_table_inputs),
        output:
            metrics=COMPARE_ROOT / "{backend}" / "metrics.csv",
            temporal=COMPARE_ROOT / "{backend}" / "temporal.csv",
        params:
            sequences=sorted(SEQUENCES),
        wildcard_constraints:
            backend=compare_backend_pattern(),
        log:
            RESULTS / "logs" / "compare" / "{backend}" / "aggregate.log",
        benchmark:
            RESULTS / "benchmarks" / "compare" / "{backend}" / "aggregate.tsv"
        threads: 1
        conda:
            ENV
        shell:
            "(vfi aggregate --out {output.metrics:q} {input.metrics:q} &&"
            " vfi aggregate --table temporal --out {output.temporal:q} {input.temporal:q})"
            " 2> {log:q}"

    rule compare_backends:
        input:
            unpack(comparison_inputs),
        output:
            table=report(
                RESULTS / "comparison.csv",
                caption="../report/comparison_csv.rst",
                category=CATEGORY_COMPARISON,
                labels={"item": "means per backend and set (comparison.csv, download)"},
            ),
            paired=report(
                RESULTS / "comparison_paired.csv",
                caption="../report/comparison_paired_csv.rst",
                category=CATEGORY_COMPARISON,
                labels={"item": "paired differences (comparison_paired.csv, download)"},
            ),
            page=report(
                COMPARISON_PAGE,
                caption="../report/comparison_page.rst",
                category=CATEGORY_COMPARISON,
                labels={"item": "comparison of backends (view)"},
            ),
            plot=report(
                COMPARISON_PLOT,
                caption="../report/comparison_psnr.rst",
                category=CATEGORY_COMPARISON,
                labels={"item": "PSNR by level and by effective time (figure)"},
            ),
            strips=[
                report(
                    path,
                    caption="../report/comparison_strip.rst",
                    category=CATEGORY_COMPARISON,
                    labels={"item": f"worst frame {rank} by the main backend's PSNR"},
                )
                for rank, path in enumerate(comparison_strip_outputs(), start=1)
            ],
        params:
            settings=job_settings("preview"),
            backends=comparison_args(),
        log:
            RESULTS / "logs" / "compare_backends.log",
        benchmark:
            RESULTS / "benchmarks" / "compare_backends.tsv"
        threads: 1
        conda:
            ENV
        shell:
            "vfi --threads {threads} compare --settings-json {params.settings:q} {params.backends}"
            " --metrics {input.metrics:q} --temporal {input.temporal:q}"
            " --table {output.table:q} --paired {output.paired:q} --page {output.page:q}"
            " --plot {output.plot:q} --strips {output.strips:q} 2> {log:q}"
