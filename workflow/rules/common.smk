# Set-up at DAG build time, through the vfi library: settings, discovery, checks, job planning,
# and every helper function of the rules (rules/*.smk hold rules only).
import os
import sys
from dataclasses import asdict, replace

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.pipeline.checks import output_folder_problems
from vfi.pipeline.jobs import level_jobs, make_batches
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

DISCOVERY = discover(Path(SETTINGS.data_dir), SETTINGS.mode)
OUTPUT_PROBLEMS = output_folder_problems(
    Path(SETTINGS.data_dir),
    {"output_dir": Path(SETTINGS.output_dir), "results_dir": RESULTS},
)
if OUTPUT_PROBLEMS:
    raise WorkflowError("\n".join(str(p) for p in OUTPUT_PROBLEMS))
if DISCOVERY.problems:
    if SETTINGS.on_invalid == "fail" or not DISCOVERY.sequences:
        raise WorkflowError(
            DISCOVERY.report()
            + "\nFix the files above, or set on_invalid: skip to run the other sequences."
        )
    logger.warning(
        DISCOVERY.report() + f"\nSkipping: {', '.join(DISCOVERY.skipped) or '-'}"
    )
SEQUENCES = {seq.name: seq for seq in DISCOVERY.sequences}

# LDMVFI jobs load compact inference weights, converted once from the official checkpoint.
MODEL_WEIGHTS = []
MODEL_SETTINGS = SETTINGS
if SETTINGS.backend == "ldmvfi":
    from vfi.backends.ldmvfi import compact_weights_path, missing_checkpoint_message
    from vfi.models.ldmvfi.sampler import ddim_timesteps

    if problem := missing_checkpoint_message(SETTINGS.ldmvfi.checkpoint):
        raise WorkflowError(problem)
    if SETTINGS.ldmvfi.sampler == "ddim":
        try:
            ddim_timesteps(1000, SETTINGS.ldmvfi.steps)
        except ValueError as err:
            raise WorkflowError(f"ldmvfi.steps: {err}") from None
    compact = compact_weights_path(SETTINGS.ldmvfi.checkpoint, RESULTS / "weights")
    MODEL_WEIGHTS = [compact]
    MODEL_SETTINGS = replace(
        SETTINGS, ldmvfi=replace(SETTINGS.ldmvfi, checkpoint=str(compact), config=None)
    )
CONVERT_CHECKPOINT = bool(
    MODEL_WEIGHTS
    and Path(SETTINGS.ldmvfi.checkpoint).resolve() != MODEL_WEIGHTS[0].resolve()
)
BATCHES = make_batches(DISCOVERY.sequences, SETTINGS.batch_size)

# LPIPS weights are checked before any job runs, so a run with metrics.lpips: required and no
# weights stops at once with the file to fetch, not after hours of interpolation.
if SETTINGS.metrics.lpips != "disabled" and any(seq.scored for seq in SEQUENCES.values()):
    from vfi.evaluation.lpips_scorer import explain, missing_weights_message

    if problem := missing_weights_message(
        SETTINGS.metrics.lpips_net, SETTINGS.metrics.lpips_weights
    ):
        if SETTINGS.metrics.lpips == "required":
            raise WorkflowError(explain(problem, "required"))
        logger.warning(explain(problem, SETTINGS.metrics.lpips))


def settings_json():
    return SETTINGS.to_json()


def model_settings_json():
    """Settings of model jobs: as the config says, but pointing at the compact weights."""
    return MODEL_SETTINGS.to_json()


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
    return sequence_outputs(wildcards.seq)


def keyframe_inputs(batch):
    """The keyframes of the batch's generation sequences, in sequence and frame order."""
    return [
        seq.known[i]
        for seq in batch.sequences
        if seq.mode == "generate"
        for i in sorted(seq.known)
    ]


def keyframe_outputs(batch):
    return [path for seq in batch.sequences for path in LAYOUT.copied_keyframes(seq)]


def generation_names(batch):
    return [seq.name for seq in batch.sequences if seq.mode == "generate"]
