"""Big pictures: time and memory to read a 48-megapixel JPEG and a 62-megapixel PNG.

    python benchmarks/big_pictures.py --model artifacts/model.keras

Makes an 8000x6000 phone-style JPEG (a digit on a lit, grainy page) and a 7900x7900
PNG of one pen stroke, and each at about 1 megapixel. Two ways of reading them, side by
side in one run:
- before: decode the whole picture, turn it into a full-size float32 array, then
  preprocess (what the project did until 2026-12-01);
- after: `read_digit`, which decodes at the size the work needs.
For `--image` (the path it takes for each file): median seconds, all ways and pictures
taking turns in one process, and peak memory above idle, in a fresh process each. Pillow
alone decoding each picture is the floor. For the server (`--serve`, one worker, each
way): median latency per request (pictures taking turns), the worker's peak memory above
idle, six 62-megapixel PNGs at once, and (after) what `--image` and the worker hold once
--many big pictures have been read.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from serve_load import memory_mib  # a process's memory now and at its peak, from /proc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PICTURES = ("photo-48mp.jpg", "photo-1mp.jpg", "stroke-62mp.png", "stroke-1mp.png")
MEGABYTE = 2**20


def make_pictures(folder: Path) -> None:
    """The four pictures, written into `folder`."""
    rng = np.random.default_rng(0)
    width, height = 8000, 6000
    page = Image.new("L", (width, height), 222)
    ImageDraw.Draw(page).line([(3000, 1800), (4800, 1800), (3600, 4400)], fill=35, width=140)
    light = np.arange(width, dtype=np.int16)[None, :] // 250  # light from one side
    grey = np.asarray(page, np.int16) - light
    grey += rng.integers(-3, 4, (height, width), dtype=np.int16)  # sensor grain
    tint = np.array([1.0, 0.98, 0.93], np.float32)  # a warm page
    photo = Image.fromarray((grey.clip(0, 255)[..., None] * tint).astype(np.uint8))
    photo.save(folder / PICTURES[0], quality=88)
    photo.resize((1155, 866), Image.Resampling.BOX).save(folder / PICTURES[1], quality=88)
    del grey, photo
    stroke = Image.new("RGB", (7900, 7900), "white")
    ImageDraw.Draw(stroke).line([(3000, 2000), (4800, 2000), (3600, 5600)], fill=(20, 20, 30), width=160)
    stroke.save(folder / PICTURES[2])
    stroke.resize((1000, 1000), Image.Resampling.BOX).save(folder / PICTURES[3])


def full_size_digit(source: Path | bytes, name: str | None = None) -> np.ndarray:
    """The way before: the whole picture decoded and made float32, then preprocessed."""
    from PIL import ImageOps

    from mnist_pipeline.handwriting import to_mnist
    from mnist_pipeline.picture import grey_levels

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        image.load()
        return to_mnist(grey_levels(ImageOps.exif_transpose(image)), name or str(source))


def pillow_decode(path: Path) -> None:
    with Image.open(path) as image:
        image.load()


def reset_peak(pid: int | str = "self") -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: the peak starts again from now


WAYS = {"decode": pillow_decode, "before": full_size_digit, "after": None}  # after: read_digit


def way(name: str):
    from mnist_pipeline.handwriting import read_digit

    return WAYS[name] or read_digit


def child_times(folder: Path, repeats: int) -> None:
    """Median seconds of every way on every picture, taking turns in this one process
    (so that a busy moment of the machine falls on all of them alike), as JSON."""
    for name in WAYS:
        way(name)(folder / PICTURES[3])  # imports and first calls: not counted
    seconds = {f"{picture} {name}": [] for picture in PICTURES for name in WAYS}
    for _ in range(repeats):
        for picture in PICTURES:
            for name in WAYS:
                started = time.perf_counter()
                way(name)(folder / picture)
                seconds[f"{picture} {name}"].append(time.perf_counter() - started)
    print(json.dumps({key: statistics.median(times) for key, times in seconds.items()}))


def child_memory(name: str, pictures: list[Path]) -> None:
    """Peak memory above idle of this fresh process while it reads `pictures` one way,
    and what it still holds after, as JSON."""
    work = way(name)
    work(pictures[0].parent / PICTURES[3])  # imports and first calls: not counted
    idle = memory_mib("self")[0]
    reset_peak()
    for picture in pictures:
        work(picture)
    now, peak = memory_mib("self")
    print(json.dumps({"peak": peak - idle, "held": now - idle}))


def in_process(folder: Path, repeats: int, many: int) -> dict[str, dict]:
    """Seconds (one process, taking turns) and memory (a fresh process each) of `--image`'s path."""

    def run(*arguments: str) -> dict:
        command = [sys.executable, __file__, "--child", *arguments]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    seconds = run("times", str(folder), str(repeats))
    results = {}
    for picture in PICTURES:
        for name in WAYS:
            key = f"{picture} {name}"
            results[key] = run("memory", name, str(folder / picture)) | {"seconds": seconds[key]}
    if many:
        big = [str(folder / PICTURES[2 * (i % 2)]) for i in range(many)]  # 48 MP JPEG, 62 MP PNG
        results["many"] = run("memory", "after", *big)
    return results


SERVER = """
import sys
from pathlib import Path
sys.path[:0] = [{root!r}, {benchmarks!r}]
import mnist_pipeline.serve as serve
if {before!r}:
    from big_pictures import full_size_digit
    serve.read_digit = full_size_digit
serve.serve(Path({model!r}), "127.0.0.1", 0)
"""


def start_server(model: Path, before: bool) -> tuple[subprocess.Popen, int]:
    code = SERVER.format(root=str(ROOT), benchmarks=str(ROOT / "benchmarks"), before=before, model=str(model))
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    ready = server.stdout.readline()
    if "http://127.0.0.1:" not in ready:
        server.kill()
        raise SystemExit(f"the server did not start: {ready!r}")
    return server, int(ready.split("http://127.0.0.1:")[1].split("/")[0])


def post(port: int, data: bytes, kind: str) -> float:
    """One request to the API; its latency in seconds."""
    connection = HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request("POST", "/api/predict", body=data, headers={"Content-Type": kind})
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"the server answered {response.status}")
    return time.perf_counter() - started


def against_server(model: Path, folder: Path, before: bool, repeats: int, many: int) -> dict:
    files = {name: (folder / name).read_bytes() for name in PICTURES}
    kinds = {name: "image/jpeg" if name.endswith(".jpg") else "image/png" for name in PICTURES}
    server, port = start_server(model, before)
    try:
        post(port, files[PICTURES[3]], "image/png")  # first request: imports, first calls
        idle = memory_mib(server.pid)[0]
        results = {"idle": idle}
        seconds = {name: [] for name in PICTURES}
        peaks = dict.fromkeys(PICTURES, 0.0)
        for _ in range(repeats):  # taking turns, as above
            for name in PICTURES:
                reset_peak(server.pid)
                seconds[name].append(post(port, files[name], kinds[name]))
                peaks[name] = max(peaks[name], memory_mib(server.pid)[1] - idle)
        for name in PICTURES:
            results[name] = {"seconds": statistics.median(seconds[name]), "peak": peaks[name]}
        reset_peak(server.pid)
        with ThreadPoolExecutor(6) as clients:
            at_once = list(clients.map(lambda _: post(port, files[PICTURES[2]], "image/png"), range(6)))
        results["six at once"] = {"seconds": max(at_once), "peak": memory_mib(server.pid)[1] - idle}
        if many:
            reset_peak(server.pid)
            for i in range(many):
                name = PICTURES[2 * (i % 2)]
                post(port, files[name], kinds[name])
            now, peak = memory_mib(server.pid)
            results["many"] = {"peak": peak - idle, "held": now - idle}
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def cell(result: dict) -> str:
    return f"{result['seconds']:.3f} s, +{result['peak']:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (default: 5)")
    parser.add_argument("--many", type=int, default=100, help="big pictures sent in a row (default: 100)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # a measurement in a fresh process
    args = parser.parse_args()
    if args.child and args.child[0] == "times":
        return child_times(Path(args.child[1]), int(args.child[2]))
    if args.child:
        return child_memory(args.child[1], [Path(picture) for picture in args.child[2:]])

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        make_pictures(folder)
        sizes = {p: (Image.open(folder / p).size, (folder / p).stat().st_size) for p in PICTURES}
        local = in_process(folder, args.repeats, args.many)
        served = {
            "before": against_server(args.model, folder, True, args.repeats, many=0),
            "after": against_server(args.model, folder, False, args.repeats, args.many),
        }

    print(
        f"Reading each picture as `--image` does: median of {args.repeats} runs, taking turns in one"
        " process; peak memory above idle, in a fresh process each:\n"
    )
    print("| picture | size | Pillow decode alone | before: s, peak MB | after: s, peak MB |")
    print("| --- | --- | --- | --- | --- |")
    for picture in PICTURES:
        (width, height), size = sizes[picture]
        decode, before, after = (local[f"{picture} {name}"] for name in WAYS)
        print(
            f"| {picture} | {width}x{height}, {size / MEGABYTE:.2f} MB | {decode['seconds']:.3f} s |"
            f" {cell(before)} | {cell(after)} |"
        )
    print("\nThe server (--serve, one worker), median latency and the worker's peak memory above idle:\n")
    print("| request | before | after |")
    print("| --- | --- | --- |")
    for row in (*PICTURES, "six at once"):
        label = f"six {PICTURES[2]} at once (slowest)" if row == "six at once" else row
        print(f"| {label} | {cell(served['before'][row])} | {cell(served['after'][row])} |")
    print(f"\nidle worker: before {served['before']['idle']:.0f} MB, after {served['after']['idle']:.0f} MB")
    if args.many:
        for where, many in (("--image", local["many"]), ("server", served["after"]["many"])):
            print(
                f"{where}, after {args.many} big pictures in a row (48 MP JPEG and 62 MP PNG in turn):"
                f" peak {many['peak']:+.0f} MB, held {many['held']:+.0f} MB above idle"
            )
    image = {picture: local[f"{picture} after"]["seconds"] for picture in PICTURES}
    server = {picture: served["after"][picture]["seconds"] for picture in PICTURES}
    decode = local[f"{PICTURES[2]} decode"]["seconds"]
    jpeg, png = PICTURES[0], PICTURES[2]
    print(
        f"\nafter: 48 MP JPEG / 1 MP JPEG {image[jpeg] / image[PICTURES[1]]:.1f}x (--image),"
        f" {server[jpeg] / server[PICTURES[1]]:.1f}x (server);"
        f" 62 MP PNG / Pillow decoding it {image[png] / decode:.2f}x (--image),"
        f" {server[png] / decode:.2f}x (server)"
    )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


if __name__ == "__main__":
    main()
