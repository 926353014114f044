"""The import direction the layout promises: models know nothing of the pipeline, the lower
layers nothing of the upper ones, and the library nothing of Snakemake."""

from __future__ import annotations

import ast

import pytest
from support import ROOT

VFI = ROOT / "vfi"
# What each package may import of vfi (besides itself).
ALLOWED = {
    "models": {"vfi.imaging"},
    "io": set(),
    "data": {"vfi.io"},
    "backends": {"vfi.models", "vfi.data.plan"},
    "training": {"vfi.models", "vfi.io"},
    "evaluation": {"vfi.io", "vfi.data"},
    "report": {"vfi.io", "vfi.data", "vfi.evaluation", "vfi.imaging"},
}


def vfi_imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    allowed = ALLOWED[package] | {f"vfi.{package}", "vfi"}
    for path in (VFI / package).rglob("*.py"):
        for module in vfi_imports(path):
            if module.startswith("vfi."):
                assert any(module == a or module.startswith(a + ".") for a in allowed), (
                    f"{path.relative_to(ROOT)} imports {module}"
                )


def test_the_library_never_imports_snakemake():
    for path in VFI.rglob("*.py"):
        assert not any(m.split(".")[0] == "snakemake" for m in vfi_imports(path)), path
