"""Whole-process time of `python mnist_classification.py`, optionally against an older checkout.

    python benchmarks/eval_speed.py --data ../shared/mnist --model artifacts/model.keras --repeats 5
    git worktree add /tmp/before 756aac5     # the project before the plots were made cheap
    python benchmarks/eval_speed.py --data ../shared/mnist --model artifacts/model.keras \\
        --baseline /tmp/before --repeats 5

Each run is the whole evaluation as a user runs it (start-up, TensorFlow import, loading
the model and the test set, predicting, metrics, the four PNGs). With --baseline the two
checkouts' scripts run alternately (baseline, this one, baseline, ...) on the same model
and data, so a busy machine slows both alike; the table gives medians and peak memory.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from process_speed import measure

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="MNIST folder or npz")
    parser.add_argument("--model", required=True, type=Path, help="a model.keras from `python model.py`")
    parser.add_argument("--baseline", type=Path, help="another checkout of this project to compare with")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each (default: 5)")
    args = parser.parse_args()

    checkouts = {"this checkout": ROOT}
    if args.baseline:
        checkouts = {f"baseline ({args.baseline})": args.baseline.resolve(), **checkouts}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch, "log")
        for repeat in range(args.repeats):
            for name, checkout in checkouts.items():
                output = Path(scratch, f"output-{len(runs[name])}-{checkout.name}")
                command = [sys.executable, str(checkout / "mnist_classification.py"), "--data", args.data]
                command += ["--model", str(args.model.resolve()), "--output-dir", str(output)]
                seconds, peak = measure(command, dict(os.environ), log)
                runs[name].append((seconds, peak))
                print(f"  run {repeat + 1}/{args.repeats} {name:<40} {seconds:6.2f} s, peak {peak:6.0f} MiB")

    first = statistics.median(seconds for seconds, _ in runs[next(iter(runs))])
    print(f"\nMedians of {args.repeats}:\n")
    print("| mnist_classification.py from | wall seconds | ratio | peak memory |")
    print("| --- | --- | --- | --- |")
    for name, results in runs.items():
        seconds = statistics.median(s for s, _ in results)
        peak = statistics.median(p for _, p in results)
        print(f"| {name} | {seconds:.2f} | {seconds / first:.2f} | {peak:,.0f} MiB |")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
