"""Bad outputs and crashes: clear messages, and never a half-written file under a final name."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from support import add_sequence, tree_bytes

from vfi.pipeline.checks import output_folder_problems
from vfi.settings import Settings


def run_vfi(*args: str, fsize_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    return subprocess.run(
        [sys.executable, "-m", "vfi", *args],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=120,
    )


def test_file_size_limit_while_writing_leaves_no_output(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "big", [1, 3], height=64, width=64)
    settings = Settings(data_dir=str(data), output_dir=str(tmp_path / "out"))
    result = run_vfi(
        "copy-keyframes",
        "--settings-json",
        settings.to_json(),
        "--sequences",
        "big",
        fsize_limit=1000,
    )
    assert result.returncode == 1
    assert "file size limit" in result.stderr and "frame_001.png" in result.stderr
    folder = tmp_path / "out" / "big"
    assert list(folder.iterdir()) == [], "a partial or temporary file was left behind"


def test_output_inside_the_data_folder_is_refused(tmp_path):
    problems = output_folder_problems(tmp_path, {"output_dir": tmp_path / "input" / "out"})
    assert len(problems) == 1 and "overlaps the data folder" in str(problems[0])


def test_data_inside_the_output_folder_is_refused(tmp_path):
    problems = output_folder_problems(tmp_path / "data", {"output_dir": tmp_path})
    assert "overlaps the data folder" in str(problems[0])


def test_output_folder_that_is_a_file_is_reported(tmp_path):
    (tmp_path / "taken").write_text("x")
    problems = output_folder_problems(tmp_path / "data", {"output_dir": tmp_path / "taken" / "o"})
    assert "is a file, not a folder" in str(problems[0])


@pytest.fixture
def read_only_folder(tmp_path):
    """A read-only file system (as a finished data set mounted read-only would be)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only file system here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_unwritable_output_folder_is_reported_before_any_job(tmp_path, read_only_folder):
    problems = output_folder_problems(tmp_path / "data", {"output_dir": read_only_folder / "out"})
    assert "output_dir" in str(problems[0]) and "cannot be written" in str(problems[0])


def test_write_to_read_only_folder_names_the_file_and_the_cause(tmp_path, read_only_folder):
    from vfi.io.atomic import OutputError, write_text_atomic

    with pytest.raises(OutputError, match="read-only"):
        write_text_atomic(read_only_folder / "metrics.txt", "x")


def test_checking_the_data_never_modifies_it(tmp_path, demo_data):
    before = tree_bytes(demo_data)
    result = run_vfi("check", "--settings-json", json.dumps({"data_dir": str(demo_data)}))
    assert result.returncode == 0, result.stderr
    assert tree_bytes(demo_data) == before


def test_check_reports_every_problem_with_exit_code_1(tmp_path):
    add_sequence(tmp_path, "one", [1])
    add_sequence(tmp_path, "two", [1])
    result = run_vfi("check", "--settings-json", json.dumps({"data_dir": str(tmp_path)}))
    assert result.returncode == 1
    assert "2 problem(s)" in result.stderr and "'one'" in result.stderr


def test_unknown_sequence_in_a_job_is_reported(tmp_path: Path):
    add_sequence(tmp_path, "a", [1, 3])
    settings = Settings(data_dir=str(tmp_path), output_dir=str(tmp_path.parent / "o"))
    result = run_vfi(
        "interpolate", "--settings-json", settings.to_json(), "--level", "1", "--sequences", "nope"
    )
    assert result.returncode == 1 and "'nope': " in result.stderr
