"""`snakemake finetune` on the demo data, then the workflow with the fine-tuned model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import run_snakemake

pytestmark = pytest.mark.workflow

MODEL = Path("results/models/tiny.safetensors")


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory, demo_data) -> tuple[Path, Path]:
    """A working folder after `snakemake finetune`, and its config file."""
    workdir = tmp_path_factory.mktemp("finetune")
    config = workdir / "finetune.yaml"
    finetune = {
        "name": "tiny",
        "steps": 6,
        "batch_size": 2,
        "crop": 32,
        "lr": 0.0005,
        "validate_every": 3,
        "validation_triplets": 8,
    }
    config.write_text(yaml.safe_dump({"data_dir": str(demo_data), "finetune": finetune}))
    run_snakemake(workdir, "--configfile", str(config), "--", "finetune")
    return workdir, config


def test_finetune_writes_the_model_its_card_and_the_curves_figure(finetuned):
    workdir, _ = finetuned
    card = json.loads((workdir / "results/models/tiny.json").read_text())
    assert card["validation_psnr_after"] > card["validation_psnr_before"]
    assert (workdir / MODEL).is_file() and (workdir / "results/plots/finetune_tiny.png").is_file()
    assert "validation psnr" in (workdir / "results/logs/finetune_model.log").read_text()


def test_the_default_run_shows_the_curves_without_training_again(finetuned):
    workdir, config = finetuned
    dry = run_snakemake(workdir, "-n", "--configfile", str(config)).stdout
    assert "finetune_model" not in dry.replace("finetune_model.tsv", "")
    assert "results/plots/finetune_tiny.png" in dry  # an input of rule all, for the report


def test_the_fine_tuned_model_runs_as_the_ifrnet_backend(finetuned):
    workdir, config = finetuned
    run_snakemake(
        workdir,
        "--configfile",
        str(config),
        "--config",
        "backend=ifrnet",
        f"ifrnet={{'checkpoint': '{MODEL}'}}",
        "--",
        "results/metrics.csv",
    )
    provenance = json.loads(
        (workdir / "eval_results/CustomData/gen_gray8-A1/provenance.json").read_text()
    )
    assert provenance["backend"] == "ifrnet" and provenance["timing"] == "exact"
