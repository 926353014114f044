"""The `vfi` command: what users run by hand, and the steps the workflow's rules run.

`vfi --help` lists both groups; `vfi COMMAND --help` the arguments of one.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from dataclasses import replace
from pathlib import Path

from vfi.allocator import keep_freed_memory
from vfi.settings import Settings

log = logging.getLogger("vfi")


# The config a run in this folder reads, as the workflow does (workflow/Snakefile).
FOLDER_CONFIG = Path("config/config.yaml")


def _settings(args: argparse.Namespace) -> Settings:
    if args.settings_json:
        return Settings.from_json(args.settings_json)
    if args.config:
        return Settings.from_yaml(Path(args.config))
    if FOLDER_CONFIG.is_file():
        return Settings.from_yaml(FOLDER_CONFIG)
    return Settings()


def _sequences(settings: Settings, names: list[str] | None):
    from vfi.data.sequences import discover

    found = discover(
        Path(settings.data_dir),
        settings.mode,  # type: ignore[arg-type]
        only=names,
        patterns=settings.frame_pattern,
    )
    found.raise_if_problems()
    return found.sequences


def _layout(settings: Settings):
    from vfi.data.layout import OutputLayout

    return OutputLayout(Path(settings.output_dir), settings.evaluate_subdir)


def _job_sequences(settings: Settings, args: argparse.Namespace):
    """The sequences a job works on: named, or those its output files belong to."""
    from vfi.pipeline.interpolate import sequences_for_outputs

    if args.sequences:
        return _sequences(settings, args.sequences)
    if not args.outputs:
        raise ValueError("name the sequences (--sequences) or the output files to make")
    return _sequences(settings, sequences_for_outputs(args.outputs, _layout(settings)))


def cmd_demo(args: argparse.Namespace) -> int:
    from vfi.data.demo import write_demo

    names = write_demo(Path(args.directory), height=args.height, width=args.width, seed=args.seed)
    print(f"wrote {len(names)} demo sequences under {args.directory}: {', '.join(names)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from vfi.data.sequences import discover
    from vfi.pipeline.checks import preflight_problems, stale_outputs_warning

    settings = _settings(args)
    if args.data_dir:
        settings = replace(settings, data_dir=args.data_dir)
    problems = preflight_problems(settings)
    for problem in problems:
        print(f"settings: {problem}", file=sys.stderr)
    found = discover(
        Path(settings.data_dir),
        settings.mode,  # type: ignore[arg-type]
        patterns=settings.frame_pattern,
    )
    for seq in found.sequences:
        print(
            f"ok   {seq.name}: {seq.mode}, {len(seq.known)} known, {len(seq.targets)} to make, "
            f"{len(seq.scored)} with ground truth, {seq.info.describe()}"
        )
    if found.problems:
        print(found.report(), file=sys.stderr)
        print(found.what_to_do(), file=sys.stderr)
    if stale := stale_outputs_warning(_layout(settings), [s.name for s in found.sequences]):
        print(f"warning: {stale}", file=sys.stderr)
    return 1 if problems or found.problems else 0


def cmd_copy_keyframes(args: argparse.Namespace) -> int:
    from vfi.pipeline.interpolate import check_outputs, copy_keyframes

    settings = _settings(args)
    layout = _layout(settings)
    sequences = _job_sequences(settings, args)
    if args.outputs:
        expected = [path for seq in sequences for path in layout.copy_outputs(seq)]
        check_outputs(args.outputs, expected, "copy-keyframes")
    copy_keyframes([s for s in sequences if s.mode == "generate"], layout, args.job)
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from vfi.pipeline.interpolate import check_outputs, run_level

    settings = _settings(args)
    layout = _layout(settings)
    sequences = _job_sequences(settings, args)
    if args.outputs:
        expected = [path for seq in sequences for path in layout.level_outputs(seq, args.level)]
        check_outputs(args.outputs, expected, f"interpolate level {args.level}")
    run_level(sequences, args.level, layout, settings, args.job)
    return 0


def cmd_finish(args: argparse.Namespace) -> int:
    from vfi.pipeline.finish import finish_sequence

    settings = _settings(args)
    (seq,) = _sequences(settings, [args.sequence])
    finish_sequence(seq, _layout(settings), settings)
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from vfi.evaluation.scoring import aggregate_metrics
    from vfi.evaluation.temporal import aggregate_temporal

    if args.table == "temporal":
        rows = aggregate_temporal([Path(p) for p in args.csv], Path(args.out))
        log.info("temporal consistency of %d sequence(s) in %s", rows, args.out)
        return 0
    rows = aggregate_metrics([Path(p) for p in args.csv], Path(args.out))
    log.info("%d scored frame(s) in %s", rows, args.out)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from vfi.evaluation.comparison import (
        backend_means,
        paired_differences,
        worst_frames,
        write_table,
    )
    from vfi.evaluation.summary import read_metrics
    from vfi.report.comparison import (
        plot_psnr_by_level_and_time,
        write_comparison_page,
        write_worst_strips,
    )

    settings = _settings(args)
    counts = {len(args.metrics), len(args.outputs)} | (
        {len(args.temporal)} if args.temporal else set()
    )
    if counts != {len(args.backends)}:
        raise ValueError("give one --metrics file and one --outputs folder per backend")
    main = args.backends[0]
    tables = {b: read_metrics(Path(p)) for b, p in zip(args.backends, args.metrics, strict=True)}
    for backend, table in tables.items():
        if not table.empty and set(table["backend"]) != {backend}:
            raise ValueError(
                f"the metrics of {backend} hold scores of {sorted(set(table['backend']))}"
            )
    means = backend_means(tables, main)
    paired = paired_differences(tables, main, seed=args.seed)
    write_table(means, Path(args.table))
    write_table(paired, Path(args.paired))
    temporal = None
    if args.temporal:
        import pandas as pd

        temporal = {
            b: pd.read_csv(p, dtype={"sequence": str})
            for b, p in zip(args.backends, args.temporal, strict=True)
        }
    write_comparison_page(means, paired, Path(args.page), temporal)
    plot_psnr_by_level_and_time(tables, Path(args.plot))
    worst = worst_frames(tables[main], len(args.strips))
    names = sorted({name for name, _ in worst})
    sequences = {seq.name: seq for seq in _sequences(settings, names)} if names else {}
    layouts = {
        b: replace(_layout(settings), output_dir=Path(folder))
        for b, folder in zip(args.backends, args.outputs, strict=True)
    }
    write_worst_strips(worst, sequences, layouts, tables, [Path(p) for p in args.strips])
    log.info(
        "%s compared with %s on %d scored frame(s)",
        ", ".join(args.backends[1:]),
        main,
        len(tables[main]),
    )
    return 0


def cmd_summarise(args: argparse.Namespace) -> int:
    from vfi.evaluation.summary import read_metrics, write_summary
    from vfi.report.pages import lpips_note, write_pages

    summary = write_summary(Path(args.metrics), Path(args.summary))
    metrics = read_metrics(Path(args.metrics))
    temporal = None
    if args.temporal:
        import pandas as pd

        temporal = pd.read_csv(args.temporal, dtype={"sequence": str, "mode": str})
    write_pages(
        metrics,
        summary,
        lpips_note(metrics),
        Path(args.overview),
        Path(args.summary_page),
        Path(args.sequence_pages),
        args.sequences,
        temporal,
    )
    log.info("summary of %d scored frame(s) in %s", len(metrics), args.summary)
    return 0


def cmd_plot_metrics(args: argparse.Namespace) -> int:
    from vfi.evaluation.summary import read_metrics
    from vfi.report.plots import (
        plot_metric_by_frame,
        plot_metric_by_level,
        plot_metric_distribution,
    )

    metrics = read_metrics(Path(args.metrics))
    plot_metric_distribution(metrics, Path(args.distribution))
    if args.by_frame:
        plot_metric_by_frame(metrics, Path(args.by_frame))
    if args.by_level:
        plot_metric_by_level(metrics, Path(args.by_level))
    return 0


def cmd_runtimes(args: argparse.Namespace) -> int:
    from vfi.report.plots import plot_runtimes
    from vfi.report.runtimes import read_benchmarks, write_runtimes_csv

    runtimes = read_benchmarks([Path(p) for p in args.tsv], Path(args.root))
    write_runtimes_csv(runtimes, Path(args.csv))
    plot_runtimes(runtimes, Path(args.plot))
    log.info("%d job(s), %.1f s in total", len(runtimes), runtimes["seconds"].sum())
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from vfi.report.previews import write_animation, write_strips

    settings = _settings(args)
    (seq,) = _sequences(settings, [args.sequence])
    layout = _layout(settings)
    if args.animation:
        frames = write_animation(seq, layout, Path(args.animation))
        log.info("%s: animation of %d frames", seq.name, frames)
    if args.strips_dir:
        data_range, psnr = None, {}
        if args.metrics:
            from vfi.evaluation.summary import read_metrics

            scores = read_metrics(Path(args.metrics))
            if not scores.empty:
                data_range = float(scores["data_range"].iloc[0])
                psnr = dict(
                    zip(scores["frame"].astype(int), scores["psnr"].astype(float), strict=True)
                )
        strips = write_strips(seq, layout, Path(args.strips_dir), data_range, psnr)
        log.info("%s: %d strip(s)", seq.name, len(strips))
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from vfi.pipeline.finetune import run_finetune

    card = run_finetune(_settings(args))
    log.info("model card: %s", card)
    return 0


def cmd_plot_training(args: argparse.Namespace) -> int:
    from vfi.report.plots import plot_training_curves

    plot_training_curves(Path(args.curves), Path(args.out), args.name)
    return 0


def cmd_convert_checkpoint(args: argparse.Namespace) -> int:
    import torch

    dtype = None if args.dtype == "float32" else getattr(torch, args.dtype)
    model = args.model if args.model != "auto" else _checkpoint_model(Path(args.checkpoint))
    if model == "ifrnet":
        from vfi.models.ifrnet.checkpoint import compact_metadata, convert_checkpoint

        if args.config:
            raise ValueError("--config is for LDMVFI checkpoints; IFRNet files need none")
        out = convert_checkpoint(args.checkpoint, args.output, dtype=dtype)
        variant = compact_metadata(out)["variant"]
        log.info("wrote compact %s weights to %s (%.1f MB)", variant, out, out.stat().st_size / 1e6)
        return 0
    from vfi.models.ldmvfi.checkpoint import convert_checkpoint

    out = convert_checkpoint(args.checkpoint, args.output, config=args.config, dtype=dtype)
    log.info("wrote compact LDMVFI weights to %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return 0


def _checkpoint_model(path: Path) -> str:
    """ "ifrnet" for a file of IFRNet weights, else "ldmvfi" (whose loader explains any problem).

    The file is opened memory-mapped, so telling costs little even for LDMVFI's 3.4 GB."""
    import torch

    try:
        content = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception:  # not a zip-format torch file: the LDMVFI loader says what it is
        return "ldmvfi"
    keys = content.get("state_dict", content) if isinstance(content, dict) else {}
    ifrnet = any(str(key).endswith("encoder.pyramid1.0.0.weight") for key in keys)
    return "ifrnet" if ifrnet else "ldmvfi"


def cmd_bench(args: argparse.Namespace) -> int:
    from vfi.models.ldmvfi.speed import CPU_DEFAULTS, CUDA_DEFAULTS, BenchOptions, run_bench
    from vfi.pipeline.devices import resolve_device

    device = resolve_device(args.device)
    defaults = CUDA_DEFAULTS if device.type == "cuda" else CPU_DEFAULTS
    run_bench(
        BenchOptions(
            device=device,
            sizes=args.sizes or defaults["sizes"],
            batches=args.batches or defaults["batches"],
            precisions=args.precisions or defaults["precisions"],
            steps=args.steps,
            repeats=args.repeats,
            channels_last=args.channels_last,
            speed=args.only != "fidelity",
            fidelity=args.fidelity or args.only == "fidelity",
            fidelity_size=args.fidelity_size,
        )
    )
    return 0


USER_COMMANDS = ("check", "demo", "finetune", "convert-checkpoint", "bench")
WORKFLOW_STEPS = (
    "copy-keyframes",
    "interpolate",
    "finish",
    "aggregate",
    "compare",
    "summarise",
    "plot-metrics",
    "runtimes",
    "preview",
    "plot-training",
)


class _Commands:
    """Sub-commands in two groups for `vfi --help`: what users run, and the workflow's steps."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.sub = parser.add_subparsers(
            dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS
        )
        self.helps: dict[str, str] = {}

    def add(self, name: str, help: str, settings: bool = False) -> argparse.ArgumentParser:
        self.helps[name] = help
        command = self.sub.add_parser(name, help=help, description=help)
        if settings:
            command.add_argument(
                "--config",
                help="config.yaml to read settings from (default: config/config.yaml "
                "of this folder if there is one, as the workflow reads it)",
            )
            command.add_argument(
                "--settings-json",
                help="settings as JSON (the workflow passes its effective config)",
            )
        return command

    def epilog(self) -> str:
        def rows(names: tuple[str, ...]) -> str:
            return "\n".join(f"  {name:<20}{self.helps[name]}" for name in names)

        return (
            f"commands:\n{rows(USER_COMMANDS)}\n\n"
            f"workflow steps (the rules run these; rarely run by hand):\n{rows(WORKFLOW_STEPS)}\n\n"
            "`vfi COMMAND --help` describes a command's arguments. Settings come from --config "
            "(default: config/config.yaml of this folder, else built-in defaults) or "
            "--settings-json."
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vfi",
        usage="vfi [-h] [-v] [--threads N] COMMAND ...",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads of this job (torch, OpenCV, BLAS); the workflow passes each job's",
    )
    commands = _Commands(parser)

    check = commands.add("check", "validate the data and settings without running anything", True)
    check.add_argument("--data-dir", help="the data folder (default: data_dir of the settings)")
    check.set_defaults(func=cmd_check)

    demo = commands.add("demo", "write the synthetic demo data set")
    demo.add_argument("directory", help="folder to write input/ and gt/ into")
    demo.add_argument("--height", type=int, default=96, help="frame height in pixels")
    demo.add_argument("--width", type=int, default=128, help="frame width in pixels")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the synthetic cells")
    demo.set_defaults(func=cmd_demo)

    finetune = commands.add(
        "finetune", "fine-tune IFRNet on the data's triplets (config section finetune:)", True
    )
    finetune.set_defaults(func=cmd_finetune)

    convert = commands.add(
        "convert-checkpoint",
        "official LDMVFI .ckpt or IFRNet .pth -> compact inference .safetensors",
    )
    convert.add_argument("checkpoint", help="the official checkpoint file")
    convert.add_argument("output", help="the .safetensors file to write")
    convert.add_argument(
        "--model",
        choices=["auto", "ldmvfi", "ifrnet"],
        default="auto",
        help="whose checkpoint it is (auto: told by its keys)",
    )
    convert.add_argument(
        "--config", help="LDMVFI only: official-format model YAML (default: published)"
    )
    convert.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        default="float32",
        help="store the weights in this precision (half the size in 16 bits; float32 keeps "
        "every bit of the official weights)",
    )
    convert.set_defaults(func=cmd_convert_checkpoint)

    bench = commands.add("bench", "LDMVFI speed, memory and precision (full model, random weights)")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    bench.add_argument(
        "--sizes",
        nargs="+",
        help="WIDTHxHEIGHT (GPU default: 256x256 1024x752 2048x1504; CPU: 256x256)",
    )
    bench.add_argument(
        "--batches", nargs="+", type=int, help="pairs per model call (GPU default: 1 4 8; CPU: 1)"
    )
    bench.add_argument(
        "--precisions",
        nargs="+",
        choices=["fp32", "tf32", "bf16", "fp16"],
        help="GPU default: all; CPU: fp32",
    )
    bench.add_argument("--steps", type=int, default=200, help="DDIM steps per frame")
    bench.add_argument("--repeats", type=int, default=3, help="timed runs per stage")
    bench.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    bench.add_argument(
        "--fidelity", action="store_true", help="also each stage's error in bf16/fp16 against fp32"
    )
    bench.add_argument("--only", choices=["speed", "fidelity"], help="one of the two tables")
    bench.add_argument(
        "--fidelity-size", default="256x256", help="WIDTHxHEIGHT of the fidelity table's frames"
    )
    bench.set_defaults(func=cmd_bench)

    copy = commands.add("copy-keyframes", "copy generation keyframes into the output", True)
    copy.add_argument("--sequences", nargs="+", help="sequences whose keyframes to copy")
    copy.add_argument(
        "outputs", nargs="*", help="or: the output files to make (the workflow passes these)"
    )
    copy.add_argument("--job", help="the workflow's name of this job (kept in job records)")
    copy.set_defaults(func=cmd_copy_keyframes)

    interp = commands.add("interpolate", "generate one level's frames of some sequences", True)
    interp.add_argument(
        "--level", type=int, required=True, help="level of the midpoint plan (1: the middle)"
    )
    interp.add_argument("--sequences", nargs="+", help="sequences to make the level of")
    interp.add_argument(
        "outputs",
        nargs="*",
        help="or: the output files to make (frames and job records; the workflow passes these)",
    )
    interp.add_argument("--job", help="the workflow's name of this job (kept in job records)")
    interp.set_defaults(func=cmd_interpolate)

    finish = commands.add("finish", "provenance and metrics of one sequence", True)
    finish.add_argument("--sequence", required=True, help="the sequence (its folder name)")
    finish.set_defaults(func=cmd_finish)

    agg = commands.add("aggregate", "concatenate per-sequence metrics.csv (or temporal.csv) files")
    agg.add_argument("--out", required=True, help="the table to write (results/metrics.csv)")
    agg.add_argument(
        "--table", choices=["metrics", "temporal"], default="metrics", help="which table"
    )
    agg.add_argument("csv", nargs="*", help="per-sequence metrics.csv (temporal.csv) files")
    agg.set_defaults(func=cmd_aggregate)

    compare = commands.add(
        "compare", "backends compared on the same frames: tables, page, figure, strips", True
    )
    compare.add_argument(
        "--backends", nargs="+", required=True, help="the backends, the main one first"
    )
    compare.add_argument("--metrics", nargs="+", required=True, help="each backend's metrics.csv")
    compare.add_argument(
        "--outputs", nargs="+", required=True, help="each backend's output folder (frames)"
    )
    compare.add_argument("--temporal", nargs="+", help="each backend's temporal.csv")
    compare.add_argument("--table", required=True, help="comparison.csv to write")
    compare.add_argument("--paired", required=True, help="comparison_paired.csv to write")
    compare.add_argument("--page", required=True, help="comparison .html page to write")
    compare.add_argument("--plot", required=True, help="PNG: PSNR by level and effective time")
    compare.add_argument(
        "--strips", nargs="*", default=[], help="PNGs of the worst frames, worst first"
    )
    compare.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    compare.set_defaults(func=cmd_compare)

    summ = commands.add("summarise", "summary.csv and the report's tables")
    summ.add_argument("--metrics", required=True, help="results/metrics.csv")
    summ.add_argument("--summary", required=True, help="summary.csv to write")
    summ.add_argument("--overview", required=True, help="overview .rst for the report")
    summ.add_argument("--summary-page", required=True, help="summary .html page")
    summ.add_argument("--sequence-pages", required=True, help="folder for <seq>.html pages")
    summ.add_argument("--sequences", nargs="*", default=[], help="sequences to make pages for")
    summ.add_argument("--temporal", help="results/temporal.csv: temporal consistency")
    summ.set_defaults(func=cmd_summarise)

    plot = commands.add("plot-metrics", "figures of the scores")
    plot.add_argument("--metrics", required=True, help="results/metrics.csv")
    plot.add_argument("--distribution", required=True, help="PNG: scores per backend")
    plot.add_argument("--by-frame", help="PNG: generation scores by frame index")
    plot.add_argument("--by-level", help="PNG: generation scores by level")
    plot.set_defaults(func=cmd_plot_metrics)

    runtimes = commands.add("runtimes", "job runtimes from benchmark files")
    runtimes.add_argument("--root", required=True, help="the benchmarks folder (names jobs)")
    runtimes.add_argument("--csv", required=True, help="runtimes.csv to write")
    runtimes.add_argument("--plot", required=True, help="PNG to write")
    runtimes.add_argument("tsv", nargs="*", help="Snakemake benchmark files of the jobs")
    runtimes.set_defaults(func=cmd_runtimes)

    preview = commands.add("preview", "animation and strips of one sequence", True)
    preview.add_argument("--sequence", required=True, help="the sequence (its folder name)")
    preview.add_argument("--animation", help="animated PNG to write")
    preview.add_argument("--strips-dir", help="folder for strip_NNN.png (scored frames)")
    preview.add_argument(
        "--metrics", help="the sequence's metrics.csv: the strips' data range and PSNR"
    )
    preview.set_defaults(func=cmd_preview)

    training = commands.add("plot-training", "figure of a fine-tuning run's curves")
    training.add_argument("--curves", required=True, help="the run's curves CSV")
    training.add_argument("--out", required=True, help="PNG to write")
    training.add_argument("--name", required=True, help="the fine-tuned model's name")
    training.set_defaults(func=cmd_plot_training)

    parser.epilog = commands.epilog()
    return parser


def limit_threads(count: int) -> None:
    """Keep a job to `count` CPU threads, so that `--cores N` never runs jobs that each use
    every core. Environment variables reach libraries imported later (BLAS, OpenMP, torch);
    OpenCV, already imported by the frame readers, is told directly."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(count)
    import cv2

    cv2.setNumThreads(count)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(count)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.threads:
        limit_threads(args.threads)
    keep_freed_memory()
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError) as err:
        # The job's log keeps the whole story; its last line is the one clear message.
        traceback.print_exc(file=sys.stderr)
        log.error("%s", err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
