#!/usr/bin/env bash
# Snakemake runs this inside the new environment of vfi.yaml (`--sdm conda`): install the vfi
# package of this repository into it. Its dependencies came from vfi.yaml.
set -euo pipefail
repository="$(cd "$(dirname "$0")/../.." && pwd)"
python -m pip install --no-deps --no-build-isolation "$repository"
