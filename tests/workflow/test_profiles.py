"""The workflow's profiles keep the GPU rules that are easy to break by editing them.

(tests/cluster/test_slurm.py runs the SLURM profile on a real cluster; these checks run
everywhere.)
"""

from __future__ import annotations

import yaml
from support import ROOT

PROFILES = ROOT / "workflow" / "profiles"


def load(name: str) -> dict:
    return yaml.safe_load((PROFILES / name / "config.yaml").read_text())


def test_local_default_profile_runs_one_model_job_per_gpu():
    assert load("default")["resources"] == {"gpu": 1}


def test_slurm_profile_never_caps_gpus_across_the_cluster():
    profile = load("slurm")
    assert "gpu" not in profile.get("resources", {})
    assert profile["set-resource-scopes"]["gpu"] == "local"


def test_slurm_profile_marks_every_value_users_must_edit():
    lines = (PROFILES / "slurm" / "config.yaml").read_text().splitlines()
    edit = {line.split(":")[0].strip() for line in lines if "# EDIT" in line}
    assert edit == {"slurm_partition", "slurm_account"}
    assert edit <= set(load("slurm")["default-resources"])


def test_profiles_name_only_rules_of_the_workflow():
    rules = "\n".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    for name in ("default", "slurm"):
        for rule in load(name).get("set-resources", {}):
            assert f"rule {rule}:" in rules, f"{name} profile names unknown rule {rule}"


def local_rules(workdir, demo_data, **config) -> set[str]:
    """The rules the workflow runs where snakemake runs (never submitted to a cluster)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
    from support import SNAKEFILE

    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(config={"data_dir": str(demo_data), **config}),
            snakefile=SNAKEFILE,
            workdir=workdir,
        )
        return set(workflow._workflow._localrules)  # no public accessor


def test_previews_run_locally_unless_local_previews_is_false(tmp_path, demo_data):
    previews = {"preview_sequence", "strips_sequence"}
    assert previews <= local_rules(tmp_path, demo_data)
    submitted = local_rules(tmp_path, demo_data, local_previews=False)
    assert not previews & submitted and "aggregate_metrics" in submitted
