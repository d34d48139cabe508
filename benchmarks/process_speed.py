"""Whole processes: `python model.py` against the plain-Keras script, as a user runs them.

    python benchmarks/process_speed.py --data ../shared/mnist --repeats 3

Runs three commands alternately (start-up, TensorFlow import, data loading,
training, saving): the plain script, `python model.py` on its first run (its
compile cache emptied beforehand, so it compiles the training loop) and
`python model.py` again (a rerun, which loads the compiled loop). Reports wall
seconds, the seconds of the training call inside each process (`fit` for the
plain script, as it prints them; `train` for model.py, from its history.json),
and each child's peak resident memory from the kernel (wait4's ru_maxrss, the
number `/usr/bin/time -v` prints).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run `command`, its output going to `log`; return (wall seconds, peak RSS in MiB)."""
    with log.open("wb") as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed: {log.read_text(errors='replace')[-500:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="MNIST folder or npz")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default: 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        output, cache, log = Path(scratch, "output"), Path(scratch, "cache"), Path(scratch, "log")
        output.mkdir()
        env = {**os.environ, "MNIST_COMPILE_CACHE": str(cache)}
        model_py = [sys.executable, str(ROOT / "model.py"), "--data", args.data, "--output-dir", str(output)]
        model_py.append("--skip-digit-check")  # the recipe alone, as the plain script is
        plain = [sys.executable, str(ROOT / "benchmarks/plain_recipe.py"), args.data, str(output)]
        names = ("plain Keras script", "python model.py, first run", "python model.py, rerun")
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        for repeat in range(args.repeats):
            for name in names:
                if name.endswith("first run"):
                    shutil.rmtree(cache, ignore_errors=True)
                seconds, peak = measure(plain if name.startswith("plain") else model_py, env, log)
                if name.startswith("plain"):
                    training = float(log.read_text().rsplit("fit seconds:", 1)[1])
                else:
                    training = json.loads((output / "history.json").read_text())["training_seconds"]
                runs[name].append((seconds, training, peak))
                print(
                    f"  run {repeat + 1}/{args.repeats} {name:<27} {seconds:6.2f} s, "
                    f"training {training:6.2f} s, peak {peak:6.0f} MiB",
                    flush=True,
                )

    def median(name: str, column: int) -> float:
        return statistics.median(run[column] for run in runs[name])

    plain_seconds, plain_training = median(names[0], 0), median(names[0], 1)
    print()
    print(f"Medians of {args.repeats}:")
    print()
    print("| command | wall seconds | vs plain | training seconds | vs plain | peak memory |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        seconds, training, peak = (median(name, column) for column in range(3))
        print(
            f"| {name} | {seconds:.1f} | {seconds / plain_seconds:.2f} | {training:.2f} | "
            f"1/{plain_training / training:.1f} | {peak:,.0f} MiB |"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
