"""Settings that would fail only inside a job are refused before any job runs."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from support import TINY_CKPT, TINY_CONFIG

from vfi.data.layout import OutputLayout
from vfi.data.naming import FramePatterns
from vfi.pipeline.checks import settings_problems, stale_outputs_warning
from vfi.settings import IFRNetSettings, LDMVFISettings, Settings


def ldmvfi(**options) -> Settings:
    values = {"checkpoint": str(TINY_CKPT), "config": str(TINY_CONFIG), **options}
    return Settings(backend="ldmvfi", ldmvfi=LDMVFISettings(**values))


def test_the_defaults_and_a_working_ldmvfi_setup_pass():
    assert settings_problems(Settings()) == []
    assert settings_problems(ldmvfi(steps=200)) == []


@pytest.mark.parametrize(
    ("steps", "real", "nearest"), [(150, 167, "125 or 200"), (400, 500, "250 or 500")]
)
def test_step_counts_the_official_schedule_rounds_are_refused(steps, real, nearest):
    (problem,) = settings_problems(ldmvfi(steps=steps))
    assert f"ldmvfi.steps: {steps} DDIM steps would run {real} steps" in problem
    assert nearest in problem


def test_ddpm_sampling_ignores_the_step_count():
    assert settings_problems(ldmvfi(sampler="ddpm", steps=150)) == []


def test_exact_timing_with_a_midpoint_only_backend_is_refused():
    (problem,) = settings_problems(
        Settings(backend="ldmvfi", timing="exact", ldmvfi=ldmvfi().ldmvfi)
    )
    assert "timing: exact" in problem and "ldmvfi makes midpoints only" in problem


def test_a_checkpoint_that_is_not_one_is_refused_by_its_first_bytes(tmp_path):
    fake = tmp_path / "ldmvfi.ckpt"
    fake.write_text("<html>404 Not Found</html>")  # what a failed download often leaves
    (problem,) = settings_problems(ldmvfi(checkpoint=str(fake)))
    assert str(fake) in problem and "not a PyTorch checkpoint" in problem


def test_a_truncated_safetensors_file_is_refused(tmp_path):
    broken = tmp_path / "weights.safetensors"
    broken.write_bytes(b"\x00\x01")
    (problem,) = settings_problems(ldmvfi(checkpoint=str(broken)))
    assert "not a .safetensors file" in problem


def test_a_real_checkpoint_under_another_name_passes(tmp_path):
    copy = tmp_path / "renamed.ckpt"
    shutil.copy(TINY_CKPT, copy)
    assert settings_problems(ldmvfi(checkpoint=str(copy))) == []


def test_a_missing_model_config_is_refused(tmp_path):
    (problem,) = settings_problems(ldmvfi(config=str(tmp_path / "nowhere.yaml")))
    assert "ldmvfi.config" in problem and "nowhere.yaml" in problem


def test_a_missing_checkpoint_says_where_to_get_it(tmp_path):
    (problem,) = settings_problems(ldmvfi(checkpoint=str(tmp_path / "x.ckpt")))
    assert "danier97/LDMVFI" in problem


def test_a_frame_pattern_without_its_group_is_refused():
    settings = Settings(frame_pattern=FramePatterns(generate=r"t\d+"))
    (problem,) = settings_problems(settings)
    assert "frame_pattern.generate" in problem and "exactly one" in problem


def test_output_folders_of_sequences_not_in_the_run_are_named_with_how_to_remove_them(tmp_path):
    out = tmp_path / "out"
    for name in ("kept", "gone"):
        (out / name).mkdir(parents=True)
        (out / name / "provenance.json").write_text("{}")
    warning = stale_outputs_warning(OutputLayout(out), ["kept"])
    assert "1 output folder(s)" in warning and ": gone." in warning
    assert f"rm -r {out / 'gone'}" in warning


def test_folders_without_provenance_are_not_called_stale(tmp_path):
    (tmp_path / "notes").mkdir()
    assert stale_outputs_warning(OutputLayout(tmp_path), []) is None


def test_compare_refuses_the_main_backend():
    (problem,) = settings_problems(Settings(backend="flow", compare=["flow"]))
    assert "compare: flow is the main backend" in problem


def test_compare_refuses_unknown_backends_by_name():
    (problem,) = settings_problems(Settings(compare=["magic"]))
    assert "unknown backend(s) ['magic']" in problem and "blend" in problem


def test_compare_refuses_a_backend_listed_twice():
    (problem,) = settings_problems(Settings(compare=["blend", "blend"]))
    assert "['blend'] listed more than once" in problem


def test_compare_checks_each_backend_as_the_main_one(tmp_path):
    missing = tmp_path / "IFRNet_GoPro.pth"
    settings = Settings(compare=["blend", "ifrnet"], ifrnet=IFRNetSettings(checkpoint=str(missing)))
    (problem,) = settings_problems(settings)
    assert problem.startswith("compare: ifrnet: ") and str(missing) in problem


def test_compare_with_ldmvfi_and_exact_timing_is_refused():
    settings = replace(ldmvfi(), backend="flow", compare=["ldmvfi"], timing="exact")
    (problem,) = settings_problems(settings)
    assert problem.startswith("compare: ldmvfi: timing: exact")


def test_compare_backends_write_under_results_compare():
    compared = Settings(results_dir="out/results", compare=["blend"]).for_comparison("blend")
    assert (compared.backend, compared.output_dir) == ("blend", "out/results/compare/blend")
    assert compared.compare == []
