"""Load on the drawing page's API: `--serve` against a server as tutorials write it.

    python benchmarks/serve_load.py --model artifacts/model.keras --requests 300

Starts three servers on 127.0.0.1: benchmarks/baseline_server.py (`model.predict`
on a resized image, as tutorials do), this project's `python mnist_classification.py
--serve` (one process) and `--serve --workers 2` (two processes on one socket). They
take turns, each getting the same real requests, multipart forms with the field `image`:
280x280 PNG drawings (what the page sends on every stroke), then 1600x1200 JPEG photos.
For 1, 4 and 16 concurrent clients (each with its own keep-alive connection) it prints
requests per second, p50 and p99 latency and errors; then it sends --memory-requests
more to `--serve` and reports its resident memory along the way and its peak.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent

CLIENTS = (1, 4, 16)


def pictures() -> list[tuple[str, bytes]]:
    """Ten digit drawings (280x280 PNG) and ten photos (1600x1200 JPEG), as files."""
    rng = np.random.default_rng(0)
    files = []
    for digit in range(10):
        canvas = Image.new("RGBA", (280, 280), "white")
        font = ImageFont.load_default(size=200)
        ImageDraw.Draw(canvas).text((140, 140), str(digit), fill="black", font=font, anchor="mm")
        files.append((f"drawing-{digit}.png", encode(canvas, "PNG")))
        page = Image.new("L", (1600, 1200), 215)
        ImageDraw.Draw(page).text((700, 500), str(digit), fill=40, font=ImageFont.load_default(size=300))
        light = np.linspace(0.8, 1.0, 1600, dtype=np.float32)[None, :]  # light from one side
        noisy = np.asarray(page, dtype=np.float32) * light + rng.normal(0, 4, (1200, 1600))
        files.append(
            (f"photo-{digit}.jpg", encode(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), "JPEG"))
        )
    return files


def encode(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, quality=85)
    return buffer.getvalue()


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    """A form with the file in the field `image`, as a browser or `curl -F` sends it."""
    boundary = uuid.uuid4().hex
    kind = "image/png" if name.endswith(".png") else "image/jpeg"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], port: int, request: tuple[bytes, str], env: dict) -> subprocess.Popen:
    """Start a server and wait until it answers a prediction."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while True:
        try:
            status, _ = post(HTTPConnection("127.0.0.1", port, timeout=30), request)
            if status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{' '.join(command)} did not start")
        time.sleep(0.3)


def post(connection: HTTPConnection, request: tuple[bytes, str]) -> tuple[int, bytes]:
    body, content_type = request
    connection.request("POST", "/api/predict", body, {"Content-Type": content_type})
    response = connection.getresponse()
    return response.status, response.read()


def load(port: int, requests: list[tuple[bytes, str]], clients: int) -> dict:
    """Send every request once, `clients` at a time; latencies, errors and throughput."""

    def client(share: list[tuple[bytes, str]]) -> tuple[list[float], int]:
        connection = HTTPConnection("127.0.0.1", port, timeout=60)
        latencies, errors = [], 0
        for request in share:
            started = time.perf_counter()
            try:
                status, _ = post(connection, request)
            except OSError:
                status, connection = 0, HTTPConnection("127.0.0.1", port, timeout=60)
            latencies.append(time.perf_counter() - started)
            errors += status != 200
        return latencies, errors

    shares = [requests[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, shares))
    seconds = time.perf_counter() - started
    latencies = sorted(latency for share, _ in results for latency in share)
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000,
        "errors": sum(errors for _, errors in results),
    }


def memory_mib(pid: int | str) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model.keras")
    parser.add_argument("--requests", type=int, default=300, help="requests per row (default: 300)")
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=2000,
        help="more requests to watch memory over, 0 for none (default: 2000)",
    )
    args = parser.parse_args()

    forms = [multipart(name, data) for name, data in pictures()]
    kinds = {"drawings": forms[0::2], "photos": forms[1::2]}
    model = str(args.model.resolve())
    quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    serve = [sys.executable, "mnist_classification.py", "--serve", "--model", model]
    servers = {  # each with the port it is to listen on appended
        "baseline (model.predict)": [sys.executable, "benchmarks/baseline_server.py", model],
        "--serve": [*serve, "--port"],
        "--serve --workers 2": [*serve, "--workers", "2", "--port"],
    }
    ports = {name: free_port() for name in servers}
    started = {}
    try:
        for name, command in servers.items():  # all at once: each idles while another is loaded
            started[name] = start([*command, str(ports[name])], ports[name], forms[0], quiet)
        rows = []
        for kind, pictures_of_kind in kinds.items():
            requests = [pictures_of_kind[i % len(pictures_of_kind)] for i in range(args.requests)]
            for clients in CLIENTS:
                for name in servers:  # side by side, so that a busy machine slows each alike
                    result = load(ports[name], requests, clients)
                    rows.append((name, kind, clients, result))
                    print(f"  {name:<26} {kind:<8} {clients:>2} clients: " + describe(result), flush=True)
        server = started["--serve"]  # memory over many more requests, drawings and photos alike
        memory = [memory_mib(server.pid)[0]]
        batch = [forms[i % len(forms)] for i in range(args.memory_requests // 4)]
        memory_errors = 0
        for _ in range(4 if batch else 0):  # none with --memory-requests under 4
            memory_errors += load(ports["--serve"], batch, 4)["errors"]
            memory.append(memory_mib(server.pid)[0])
        peak = memory_mib(server.pid)[1]
    finally:
        for server in started.values():
            server.terminate()
            server.wait(timeout=60)

    print(f"\n{args.requests} requests per row; drawings: 280x280 PNG, photos: 1600x1200 JPEG\n")
    print("| server | pictures | clients | requests/s | vs baseline | p50 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    baseline = {(kind, clients): result["rps"] for name, kind, clients, result in rows if "baseline" in name}
    for name, kind, clients, result in rows:
        ratio = result["rps"] / baseline[kind, clients]
        print(
            f"| {name} | {kind} | {clients} | {result['rps']:.1f} | {ratio:.1f}x | {result['p50']:.1f} | "
            f"{result['p99']:.1f} | {result['errors']} |"
        )
    if batch:
        steps = ", ".join(f"{value:.0f}" for value in memory)
        print(
            f"\n--serve resident memory over {args.memory_requests} more requests (MiB, every "
            f"{args.memory_requests // 4}): {steps}; peak {peak:.0f} MiB; errors {memory_errors}"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"\n{datetime.date.today()}, {machine}")


def describe(result: dict) -> str:
    return (
        f"{result['rps']:7.1f} req/s, p50 {result['p50']:6.1f} ms, p99 {result['p99']:6.1f} ms, "
        f"errors {result['errors']}"
    )


if __name__ == "__main__":
    main()
