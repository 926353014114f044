# What `snakemake --report report.html` shows: tables, figures, previews and runtimes, made by
# CPU jobs after the scores (paths and helpers: rules/report_common.smk).

# Light CPU jobs: run them where snakemake runs, not through the cluster's queue. Previews are
# one job per sequence: with hundreds of sequences, local_previews: false submits them instead.
localrules:
    aggregate_metrics,
    aggregate_temporal,
    summarise_metrics,
    plot_metrics,
    plot_runtimes,


if SETTINGS.local_previews:

    localrules:
        preview_sequence,
        strips_sequence,



rule summarise_metrics:
    input:
        metrics=RESULTS / "metrics.csv",
        temporal=RESULTS / "temporal.csv",
    output:
        summary=report(
            RESULTS / "summary.csv",
            caption="../report/summary_csv.rst",
            category=CATEGORY_SUMMARY,
            labels={"table": "statistics (summary.csv, download)"},
        ),
        overview=REPORT / "overview.rst",
        page=report(
            REPORT / "summary.html",
            caption="../report/summary_page.rst",
            category=CATEGORY_SUMMARY,
            labels={"table": "statistics (view)"},
        ),
        sequence_pages=[
            report(
                REPORT / "sequences" / f"{name}.html",
                caption="../report/sequence_page.rst",
                category=CATEGORY_SEQUENCES,
                subcategory=name,
                labels={"sequence": name, "file": "scores of each frame (view)"},
            )
            for name in SEQUENCES
        ],
    params:
        sequences=list(SEQUENCES),
        pages=REPORT / "sequences",
    log:
        RESULTS / "logs" / "summarise_metrics.log",
    benchmark:
        RESULTS / "benchmarks" / "summarise_metrics.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi summarise --metrics {input.metrics:q} --temporal {input.temporal:q}"
        " --summary {output.summary:q}"
        " --overview {output.overview:q} --summary-page {output.page:q}"
        " --sequence-pages {params.pages:q} --sequences {params.sequences:q} 2> {log:q}"


rule plot_metrics:
    input:
        RESULTS / "metrics.csv",
    output:
        distribution=report(
            PLOTS / "metric_distribution.png",
            caption="../report/metric_distribution.rst",
            category=CATEGORY_PLOTS,
            labels={"figure": plot_label("metric_distribution")},
        ),
        generation=[
            report(
                path,
                caption=f"../report/{path.stem}.rst",
                category=CATEGORY_PLOTS,
                labels={"figure": plot_label(path.stem)},
            )
            for path in generation_plot_outputs()
        ],
    params:
        optional=optional_plot_args(),
    log:
        RESULTS / "logs" / "plot_metrics.log",
    benchmark:
        RESULTS / "benchmarks" / "plot_metrics.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi plot-metrics --metrics {input:q} --distribution {output.distribution:q}"
        " {params.optional} 2> {log:q}"


rule preview_sequence:
    input:
        preview_inputs,
    output:
        report(
            PREVIEWS / "{seq}" / "animation.png",
            caption="../report/animation.rst",
            category=CATEGORY_PREVIEWS,
            subcategory="{seq}",
            labels={"sequence": "{seq}", "frame": "all (animation)"},
        ),
    params:
        settings=job_settings("preview"),
    wildcard_constraints:
        seq="[^/]+",
    log:
        RESULTS / "logs" / "preview_sequence" / "{seq}.log",
    benchmark:
        RESULTS / "benchmarks" / "preview_sequence" / "{seq}.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi --threads {threads} preview --settings-json {params.settings:q}"
        " --sequence {wildcards.seq:q} --animation {output:q} 2> {log:q}"


# Only sequences with scored frames have strips (most generation sequences have no ground truth).
rule strips_sequence:
    input:
        strip_inputs,
    output:
        report(
            directory(PREVIEWS / "{seq}" / "strips"),
            patterns=["strip_{frame}.png"],
            caption="../report/strip.rst",
            category=CATEGORY_PREVIEWS,
            subcategory="{seq}",
            labels={"sequence": "{seq}", "frame": "{frame}"},
        ),
    params:
        settings=job_settings("preview"),
        metrics=strip_metrics,
    wildcard_constraints:
        seq=scored_sequence_pattern(),
    log:
        RESULTS / "logs" / "strips_sequence" / "{seq}.log",
    benchmark:
        RESULTS / "benchmarks" / "strips_sequence" / "{seq}.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi --threads {threads} preview --settings-json {params.settings:q}"
        " --sequence {wildcards.seq:q} --strips-dir {output:q}"
        " --metrics {params.metrics:q} 2> {log:q}"


rule plot_runtimes:
    input:
        benchmark_files,
    output:
        table=report(
            RESULTS / "runtimes.csv",
            caption="../report/runtimes_csv.rst",
            category=CATEGORY_RUNTIMES,
            labels={"file": "runtime of each job (runtimes.csv, download)"},
        ),
        plot=report(
            PLOTS / "runtimes.png",
            caption="../report/runtimes.rst",
            category=CATEGORY_RUNTIMES,
            labels={"file": "runtime of each job (figure)"},
        ),
    params:
        root=RESULTS / "benchmarks",
        # The jobs the table holds (reruns follow parameters, not input lists; see profiles).
        jobs=benchmark_files,
    log:
        RESULTS / "logs" / "plot_runtimes.log",
    benchmark:
        # Not in its own figure: it is written after this job ends.
        RESULTS / "benchmarks" / "plot_runtimes.tsv"
    threads: 1
    conda:
        ENV
    shell:
        "vfi runtimes --root {params.root:q} --csv {output.table:q} --plot {output.plot:q}"
        " {input:q} 2> {log:q}"
