"""What the workflow's job functions cost to start: model jobs import no scoring libraries."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_job_functions_does_not_import_scipy_or_torch():
    # Scoring pulls in scikit-image and SciPy (over a second per model job); torch is imported
    # only by the jobs that run a model.
    code = (
        "import sys, vfi.pipeline.interpolate, vfi.pipeline.finish, vfi.cli; "
        "loaded = [m for m in ('scipy', 'skimage', 'torch') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
