# CPU jobs: per-sequence provenance and metrics, then one table of all scored frames.


def finish_inputs(wildcards):
    return sequence_outputs(wildcards.seq)


rule finish_sequence:
    input:
        finish_inputs,
    output:
        provenance=LAYOUT.output_dir / "{seq}" / "provenance.json",
        metrics_txt=LAYOUT.output_dir / "{seq}" / "metrics.txt",
        metrics_csv=LAYOUT.output_dir / "{seq}" / "metrics.csv",
    params:
        settings=settings_json(),
    wildcard_constraints:
        seq="[^/]+",
    log:
        RESULTS / "logs" / "finish_sequence" / "{seq}.log",
    benchmark:
        RESULTS / "benchmarks" / "finish_sequence" / "{seq}.tsv"
    shell:
        "{VFI} finish --settings-json {params.settings:q} --sequence {wildcards.seq:q} 2> {log:q}"


rule aggregate_metrics:
    input:
        [LAYOUT.metrics_csv(seq) for seq in SEQUENCES.values()],
    output:
        RESULTS / "metrics.csv",
    log:
        RESULTS / "logs" / "aggregate_metrics.log",
    benchmark:
        RESULTS / "benchmarks" / "aggregate_metrics.tsv"
    shell:
        "{VFI} aggregate --out {output:q} {input:q} 2> {log:q}"
