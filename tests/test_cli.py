"""The `vfi` command: a job's log keeps the whole traceback and ends with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import add_sequence

from vfi.settings import Settings


def vfi(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vfi", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_a_failing_job_logs_the_traceback_and_ends_with_the_clear_message(tmp_path):
    add_sequence(tmp_path, "a", [1, 3])
    (tmp_path / "input" / "a" / "frame_003.png").write_bytes(b"")  # broken after planning
    settings = Settings(data_dir=str(tmp_path), output_dir=str(tmp_path / "out"))
    result = vfi(
        "interpolate", "--settings-json", settings.to_json(), "--level", "1", "--sequences", "a"
    )
    assert result.returncode == 1
    traceback_at = result.stderr.index("Traceback (most recent call last)")
    message = result.stderr[result.stderr.rindex(" ERROR vfi: ") :]
    assert result.stderr.index(message) > traceback_at  # the clear message comes last
    assert "frame_003.png: the file is empty" in message and "Traceback" not in message


def test_threads_limits_opencv_and_torch(tmp_path):
    code = (
        "import sys, cv2, torch; from vfi.cli import limit_threads; limit_threads(1); "
        "assert cv2.getNumThreads() == 1 and torch.get_num_threads() == 1, "
        "(cv2.getNumThreads(), torch.get_num_threads())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_job_is_told_its_work_by_its_output_files(tmp_path):
    add_sequence(tmp_path, "a", [1, 3])
    add_sequence(tmp_path, "b", [1, 3])
    out = tmp_path / "out"
    settings = Settings(data_dir=str(tmp_path), output_dir=str(out), backend="blend")
    outputs = [str(out / "b" / "frame_002.png"), str(out / "b" / ".provenance" / "level_1.json")]
    result = vfi("interpolate", "--settings-json", settings.to_json(), "--level", "1", *outputs)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.rglob("*.png")) == ["frame_002.png"]
    assert not (out / "a").exists()


def test_asking_for_files_outside_the_plan_is_refused(tmp_path):
    add_sequence(tmp_path, "a", [1, 3])
    out = tmp_path / "out"
    settings = Settings(data_dir=str(tmp_path), output_dir=str(out), backend="blend")
    result = vfi(
        "interpolate",
        "--settings-json",
        settings.to_json(),
        "--level",
        "1",
        str(out / "a" / "frame_007.png"),
    )
    assert result.returncode == 1 and "do not match the plan" in result.stderr


def test_check_reports_settings_that_cannot_run_as_well_as_the_data(tmp_path):
    add_sequence(tmp_path / "data", "a", [1, 3])
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nframe_pattern: {{generate: 'f\\\\d+'}}\n")
    result = vfi("check", "--config", str(config))
    assert result.returncode == 1
    assert "settings: frame_pattern.generate" in result.stderr


def test_every_argument_of_every_command_has_a_help_line():
    import argparse

    from vfi.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    undocumented = [
        f"{name} {action.dest}"
        for name, command in commands.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert undocumented == []


def test_help_separates_user_commands_from_workflow_steps():
    from vfi.cli import USER_COMMANDS, WORKFLOW_STEPS, build_parser

    text = build_parser().format_help()
    users, steps = text.split("commands:\n")[1].split("workflow steps")
    assert all(f"  {name} " in users for name in USER_COMMANDS)
    assert all(f"  {name} " in steps for name in WORKFLOW_STEPS)
    assert set(USER_COMMANDS) | set(WORKFLOW_STEPS) == set(
        build_parser()._subparsers._actions[-1].choices
    )


def test_check_reads_the_folders_config_and_takes_a_data_dir(tmp_path):
    add_sequence(tmp_path / "data", "good", [1, 3])
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("backend: ldmvfi\n")
    result = vfi("check", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert "ok   good: generate" in result.stdout
    assert "LDMVFI checkpoint" in result.stderr  # the folder's config was read


def test_convert_checkpoint_tells_an_ifrnet_file_and_records_its_variant(tmp_path):
    from support import write_ifrnet_checkpoint

    from vfi.models.ifrnet.checkpoint import compact_metadata

    official = write_ifrnet_checkpoint(tmp_path / "IFRNet_S_GoPro.pth")
    result = vfi("convert-checkpoint", str(official), str(tmp_path / "s.safetensors"))
    assert result.returncode == 0, result.stderr
    assert "wrote compact IFRNet_S weights" in result.stderr
    assert compact_metadata(tmp_path / "s.safetensors")["variant"] == "IFRNet_S"
