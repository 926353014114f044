# Discovery and job planning at DAG build time, through the vfi library.
import sys
from dataclasses import replace

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from vfi.checks import output_folder_problems
from vfi.dataset import discover
from vfi.jobs import level_jobs, make_batches
from vfi.layout import OutputLayout
from vfi.settings import Settings


validate(config, "../schemas/config.schema.yaml")

SETTINGS = Settings.from_mapping(config)
LAYOUT = OutputLayout(Path(SETTINGS.output_dir), SETTINGS.evaluate_subdir)
RESULTS = Path(SETTINGS.results_dir)
# The interpreter running snakemake has vfi installed; jobs use the same one.
VFI = f"{sys.executable} -m vfi"

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

    from vfi.ldmvfi.sampler import ddim_timesteps

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
BATCHES = make_batches(DISCOVERY.sequences, SETTINGS.batch_size)


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
