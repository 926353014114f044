#!/usr/bin/env bash
# Every GPU claim of the project in one command (issue 18): run it first on any GPU you are lent.
#
#   benchmarks/gpu_check.sh OUT_DIR [--deps DIR] [--official DIR] [--python PY] [--cpu-smoke]
#
# Writes OUT_DIR/gpu_check.txt (every section, to copy into docs/performance.md) and
# OUT_DIR/gpu_check_tests.txt (the golden tests' full output, for tolerances). Steps, each with
# its own time limit inside an overall one of 450 s; a failing step is recorded and the next
# one runs:
#   golden tests on CUDA   pytest tests/models/{ldmvfi,ifrnet,pervfi} with VFI_TEST_DEVICE=cuda
#   vfi bench              speed table (2 sizes x batches 1, 4 x 4 precisions) and fidelity table
#   job start-up           benchmarks/job_startup.py: fresh processes to the first U-Net step
#   workflow throughput    snakemake on the demo data at 2048x1504, bf16, 10 and 40 DDIM steps,
#                          extrapolated to 200
#   LPIPS                  seconds per 2048x1504 frame on the GPU, and GPU against CPU
#   official LDMVFI        its code against ours in fp32 on the same random weights (--official)
#
# --deps DIR: wheels made here by `benchmarks/gpu_check.py pack-deps DIR` (the GPU machine has no
# package index: Snakemake and lpips travel that way); they go into a venv over the system
# torch. --official DIR: a checkout of github.com/danier97/LDMVFI, fetched beforehand into a
# git-ignored folder that travels with the tree (never committed); without it the ratio is not
# measured. --cpu-smoke runs every step on the CPU at tiny sizes with the tiny test model: it
# checks this script's plumbing, not any performance (tests/benchmarks/test_gpu_check.py).
# GPU_CHECK_COMMIT names the commit where the tree travels without its .git.
set -euo pipefail

usage() { sed -n 2,5p "$0" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
OUT=$1
shift
DEPS="" OFFICIAL="" PY="" SMOKE=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --deps) DEPS=$2; shift 2 ;;
        --official) OFFICIAL=$2; shift 2 ;;
        --python) PY=$2; shift 2 ;;
        --cpu-smoke) SMOKE=1; shift ;;
        *) usage ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/gpu_check.txt
TESTS_LOG=$OUT/gpu_check_tests.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
: >"$RESULTS"
START=$SECONDS
TOTAL_BUDGET=450
FAILED=0

if [[ -z $PY ]]; then
    if [[ -x .venv/bin/python ]]; then PY=$ROOT/.venv/bin/python; else PY=$(command -v python3); fi
fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
# Deterministic cuBLAS for the golden tests (read when the first handle is made).
export CUBLAS_WORKSPACE_CONFIG=:4096:8

say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

# step NAME BUDGET_S COMMAND...: runs COMMAND under its own limit (and what is left of the
# overall one), appends its output to the results, and records its status instead of stopping.
step() {
    local name=$1 budget=$2
    shift 2
    local left=$((TOTAL_BUDGET - (SECONDS - START)))
    ((budget > left)) && budget=$left
    say ""
    say "## $name"
    say "\$ $*"
    if ((budget <= 0)); then
        say "status: NOT RUN (the overall limit of ${TOTAL_BUDGET} s is spent)"
        FAILED=$((FAILED + 1))
        return 0
    fi
    local began=$SECONDS rc=0
    timeout --kill-after=10 "$budget" "$@" >"$WORK/step.log" 2>&1 || rc=$?
    # Warnings and progress bars of the libraries are noise here; the numbers are in the rest.
    grep -v -e 'Warning' -e 'warnings.warn' "$WORK/step.log" | tail -n 80 >>"$RESULTS" || true
    if ((rc == 0)); then
        say "status: ok ($((SECONDS - began)) s)"
    elif ((rc == 124 || rc == 137)); then
        say "status: TIMED OUT after ${budget} s"
        FAILED=$((FAILED + 1))
    else
        say "status: FAILED (exit $rc, $((SECONDS - began)) s)"
        FAILED=$((FAILED + 1))
    fi
}

# ------------------------------------------------------------------------------------------
say "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "${GPU_CHECK_COMMIT:-unknown (no .git here; set GPU_CHECK_COMMIT)}")
say "commit: $commit"
if command -v nvidia-smi >/dev/null; then
    say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 4 | paste -sd ';')"
else
    say "GPU: none (no nvidia-smi)"
fi
if ((SMOKE)); then say "mode: --cpu-smoke (tiny sizes on the CPU: plumbing only, no figure means anything)"; fi

if [[ -n $DEPS ]]; then
    step "dependencies" 90 "$PY" benchmarks/gpu_check.py install-deps "$DEPS" "$WORK/venv"
    [[ -x $WORK/venv/bin/python ]] && PY=$WORK/venv/bin/python
fi
# Jobs of the workflow run `vfi` and snakemake from the directory of this Python.
export PATH=$(dirname "$PY"):$PATH
say "python: $PY; $("$PY" -c 'import sys, torch; print(f"Python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, GPU seen: {torch.cuda.is_available()}")' 2>&1)"
say "cpu cores: $(nproc)"

if ((SMOKE)); then
    DEVICE=cpu TEST_DEVICE=cpu
    TESTS=(tests/models/ldmvfi/test_dsepconv.py)
    # The bench's fidelity table alone (its model build is the plumbing); one workflow run of
    # the blend backend: a real snakemake run, seconds instead of minutes on two cores.
    BENCH=(--only fidelity --sizes 64x64 --precisions fp32)
    SIZE=64x48 LPIPS_SIZE=64x48 OFFICIAL_SIZE=64x64 STEPS=(1) PRECISION=fp32 BACKEND=blend
    WEIGHTS_ARGS=(--tiny) MODEL_CONFIG=(--model-config tests/fixtures/ldmvfi/tiny_config.yaml)
    OFFICIAL_STEPS=2 STARTUP_REPEAT=1 CORES=2 REPEATS=1
else
    DEVICE=cuda TEST_DEVICE=cuda
    TESTS=(tests/models/ldmvfi tests/models/ifrnet tests/models/pervfi)
    BENCH=(--sizes 1024x752 2048x1504 --batches 1 4 --repeats 2)
    SIZE=2048x1504 LPIPS_SIZE=2048x1504 OFFICIAL_SIZE=1024x752 STEPS=(10 40) PRECISION=bf16
    BACKEND=ldmvfi
    WEIGHTS_ARGS=() MODEL_CONFIG=()
    OFFICIAL_STEPS=20 STARTUP_REPEAT=3 CORES=8 REPEATS=2
fi

# ------------------------------------------------------------------------------------------
# The short summary (one line per failure, with its message) or, when all passed, the totals.
export TESTS_LOG TEST_DEVICE
GOLDEN='rc=0
VFI_TEST_DEVICE=$TEST_DEVICE "$0" -m pytest "$@" -m "not workflow" -q -p no:cacheprovider \
    --tb=short -rfE >"$TESTS_LOG" 2>&1 || rc=$?
if grep -q "short test summary info" "$TESTS_LOG"; then
    sed -n "/short test summary info/,\$p" "$TESTS_LOG" | cut -c1-300
else
    tail -n 1 "$TESTS_LOG"
fi
exit $rc'
step "golden tests on $TEST_DEVICE (VFI_TEST_DEVICE=$TEST_DEVICE pytest ${TESTS[*]})" 120 \
    bash -c "$GOLDEN" "$PY" "${TESTS[@]}"

step "vfi bench --device $DEVICE, speed and fidelity" 110 \
    "$PY" -m vfi.cli bench --device "$DEVICE" "${BENCH[@]}" --fidelity

step "random weights for the next steps" 60 \
    "$PY" benchmarks/gpu_check.py weights "$WORK/weights" "${WEIGHTS_ARGS[@]}"

step "job start-up on $DEVICE (target: under 3 s)" 50 \
    "$PY" benchmarks/job_startup.py --weights "$WORK/weights/full.safetensors" \
    --device "$DEVICE" --repeat "$STARTUP_REPEAT"

step "workflow throughput, $BACKEND $SIZE $PRECISION, ${STEPS[*]} steps -> 200 (target: 0.3 s/frame)" 110 \
    "$PY" benchmarks/gpu_check.py throughput --weights "$WORK/weights/full.safetensors" \
    --backend "$BACKEND" --device "$DEVICE" --size "$SIZE" --precision "$PRECISION" \
    --steps "${STEPS[@]}" --cores "$CORES"

step "LPIPS on $DEVICE" 40 \
    "$PY" benchmarks/gpu_check.py lpips --device "$DEVICE" --size "$LPIPS_SIZE" --batch 2 \
    --repeats "$REPEATS"

official_args=(--ckpt "$WORK/weights/official.ckpt" --device "$DEVICE" --size "$OFFICIAL_SIZE"
    --steps "$OFFICIAL_STEPS" --repeats "$REPEATS" "${MODEL_CONFIG[@]}")
[[ -n $OFFICIAL ]] && official_args+=(--official "$OFFICIAL")
step "official LDMVFI against ours, fp32 (target: ours >= 5x)" 70 \
    "$PY" benchmarks/gpu_check.py official "${official_args[@]}"

say ""
say "## end"
say "total: $((SECONDS - START)) s; steps not ok: $FAILED"
exit 0
