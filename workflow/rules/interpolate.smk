# Model jobs: one per (level, batch of sequences), and keyframe copies. Rules are made per job
# because each job's inputs and outputs are explicit lists (its frames' parents and its frames);
# a job is named after its level and first sequence (interpolate_level3_<seq>_<hash>).
# A job is told its work by its output files, so its parameters never name sequences and do
# not change when batches do (rules/common.smk, vfi/pipeline/jobs.py).


for job in COPY_JOBS:

    rule:
        name:
            job.name
        input:
            job.inputs,
        output:
            job.outputs,
        params:
            job=job.name,
            settings=job_settings("copy"),
        log:
            RESULTS / "logs" / f"{job.name}.log",
        benchmark:
            RESULTS / "benchmarks" / f"{job.name}.tsv"
        localrule: True
        threads: 1
        conda:
            ENV
        shell:
            "vfi --threads {threads} copy-keyframes --settings-json {params.settings:q}"
            " --job {params.job} {output:q} 2> {log:q}"


for job in LEVEL_JOBS:

    rule:
        name:
            job.name
        input:
            frames=job.inputs,
            weights=model_weights(SETTINGS.backend),
        output:
            job.outputs,
        params:
            job=job.name,
            level=job.level,
            settings=job_settings("model"),
        log:
            RESULTS / "logs" / f"{job.name}.log",
        benchmark:
            RESULTS / "benchmarks" / f"{job.name}.tsv"
        threads: SETTINGS.model_jobs.threads
        resources:
            **model_job_resources(),
        conda:
            ENV
        shell:
            "vfi --threads {threads} interpolate --settings-json {params.settings:q}"
            " --level {params.level} --job {params.job} {output:q} 2> {log:q}"
