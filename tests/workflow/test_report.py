"""`snakemake --report` after a real run on the demo data, checked in headless Chromium."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from support import COMPARE_CONFIG, run_snakemake, snakemake_command

from vfi.backends import resolve_timing
from vfi.data.sequences import discover
from vfi.evaluation.scoring import CSV_COLUMNS

pytestmark = pytest.mark.workflow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--virtual-time-budget=10000",  # let the report's scripts render the page first
]
SCREENSHOT_COPY = Path("/tmp/report_screenshot.png")


@pytest.fixture(scope="module")
def reported_run(demo_run, demo_data) -> Path:
    """The shared run on the demo data, with its report as HTML and as ZIP."""
    config = ["--config", f"data_dir={demo_data}"]
    run_snakemake(demo_run, *config, "--report", "report.html")
    run_snakemake(demo_run, *config, "--report", "report.zip")
    return demo_run


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium, installed here if missing and we may (root); else the test skips."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("chromium is not installed and apt-get as root is not available")
        install = "apt-get update && apt-get install -y --no-install-recommends chromium"
        result = subprocess.run(["sh", "-c", install], capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(f"could not install chromium: {result.stderr[-500:]}")
    return CHROMIUM


def run_chromium(chromium: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium with a fresh profile, so no state of an earlier run leaks in."""
    return subprocess.run(
        [str(chromium), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


@pytest.fixture(scope="module")
def rendered_page(reported_run, chromium, tmp_path_factory) -> str:
    """The report's DOM after its scripts ran, without the <script> elements.

    The data (and so every name) also sits in JSON inside <script> elements; removing them
    leaves only what the browser actually rendered.
    """
    profile = tmp_path_factory.mktemp("chromium-dom")
    url = (reported_run / "report.html").as_uri()
    dom = run_chromium(chromium, profile, "--dump-dom", url).stdout
    return re.sub(r"<script\b.*?</script>", "", dom, flags=re.S | re.I)


def rendered(chromium: Path, profile: Path, page: Path) -> str:
    """What Chromium renders of a page: its DOM after its scripts ran, without <script>s."""
    dom = run_chromium(chromium, profile, "--dump-dom", page.as_uri()).stdout
    return re.sub(r"<script\b.*?</script>", "", dom, flags=re.S | re.I)


@pytest.fixture(scope="module")
def compare_report(compare_run, compare_data) -> Path:
    """The shared run with a compare backend (blend beside flow), with its report."""
    config = ["--config", f"data_dir={compare_data}", *COMPARE_CONFIG]
    run_snakemake(compare_run, *config, "--report", "report.html")
    return compare_run / "report.html"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_metrics_csv_has_a_row_per_scored_frame_with_time_and_every_metric(reported_run, demo_data):
    rows = read_csv(reported_run / "results" / "metrics.csv")
    sequences = discover(demo_data).sequences
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == sum(len(s.scored) for s in sequences)
    assert all(float(r["psnr"]) > 10 and r["lpips"] == "" for r in rows)  # no LPIPS weights here
    gen = next(r for r in rows if r["mode"] == "generate" and r["frame"] == "5")
    assert (gen["level"], gen["prev"], gen["next"]) == ("2", "1", "10")
    # Frame 5 shows time 5 where the backend is asked for exact times, else the midpoint 5.5.
    timing = resolve_timing("auto", gen["backend"])
    assert float(gen["effective_time"]) == {"exact": 5.0, "midpoint": 5.5}[timing]


def test_summary_csv_has_every_sequence_and_the_overall_statistics(reported_run, demo_data):
    rows = read_csv(reported_run / "results" / "summary.csv")
    sequences = discover(demo_data).sequences
    per_sequence = {r["sequence"] for r in rows if r["scope"] == "sequence"}
    assert per_sequence == {s.name for s in sequences if s.scored}
    overall = next(r for r in rows if r["scope"] == "all" and r["metric"] == "psnr")
    assert int(overall["count"]) == sum(len(s.scored) for s in sequences)
    assert float(overall["min"]) <= float(overall["mean"]) <= float(overall["max"])


def test_previews_show_whole_sequences_and_a_strip_per_scored_frame(reported_run, demo_data):
    for seq in discover(demo_data).sequences:
        folder = reported_run / "results" / "previews" / seq.name
        with Image.open(folder / "animation.png") as animation:
            assert animation.n_frames == max(seq.known) - min(seq.known) + 1
        assert len(list((folder / "strips").glob("strip_*.png"))) == len(seq.scored)


def test_runtimes_cover_every_job_of_the_run(reported_run):
    jobs = {r["job"] for r in read_csv(reported_run / "results" / "runtimes.csv")}
    logs = {
        p.relative_to(reported_run / "results" / "benchmarks").with_suffix("").as_posix()
        for p in (reported_run / "results" / "benchmarks").rglob("*.tsv")
    }
    assert jobs == logs - {"plot_runtimes"}
    assert {"summarise_metrics", "plot_metrics", "aggregate_metrics"} <= jobs


def test_report_zip_holds_the_report_and_its_results(reported_run):
    with zipfile.ZipFile(reported_run / "report.zip") as archive:
        names = archive.namelist()
    assert any(n.endswith("report.html") for n in names)
    for part in ("summary.csv", "metric_distribution.png", "animation.png", "runtimes.png"):
        assert any(n.endswith(part) for n in names), part


def test_report_html_has_every_category(reported_run):
    text = (reported_run / "report.html").read_text()
    for category in ("1. Summary", "2. Scores per sequence", "3. Plots", "4. Previews"):
        assert category in text
    assert "5. Runtimes" in text


def test_browser_shows_the_summary_table_with_every_sequence(rendered_page, demo_data):
    assert "Mean ± standard deviation over the scored frames" in rendered_page
    table = re.search(r"<table\b.*?</table>", rendered_page, flags=re.S)
    assert table is not None, "no rendered table in the report's front page"
    for seq in discover(demo_data).sequences:
        assert seq.name in table.group(0)
    assert "All sequences (" in table.group(0)


def test_browser_screenshot_shows_the_report(reported_run, chromium, tmp_path_factory):
    shot = reported_run / "results" / "report_screenshot.png"
    profile = tmp_path_factory.mktemp("chromium-shot")
    url = (reported_run / "report.html").as_uri()
    run_chromium(chromium, profile, f"--screenshot={shot}", "--window-size=1400,1000", url)
    with Image.open(shot) as image:
        assert image.size == (1400, 1000)
        grey = image.convert("L")
        # A rendered page has text and a table: many distinct grey levels, not a blank screen.
        assert len(set(grey.tobytes())) > 50
    shutil.copyfile(shot, SCREENSHOT_COPY)


def test_report_without_compare_has_no_comparison(reported_run):
    assert "Comparison of backends" not in (reported_run / "report.html").read_text()


def test_browser_shows_the_comparison_category_and_page(
    compare_report, compare_run, chromium, tmp_path_factory
):
    menu = rendered(chromium, tmp_path_factory.mktemp("chromium-compare"), compare_report)
    assert "7. Comparison of backends" in menu
    text = compare_report.read_text()
    for part in ("comparison.html", "comparison_psnr.png", "worst_1.png", "comparison_paired.csv"):
        assert part in text, part
    # The page the report shows for the comparison, as the browser renders it.
    page = compare_run / "results" / "report" / "comparison.html"
    shown = rendered(chromium, tmp_path_factory.mktemp("chromium-page"), page)
    tables = re.findall(r"<table\b.*?</table>", shown, flags=re.S)
    assert len(tables) == 3  # means, paired differences, temporal consistency
    assert "flow (main)" in tables[0] and "blend" in tables[0]
    assert "evaluation" in tables[0] and "generation" in tables[0]
    assert "blend − flow" in tables[1] and "95% CI" in tables[1]


def test_required_lpips_without_weights_stops_before_any_job(tmp_path, demo_data):
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "empty-torch-home")}
    result = subprocess.run(
        snakemake_command(
            tmp_path, "-n", "--config", f"data_dir={demo_data}", "metrics={lpips: required}"
        ),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "alexnet-owt-7be5be79.pth" in text and "metrics.lpips_weights" in text
