# Set-up at DAG build time, through the vfi library: settings, discovery, checks, job planning,
# and every helper function of the rules (rules/*.smk hold rules only).
import os
import shlex
import sys
from dataclasses import asdict, replace

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from vfi.backends import backend_spec
from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.pipeline.checks import preflight_problems, stale_outputs_warning
from vfi.pipeline.jobs import copy_jobs, level_jobs
from vfi.pipeline.provenance import recorded_job as read_recorded_job
from vfi.settings import Settings


validate(config, "../schemas/config.schema.yaml")

SETTINGS = Settings.from_mapping(config)
# The effective settings, defaults included, for the report and anyone reading `config`.
config.update(asdict(SETTINGS))
LAYOUT = OutputLayout(Path(SETTINGS.output_dir), SETTINGS.evaluate_subdir)
RESULTS = Path(SETTINGS.results_dir)
# The conda environment of every rule (`--sdm conda`); without it jobs use the environment that
# runs snakemake.
ENV = "../envs/vfi.yaml"


def put_this_python_first_on_path():
    """Jobs run `vfi` of the Python environment that runs snakemake, even when it is not
    activated; with --sdm conda, the activated rule environment comes first again."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        os.environ.update(PATH=os.pathsep.join([bin_dir, path]))


put_this_python_first_on_path()

# Everything that would fail inside a job is checked here, before any job runs.
PROBLEMS = preflight_problems(SETTINGS)
if PROBLEMS:
    raise WorkflowError(
        f"{len(PROBLEMS)} problem(s) with the settings:\n"
        + "\n".join(f"  - {p}" for p in PROBLEMS)
    )
DISCOVERY = discover(
    Path(SETTINGS.data_dir), SETTINGS.mode, patterns=SETTINGS.frame_pattern
)
if DISCOVERY.problems:
    if SETTINGS.on_invalid == "fail" or not DISCOVERY.sequences:
        raise WorkflowError(f"{DISCOVERY.report()}\n{DISCOVERY.what_to_do()}")
    logger.warning(
        DISCOVERY.report() + f"\nSkipping: {', '.join(DISCOVERY.skipped) or '-'}"
    )
SEQUENCES = {seq.name: seq for seq in DISCOVERY.sequences}
SCORED = [name for name, seq in SEQUENCES.items() if seq.scored]
if stale := stale_outputs_warning(LAYOUT, SEQUENCES):
    logger.warning(stale)

# LDMVFI jobs (of the main backend or a compare backend) load compact inference weights,
# converted once from the official checkpoint.
LDMVFI_WEIGHTS = None
if "ldmvfi" in [SETTINGS.backend, *SETTINGS.compare]:
    from vfi.backends.ldmvfi import compact_weights_path

    LDMVFI_WEIGHTS = compact_weights_path(SETTINGS.ldmvfi.checkpoint, RESULTS / "weights")
CONVERT_CHECKPOINT = bool(
    LDMVFI_WEIGHTS
    and Path(SETTINGS.ldmvfi.checkpoint).resolve() != LDMVFI_WEIGHTS.resolve()
)


def model_weights(backend):
    """The weight files a backend's model jobs read. IFRNet and PerVFI weights (tens of MB) are
    loaded as they are; as an input, a replaced file redoes the model jobs."""
    if backend == "ldmvfi":
        return [LDMVFI_WEIGHTS]
    if backend == "ifrnet":
        return [Path(SETTINGS.ifrnet.checkpoint)]
    if backend == "pervfi":
        return [Path(SETTINGS.pervfi.checkpoint), Path(SETTINGS.pervfi.flow_weights)]
    return []


def model_settings(settings):
    """The settings model jobs get: LDMVFI's name the compact weights."""
    if settings.backend != "ldmvfi":
        return settings
    return replace(
        settings, ldmvfi=replace(settings.ldmvfi, checkpoint=str(LDMVFI_WEIGHTS), config=None)
    )


def recorded_job(seq, level):
    """The job that made a sequence's outputs of a level, as its job record says."""
    return read_recorded_job(seq, level, LAYOUT)


# batch_size: auto sizes model jobs from the data, the backend and the GPUs this machine shows
# (counted without torch); model_jobs.max_frames, max_megapixels and parallel bound them.
from vfi.pipeline.batching import budget_for, gpu_count

GPUS = gpu_count()
COPY_JOBS = copy_jobs(SEQUENCES.values(), SETTINGS.batch_size, LAYOUT, recorded=recorded_job)
LEVEL_JOBS = level_jobs(
    SEQUENCES.values(),
    SETTINGS.batch_size,
    LAYOUT,
    recorded=recorded_job,
    budget=budget_for(SETTINGS, GPUS),
)

# LPIPS weights are checked before any job runs, so a run with metrics.lpips: required and no
# weights stops at once with the file to fetch, not after hours of interpolation.
if SETTINGS.metrics.lpips != "disabled" and SCORED:
    from vfi.evaluation.lpips_scorer import explain, missing_weights_message

    if problem := missing_weights_message(
        SETTINGS.metrics.lpips_net, SETTINGS.metrics.lpips_weights
    ):
        if SETTINGS.metrics.lpips == "required":
            raise WorkflowError(explain(problem, "required"))
        logger.warning(explain(problem, SETTINGS.metrics.lpips))

# Finish jobs score on a GPU only when LPIPS runs and metrics.device resolves to one; they then
# declare it (gpu=1) as model jobs do: --resources gpu=N counts them, SLURM gives them one.
# Decided without torch (vfi.pipeline.devices): `auto` takes a GPU if this machine shows one.
from vfi.evaluation.lpips_scorer import missing_weights_message
from vfi.pipeline.devices import gpu_visible, metrics_device_claims_gpu

SCORING_GPU = (
    SETTINGS.metrics.lpips != "disabled"
    and bool(SCORED)
    and missing_weights_message(SETTINGS.metrics.lpips_net, SETTINGS.metrics.lpips_weights)
    is None
    and metrics_device_claims_gpu(SETTINGS.metrics.device, gpu_visible())
)


def finish_gpus(wildcards):
    """The GPUs a finish job declares: one when it scores on a GPU and has frames to score."""
    return int(SCORING_GPU and bool(SEQUENCES[wildcards.seq].scored))


def check_scoring_gpu():
    """Stop a local run asking for metrics.device: cuda on a machine without a GPU (called on
    start, when the executor is known: on a cluster the jobs' nodes have the GPUs)."""
    if workflow.local_exec and not workflow.remote_exec:
        from vfi.pipeline.checks import metrics_device_problems

        if problems := metrics_device_problems(SETTINGS, gpu_visible()):
            raise WorkflowError("\n".join(problems))


# Fine-tuning (rules/finetune.smk): its inputs are every known and true frame, and the starting
# checkpoint; its curves join the report only while the model is current.
from vfi.pipeline.finetune import is_current as finetune_is_current
from vfi.pipeline.finetune import model_paths as finetune_paths

FINETUNE_PATHS = finetune_paths(SETTINGS)
FINETUNE_INPUTS = sorted(
    {str(p) for seq in SEQUENCES.values() for p in [*seq.known.values(), *seq.ground_truth.values()]}
) + ([SETTINGS.finetune.init] if SETTINGS.finetune.init else [])
FINETUNE_CURRENT = finetune_is_current(SETTINGS, [Path(p) for p in FINETUNE_INPUTS])


def job_settings(kind, settings=SETTINGS):
    """The settings a kind of job gets: only what determines its outputs (vfi.settings);
    `settings`: the run's, or a compare backend's (COMPARE_SETTINGS)."""
    source = model_settings(settings) if kind == "model" else settings
    return source.job_settings_json(kind)


def model_job_resources(uses_gpu=None, backend=SETTINGS.backend):
    """Resources of model jobs (config section model_jobs): a GPU only for backends that use
    one (fine-tuning always does), and a SLURM partition where one is set."""
    jobs = SETTINGS.model_jobs
    resources = {"mem_mb": jobs.mem_mb, "runtime": jobs.runtime}
    if uses_gpu is None:
        uses_gpu = backend_spec(backend).uses_gpu
    if uses_gpu and jobs.gpus > 0:
        resources["gpu"] = jobs.gpus
    if jobs.slurm_partition:
        resources["slurm_partition"] = jobs.slurm_partition
    return resources


def sequence_outputs(name, layout=LAYOUT):
    """Every frame file of a sequence in the output folder (copied keyframes included)."""
    seq = SEQUENCES[name]
    return layout.copied_keyframes(seq) + [layout.frame(seq, i) for i in seq.targets]


def finish_outputs(seq, layout=LAYOUT):
    return [
        layout.provenance(seq),
        layout.metrics_txt(seq),
        layout.metrics_csv(seq),
        layout.temporal_csv(seq),
    ]


def all_outputs():
    outputs = [RESULTS / "metrics.csv", RESULTS / "temporal.csv"]
    for seq in SEQUENCES.values():
        outputs += sequence_outputs(seq.name) + finish_outputs(seq)
    return outputs + compare_outputs()


def finish_inputs(wildcards):
    seq = SEQUENCES[wildcards.seq]
    return sequence_outputs(seq.name) + LAYOUT.job_records(seq)


# Backends compared with the main one (compare:): each is a run of its own settings
# (Settings.for_comparison: that backend, frames under <results_dir>/compare/<backend>), planned
# as the main one is, its jobs named compare_<backend>_... (rules/compare.smk).
COMPARE_SETTINGS = {name: SETTINGS.for_comparison(name) for name in SETTINGS.compare}
COMPARE_LAYOUTS = {
    name: OutputLayout(Path(settings.output_dir), settings.evaluate_subdir)
    for name, settings in COMPARE_SETTINGS.items()
}
COMPARE_ROOT = RESULTS / "compare"


def compare_jobs(plan, name, **options):
    """The copy or level jobs (`plan`: copy_jobs or level_jobs) of compare backend `name`."""
    layout = COMPARE_LAYOUTS[name]

    def recorded(seq, level):
        return read_recorded_job(seq, level, layout)

    return plan(
        SEQUENCES.values(),
        SETTINGS.batch_size,
        layout,
        recorded=recorded,
        name_prefix=f"compare_{name}_",
        **options,
    )


COMPARE_COPY_JOBS = [(name, job) for name in COMPARE_SETTINGS for job in compare_jobs(copy_jobs, name)]
COMPARE_LEVEL_JOBS = [
    (name, job)
    for name, settings in COMPARE_SETTINGS.items()
    for job in compare_jobs(level_jobs, name, budget=budget_for(settings, GPUS))
]


def compare_backend_pattern():
    """Wildcard constraint: the names of the compare backends, and nothing else."""
    return "|".join(COMPARE_SETTINGS) or "(?!)"


def compare_finish_inputs(wildcards):
    layout, seq = COMPARE_LAYOUTS[wildcards.backend], SEQUENCES[wildcards.seq]
    return sequence_outputs(seq.name, layout) + layout.job_records(seq)


def compare_finish_settings(wildcards):
    return job_settings("finish", COMPARE_SETTINGS[wildcards.backend])


def compare_table_inputs(wildcards):
    """A compare backend's per-sequence metrics.csv and temporal.csv files."""
    layout = COMPARE_LAYOUTS[wildcards.backend]
    return {
        "metrics": [layout.metrics_csv(seq) for seq in SEQUENCES.values()],
        "temporal": [layout.temporal_csv(seq) for seq in SEQUENCES.values()],
    }


# The worst frames by the main backend's PSNR get a strip each (fewer if fewer are scored).
WORST_FRAMES = 6


def comparison_strip_outputs():
    scored = sum(len(seq.scored) for seq in SEQUENCES.values())
    count = min(WORST_FRAMES, scored)
    return [RESULTS / "previews" / "comparison" / f"worst_{k}.png" for k in range(1, count + 1)]


def comparison_tables():
    """comparison.csv and comparison_paired.csv."""
    return [RESULTS / "comparison.csv", RESULTS / "comparison_paired.csv"]


def comparison_inputs(wildcards):
    """What the comparison reads: every backend's tables, scored frames and the ground truth."""
    layouts = {SETTINGS.backend: LAYOUT, **COMPARE_LAYOUTS}
    roots = {SETTINGS.backend: RESULTS, **{name: COMPARE_ROOT / name for name in COMPARE_LAYOUTS}}
    frames = [
        layout.frame(seq, i)
        for layout in layouts.values()
        for seq in SEQUENCES.values()
        for i in seq.scored
    ]
    truth = [seq.ground_truth[i] for seq in SEQUENCES.values() for i in seq.scored]
    return {
        "metrics": [roots[name] / "metrics.csv" for name in layouts],
        "temporal": [roots[name] / "temporal.csv" for name in layouts],
        "frames": frames + truth,
    }


def comparison_args():
    """Arguments of `vfi compare`: the backends (main first) and their output folders."""
    backends = [SETTINGS.backend, *COMPARE_SETTINGS]
    folders = [SETTINGS.output_dir, *(s.output_dir for s in COMPARE_SETTINGS.values())]
    return f"--backends {' '.join(backends)} --outputs {' '.join(shlex.quote(f) for f in folders)}"


def compare_outputs():
    """Everything the comparison makes (nothing without a compare backend)."""
    if not COMPARE_SETTINGS:
        return []
    outputs = []
    for name, layout in COMPARE_LAYOUTS.items():
        outputs += [COMPARE_ROOT / name / "metrics.csv", COMPARE_ROOT / name / "temporal.csv"]
        for seq in SEQUENCES.values():
            outputs += sequence_outputs(seq.name, layout) + finish_outputs(seq, layout)
    return outputs + comparison_tables() + comparison_strip_outputs()
