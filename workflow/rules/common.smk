# Set-up at DAG build time, through the vfi library: settings, discovery, checks, job planning,
# and every helper function of the rules (rules/*.smk hold rules only).
import os
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

# LDMVFI jobs load compact inference weights, converted once from the official checkpoint.
MODEL_WEIGHTS = []
MODEL_SETTINGS = SETTINGS
if SETTINGS.backend == "ldmvfi":
    from vfi.backends.ldmvfi import compact_weights_path

    compact = compact_weights_path(SETTINGS.ldmvfi.checkpoint, RESULTS / "weights")
    MODEL_WEIGHTS = [compact]
    MODEL_SETTINGS = replace(
        SETTINGS, ldmvfi=replace(SETTINGS.ldmvfi, checkpoint=str(compact), config=None)
    )
CONVERT_CHECKPOINT = bool(
    MODEL_WEIGHTS
    and Path(SETTINGS.ldmvfi.checkpoint).resolve() != MODEL_WEIGHTS[0].resolve()
)
# IFRNet weights (tens of MB) are loaded as they are; as an input, a replaced file redoes the
# model jobs.
if SETTINGS.backend == "ifrnet":
    MODEL_WEIGHTS = [Path(SETTINGS.ifrnet.checkpoint)]
def recorded_job(seq, level):
    """The job that made a sequence's outputs of a level, as its job record says."""
    return read_recorded_job(seq, level, LAYOUT)


COPY_JOBS = copy_jobs(SEQUENCES.values(), SETTINGS.batch_size, LAYOUT, recorded=recorded_job)
LEVEL_JOBS = level_jobs(SEQUENCES.values(), SETTINGS.batch_size, LAYOUT, recorded=recorded_job)

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


# Fine-tuning (rules/finetune.smk): its inputs are every known and true frame, and the starting
# checkpoint; its curves join the report only while the model is current.
from vfi.pipeline.finetune import is_current as finetune_is_current
from vfi.pipeline.finetune import model_paths as finetune_paths

FINETUNE_PATHS = finetune_paths(SETTINGS)
FINETUNE_INPUTS = sorted(
    {str(p) for seq in SEQUENCES.values() for p in [*seq.known.values(), *seq.ground_truth.values()]}
) + ([SETTINGS.finetune.init] if SETTINGS.finetune.init else [])
FINETUNE_CURRENT = finetune_is_current(SETTINGS, [Path(p) for p in FINETUNE_INPUTS])


def job_settings(kind):
    """The settings a kind of job gets: only what determines its outputs (vfi.settings)."""
    source = MODEL_SETTINGS if kind == "model" else SETTINGS
    return source.job_settings_json(kind)


def model_job_resources(uses_gpu=None):
    """Resources of model jobs (config section model_jobs): a GPU only for backends that use
    one (fine-tuning always does), and a SLURM partition where one is set."""
    jobs = SETTINGS.model_jobs
    resources = {"mem_mb": jobs.mem_mb, "runtime": jobs.runtime}
    if uses_gpu is None:
        uses_gpu = backend_spec(SETTINGS.backend).uses_gpu
    if uses_gpu and jobs.gpus > 0:
        resources["gpu"] = jobs.gpus
    if jobs.slurm_partition:
        resources["slurm_partition"] = jobs.slurm_partition
    return resources


def sequence_outputs(name):
    """Every frame file of a sequence in the output folder (copied keyframes included)."""
    seq = SEQUENCES[name]
    return LAYOUT.copied_keyframes(seq) + [LAYOUT.frame(seq, i) for i in seq.targets]


def finish_outputs(seq):
    return [LAYOUT.provenance(seq), LAYOUT.metrics_txt(seq), LAYOUT.metrics_csv(seq)]


def all_outputs():
    outputs = [RESULTS / "metrics.csv"]
    for seq in SEQUENCES.values():
        outputs += sequence_outputs(seq.name) + finish_outputs(seq)
    return outputs


def finish_inputs(wildcards):
    seq = SEQUENCES[wildcards.seq]
    return sequence_outputs(seq.name) + LAYOUT.job_records(seq)
