"""Whole-process wall time and peak memory: `python model.py` against the plain-Keras script.

    python benchmarks/process_speed.py --data ../shared/mnist --repeats 3

Runs the two commands alternately, as a user would (start-up, TensorFlow import,
data loading, training, saving), and reads each child's peak resident memory from
the kernel (wait4's ru_maxrss, the number `/usr/bin/time -v` prints).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(command: list[str]) -> tuple[float, float]:
    """Run `command`; return (wall seconds, peak RSS in MiB)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed: {child.stderr.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="MNIST folder or npz")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default: 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as output:
        commands = {
            "plain Keras script": [
                sys.executable,
                str(ROOT / "benchmarks/plain_recipe.py"),
                args.data,
                output,
            ],
            "python model.py": [
                sys.executable,
                str(ROOT / "model.py"),
                "--data",
                args.data,
                "--output-dir",
                output,
            ],
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for repeat in range(args.repeats):
            for name, command in commands.items():
                seconds, peak = measure(command)
                runs[name].append((seconds, peak))
                print(
                    f"  run {repeat + 1}/{args.repeats} {name:<20} {seconds:6.2f} s  peak {peak:7.0f} MiB",
                    flush=True,
                )

    plain = statistics.median(s for s, _ in runs["plain Keras script"])
    print()
    print(f"| command | wall seconds (median of {args.repeats}) | vs plain | peak memory (median) |")
    print("| --- | --- | --- | --- |")
    for name, results in runs.items():
        seconds = statistics.median(s for s, _ in results)
        peak = statistics.median(p for _, p in results)
        print(f"| {name} | {seconds:.1f} | {seconds / plain:.2f} | {peak:,.0f} MiB |")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
