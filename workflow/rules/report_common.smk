# Paths, categories and input functions of the report's rules (rules/report.smk).
# Categories are numbered so that the report lists them in reading order.
import re
import shlex

from snakemake.io import apply_wildcards

CATEGORY_SUMMARY = "1. Summary"
CATEGORY_SEQUENCES = "2. Scores per sequence"
CATEGORY_PLOTS = "3. Plots"
CATEGORY_PREVIEWS = "4. Previews"
CATEGORY_RUNTIMES = "5. Runtimes"
CATEGORY_TRAINING = "6. Fine-tuning"
CATEGORY_COMPARISON = "7. Comparison of backends"

REPORT = RESULTS / "report"
PLOTS = RESULTS / "plots"
PREVIEWS = RESULTS / "previews"
FINETUNE_PLOT = PLOTS / f"finetune_{SETTINGS.finetune.name}.png"
# Rules that belong to the default run only while the fine-tuned model is current.
FINETUNE_RULES = {"finetune_model", "plot_finetune"}
GENERATION_SCORED = any(s.mode == "generate" and s.scored for s in SEQUENCES.values())


def summary_outputs():
    return [RESULTS / "summary.csv", REPORT / "overview.rst", REPORT / "summary.html"] + [
        REPORT / "sequences" / f"{name}.html" for name in SEQUENCES
    ]


def generation_plot_outputs():
    """Figures by frame index and by level: only where generated frames have ground truth."""
    names = ["metric_by_frame", "metric_by_level"] if GENERATION_SCORED else []
    return [PLOTS / f"{name}.png" for name in names]


def plot_outputs():
    return [PLOTS / "metric_distribution.png"] + generation_plot_outputs()


def preview_outputs():
    """An animation of every sequence; strips of the scored frames, where there are any."""
    return [PREVIEWS / name / "animation.png" for name in SEQUENCES] + [
        PREVIEWS / name / "strips" for name in SCORED
    ]


def scored_sequence_pattern():
    """Wildcard constraint: the names of the sequences with scored frames, and nothing else."""
    return "|".join(re.escape(name) for name in SCORED) or "(?!)"


def report_outputs():
    """Everything the report shows that rule all must make."""
    return (
        summary_outputs()
        + plot_outputs()
        + preview_outputs()
        + [RESULTS / "runtimes.csv", PLOTS / "runtimes.png"]
        + ([FINETUNE_PLOT] if FINETUNE_CURRENT else [])
        + comparison_report_outputs()
    )


COMPARISON_PAGE = REPORT / "comparison.html"
COMPARISON_PLOT = PLOTS / "comparison_psnr.png"


def comparison_report_outputs():
    """The comparison's page and figure (its tables and strips: compare_outputs)."""
    return [COMPARISON_PAGE, COMPARISON_PLOT] if COMPARE_SETTINGS else []


def optional_plot_args():
    """Arguments of `vfi plot-metrics` for the figures that exist only with generation scores."""
    if not GENERATION_SCORED:
        return ""
    return " ".join(
        f"--{name.removeprefix('metric_').replace('_', '-')} {shlex.quote(str(PLOTS / f'{name}.png'))}"
        for name in ("metric_by_frame", "metric_by_level")
    )


def plot_label(name):
    return {
        "metric_distribution": "scores of each sequence, per backend",
        "metric_by_frame": "generated frames: scores by frame index",
        "metric_by_level": "generated frames: scores by level",
    }[name]


def preview_inputs(wildcards):
    return sequence_outputs(wildcards.seq)


def strip_inputs(wildcards):
    """Frames, ground truth, and the scores (for the data range of the heat maps and PSNR)."""
    seq = SEQUENCES[wildcards.seq]
    truth = [seq.ground_truth[i] for i in seq.scored]
    return sequence_outputs(seq.name) + truth + [LAYOUT.metrics_csv(seq)]


def strip_metrics(wildcards):
    return LAYOUT.metrics_csv(SEQUENCES[wildcards.seq])


def benchmark_files(wildcards):
    """The benchmark file of every other job of this run, so runtimes come last and are
    complete; rules with a {seq} wildcard have one file per sequence, with {backend} one per
    compare backend."""
    files = []
    for other in workflow.rules:
        if other.name == "plot_runtimes" or not other.benchmark:
            continue
        if other.name in FINETUNE_RULES and not FINETUNE_CURRENT:
            continue
        names = other.benchmark.get_wildcard_names()
        if not names <= {"seq", "backend"}:
            continue
        sequences = SCORED if other.name == "strips_sequence" else list(SEQUENCES)
        values = [
            {"seq": seq, "backend": backend}
            for seq in (sequences if "seq" in names else [None])
            for backend in (COMPARE_SETTINGS if "backend" in names else [None])
        ]
        for value in values:
            known = {k: v for k, v in value.items() if k in names}
            files.append(apply_wildcards(str(other.benchmark), known))
    return sorted(files)
