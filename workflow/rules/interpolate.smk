# Model jobs: one per (batch of sequences, level). Rules are made per job because each job's
# inputs and outputs are explicit lists (its frames' parents and its frames).


for batch in BATCHES:
    if generation_names(batch):

        rule:
            name:
                f"copy_keyframes_batch{batch.index:03d}"
            input:
                keyframe_inputs(batch),
            output:
                keyframe_outputs(batch),
            params:
                sequences=generation_names(batch),
                settings=settings_json(),
            log:
                RESULTS / "logs" / f"copy_keyframes_batch{batch.index:03d}.log",
            benchmark:
                RESULTS / "benchmarks" / f"copy_keyframes_batch{batch.index:03d}.tsv"
            localrule: True
            conda:
                ENV
            shell:
                "vfi copy-keyframes --settings-json {params.settings:q}"
                " --sequences {params.sequences:q} 2> {log:q}"

    for job in level_jobs(batch, LAYOUT):

        rule:
            name:
                job.name
            input:
                frames=job.inputs,
                weights=MODEL_WEIGHTS,
            output:
                job.outputs,
            params:
                level=job.level,
                sequences=list(job.sequences),
                settings=model_settings_json(),
            log:
                RESULTS / "logs" / f"{job.name}.log",
            benchmark:
                RESULTS / "benchmarks" / f"{job.name}.tsv"
            resources:
                gpu=1,
            conda:
                ENV
            shell:
                "vfi interpolate --settings-json {params.settings:q} --level {params.level}"
                " --sequences {params.sequences:q} 2> {log:q}"
