# Per-sequence provenance, metrics and temporal consistency (CPU jobs, unless LPIPS runs on a GPU
# per metrics.device: then they declare it), then one table of all scored frames and one of
# every sequence's temporal consistency.

# Runs before the first job (not in dry runs), once the executor is known.
onstart:
    check_scoring_gpu()


rule finish_sequence:
    input:
        finish_inputs,
    output:
        provenance=LAYOUT.output_dir / "{seq}" / "provenance.json",
        metrics_txt=report(
            LAYOUT.output_dir / "{seq}" / "metrics.txt",
            caption="../report/metrics_txt.rst",
            category=CATEGORY_SEQUENCES,
            subcategory="{seq}",
            labels={"sequence": "{seq}", "file": "metrics.txt (download)"},
        ),
        metrics_csv=report(
            LAYOUT.output_dir / "{seq}" / "metrics.csv",
            caption="../report/metrics_csv.rst",
            category=CATEGORY_SEQUENCES,
            subcategory="{seq}",
            labels={"sequence": "{seq}", "file": "metrics.csv (download)"},
        ),
        temporal=LAYOUT.output_dir / "{seq}" / "temporal.csv",
    params:
        settings=job_settings("finish"),
    wildcard_constraints:
        seq="[^/]+",
    log:
        RESULTS / "logs" / "finish_sequence" / "{seq}.log",
    benchmark:
        RESULTS / "benchmarks" / "finish_sequence" / "{seq}.tsv"
    threads: 1
    resources:
        gpu=finish_gpus,
    conda:
        ENV
    shell:
        "vfi --threads {threads} finish --settings-json {params.settings:q} --sequence {wildcards.seq:q} 2> {log:q}"


rule aggregate_metrics:
    input:
        [LAYOUT.metrics_csv(seq) for seq in SEQUENCES.values()],
    output:
        report(
            RESULTS / "metrics.csv",
            caption="../report/metrics_table.rst",
            category=CATEGORY_SUMMARY,
            labels={"table": "every scored frame (metrics.csv, download)"},
        ),
    params:
        # Which sequences the table holds (the profiles rerun jobs on changed parameters, not on
        # changed input lists).
        sequences=sorted(SEQUENCES),
    log:
        RESULTS / "logs" / "aggregate_metrics.log",
    benchmark:
        RESULTS / "benchmarks" / "aggregate_metrics.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi aggregate --out {output:q} {input:q} 2> {log:q}"


rule aggregate_temporal:
    input:
        [LAYOUT.temporal_csv(seq) for seq in SEQUENCES.values()],
    output:
        report(
            RESULTS / "temporal.csv",
            caption="../report/temporal_csv.rst",
            category=CATEGORY_SUMMARY,
            labels={"table": "temporal consistency of each sequence (temporal.csv, download)"},
        ),
    params:
        sequences=sorted(SEQUENCES),
    log:
        RESULTS / "logs" / "aggregate_temporal.log",
    benchmark:
        RESULTS / "benchmarks" / "aggregate_temporal.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi aggregate --table temporal --out {output:q} {input:q} 2> {log:q}"
