"""What fine-tuning reaches in a given time: validation PSNR/SSIM at minute marks.

    .venv/bin/python benchmarks/finetune_curve.py --data resources/demo --steps 9000 \\
        --marks 10 30 60 --out /tmp/finetune-bench

A script that prints numbers (not a test). It runs `vfi finetune` (the workflow's job) on the
data with the given settings, then reads the run's curves (`results/models/<name>.csv`: the
seconds and the validation scores of each step) and card, and prints, for each minute mark, the
last validation before it. Validation triplets are scored through the inference path and as the
workflow scores frames (PSNR/SSIM with the sequence's data range); the flow backend on the same
triplets is the baseline to beat. Fine-tuning from the official weights cannot be measured where
they cannot be downloaded (`--init` takes them where they can).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="data folder (input/, gt/)")
    parser.add_argument("--out", default="/tmp/finetune-bench", help="working folder")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--variant", default="S", choices=["S", "base", "L"])
    parser.add_argument("--init", help="start from this checkpoint instead of from scratch")
    parser.add_argument("--validate-every", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--marks", type=float, nargs="+", default=[10, 60], help="minutes")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    finetune = {
        "name": "bench",
        "init": args.init,
        "variant": args.variant,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "crop": args.crop,
        "lr": args.lr,
        "validate_every": args.validate_every,
        "checkpoint_every": 10**9,
    }
    config = out / "config.yaml"
    settings = {"data_dir": str(Path(args.data).resolve()), "results_dir": str(out / "results")}
    config.write_text(yaml.safe_dump({**settings, "device": args.device, "finetune": finetune}))
    command = [sys.executable, "-m", "vfi", "--threads", str(args.threads), "finetune"]
    with open(out / "finetune.log", "w") as log:
        subprocess.run([*command, "--config", str(config)], stderr=log, check=True)

    card = json.loads((out / "results/models/bench.json").read_text())
    with open(out / "results/models/bench.csv") as f:
        validated = [r for r in csv.DictReader(f) if r["val_psnr"]]
    data = card["data"]
    print(
        f"{card['variant']} from {card['init'] or 'scratch'}, {data['training_triplets']} "
        f"training triplets ({', '.join(data['training'])}), {data['validation_triplets_scored']} "
        f"validation triplets ({', '.join(data['validation'])}), crop {card['crop']}, "
        f"batch {args.batch_size}, lr {args.lr}, device {card['device']['type']}"
    )
    flow_psnr, flow_ssim = card["flow_backend_psnr"], card["flow_backend_ssim"]
    print(f"flow backend:    PSNR {flow_psnr:.2f}  SSIM {flow_ssim:.3f}")
    print(f"before (step 0): PSNR {card['validation_psnr_before']:.2f}  "
          f"SSIM {card['validation_ssim_before']:.3f}")  # fmt: skip
    for mark in args.marks:
        reached = [r for r in validated if float(r["seconds"]) <= mark * 60]
        if not reached:
            print(f"{mark:5.0f} min: no validation yet")
            continue
        last = reached[-1]
        print(
            f"{mark:5.0f} min: step {int(last['step']):6d}  PSNR {float(last['val_psnr']):.2f}  "
            f"SSIM {float(last['val_ssim']):.3f}"
        )
    print(
        f"best: step {card['best_step']}  PSNR {card['validation_psnr_after']:.2f}  "
        f"SSIM {card['validation_ssim_after']:.3f}; training {card['training_seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
