"""The drawing page's API (`--serve`): answers, every kind of bad input, and a bounded load.

API tests call the ASGI app in process (FastAPI's test client); the command-line and load
tests start the real server, as users do, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import base64
import io
import json
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, make_photo, make_split, png_bytes, script_env, start_server, stop
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from mnist_pipeline.classify import classify_images
from mnist_pipeline.digit_check import load_digit_check
from mnist_pipeline.saved_model import load_classifier
from mnist_pipeline.serve import MAX_BODY_BYTES, create_app


@pytest.fixture(scope="module")
def client(trained):
    with TestClient(create_app(trained / "model.keras")) as client:
        yield client


def drawing() -> bytes:
    """A 280x280 canvas with a digit drawn in black, as the page sends it."""
    canvas = Image.new("RGBA", (280, 280), "white")
    ImageDraw.Draw(canvas).line([(70, 60), (210, 60), (120, 240)], fill="black", width=18)
    return png_bytes(canvas)


def photo() -> bytes:
    digit = make_split(1, 7)[0][0]
    buffer = io.BytesIO()
    make_photo(digit, np.random.default_rng(0)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def post(client, body: bytes, content_type: str = "image/png"):
    return client.post("/api/predict", content=body, headers={"Content-Type": content_type})


def assert_refused(response, status: int, *fragments: str) -> None:
    """The status, and JSON {"error": one line that says what is wrong}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert message and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


# --- answers -----------------------------------------------------------------------------
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_a_drawing_gets_the_full_answer(client):
    response = post(client, drawing())
    assert response.status_code == 200, response.text
    result = response.json()
    probabilities = np.array(result["probabilities"])
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert result["digit"] == int(probabilities.argmax())
    assert result["probability"] == pytest.approx(probabilities.max())
    assert [t["digit"] for t in result["top_3"]] == list(np.argsort(-probabilities, kind="stable")[:3])
    header, data = result["preprocessed"].split(",", 1)
    assert header == "data:image/png;base64"
    with Image.open(io.BytesIO(base64.b64decode(data))) as seen:
        assert seen.size == (28, 28) and np.asarray(seen).max() == 255
    activations = result["activations"]
    assert [len(layer["values"]) for layer in activations] == [100, 50, 25, 10]
    assert min(min(layer["values"]) for layer in activations[:3]) >= 0  # ReLU
    assert np.allclose(activations[-1]["values"], probabilities, atol=1e-5)


@pytest.mark.parametrize("kind", ["drawing", "photo"])
def test_the_same_picture_gets_the_same_answer_as_image(client, trained, tmp_path, kind):
    picture = drawing() if kind == "drawing" else photo()
    path = tmp_path / f"{kind}.png"
    path.write_bytes(picture)
    model_file = trained / "model.keras"
    [expected] = classify_images(load_classifier(model_file), [path], None, load_digit_check(model_file))
    result = post(client, picture, "application/octet-stream").json()
    assert result["digit"] == expected["digit"]
    assert result["not_a_digit"] == expected["not_a_digit"]
    assert result["best_guess"] == expected["best_guess"]
    assert result["probability"] == pytest.approx(expected["probability"], abs=1e-5)
    assert [t["digit"] for t in result["top_3"]] == [t["digit"] for t in expected["top_3"]]


def test_a_multipart_form_gets_the_same_answer(client):
    raw = post(client, photo(), "image/jpeg").json()
    form = client.post("/api/predict", files={"image": ("photo.jpg", photo(), "image/jpeg")})
    assert form.status_code == 200, form.text
    assert form.json() == raw


# --- bad input ----------------------------------------------------------------------------
def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height` pixels (its data is for 1x1)."""
    real = png_bytes(Image.new("L", (1, 1)))
    header = b"IHDR" + struct.pack(">II", width, height) + real[24:29]
    return real[:12] + header + struct.pack(">I", zlib.crc32(header)) + real[33:]


BAD_INPUTS = {
    "not an image": (b"hello, world", "image/png", 400, "not an image"),
    "truncated": (None, "image/png", 400, "damaged or truncated"),
    "empty": (b"", "image/png", 400, "empty body"),
    "over 64 megapixels": (png_claiming(9000, 9000), "image/png", 413, "64,000,000 pixels"),
    "blank": (png_bytes(Image.new("RGB", (280, 280), "white")), "image/png", 422, "no ink"),
    "text": (b"7", "text/plain", 415, "text/plain"),
    "json": (b"{}", "application/json", 415, "application/json"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_gets_its_status_and_one_line(client, name):
    body, content_type, status, fragment = BAD_INPUTS[name]
    body = drawing()[:400] if body is None else body
    assert_refused(post(client, body, content_type), status, fragment)


def test_no_content_type_is_415(client):
    response = client.post("/api/predict", content=drawing(), headers={"Content-Type": ""})
    assert_refused(response, 415, "(none)")


def test_a_body_over_the_limit_is_413(client):
    assert_refused(post(client, b"\0" * (MAX_BODY_BYTES + 1)), 413, "limit")


def test_a_body_over_the_limit_without_a_declared_length_is_413(client):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"\0" * 65536

    response = client.post("/api/predict", content=chunks(), headers={"Content-Type": "image/png"})
    assert "content-length" not in response.request.headers  # sent chunked
    assert_refused(response, 413, f"over {MAX_BODY_BYTES:,} bytes")


def test_a_form_without_the_image_field_is_400(client):
    response = client.post("/api/predict", files={"picture": ("a.png", drawing(), "image/png")})
    assert_refused(response, 400, "'image'")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/predict", 405), ("PUT", "/", 405), ("GET", "/nowhere", 404), ("GET", "/static/x.js", 404)],
)
def test_wrong_methods_and_paths(client, method, path, status):
    assert_refused(client.request(method, path), status)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../serve.py",
        "/static/..%2fserve.py",
        "/static/%2e%2e%2fserve.py",
        "/static/..%2f..%2fmodel.py",
        "/static/index.html/../../serve.py",
        "/../mnist_pipeline/serve.py",
        "/static//etc/passwd",
    ],
)
def test_nothing_outside_the_page_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert "import" not in response.text and "root:" not in response.text


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="pad"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere


def test_the_server_keeps_answering_after_bad_input(client):
    for body, content_type, _, _ in BAD_INPUTS.values():
        post(client, body or b"\x89PNG", content_type)
    assert post(client, drawing()).status_code == 200


# --- the real server ------------------------------------------------------------------------
SERVE = [sys.executable, str(ROOT / "mnist_classification.py"), "--serve"]
UVICORN = [sys.executable, "-m", "uvicorn", "mnist_pipeline.serve:app"]


def test_serve_prints_its_address_and_stops_on_ctrl_c_in_one_line(trained):
    server, url = start_server(trained / "model.keras")
    host, port = url.split("/")[2].split(":")
    connection = HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    code, stderr = stop(server)
    assert code == 0 and stderr.strip() == "stopped", stderr


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:  # ended meanwhile
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc to find the workers")
def test_several_workers_answer_and_all_stop_on_ctrl_c(trained):
    server, url = start_server(trained / "model.keras", "--workers", "2")
    host, port = url.split("/")[2].split(":")
    workers = children_of(server.pid)
    assert len(workers) == 2
    for _ in range(6):  # new connections, shared out by the kernel between the workers
        connection = HTTPConnection(host, int(port), timeout=30)
        connection.request("POST", "/api/predict", drawing(), {"Content-Type": "image/png"})
        assert connection.getresponse().status == 200
        connection.close()
    code, stderr = stop(server)
    assert code == 0 and stderr.strip() == "stopped", stderr
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_a_model_keras_cannot_load_is_one_line(tmp_path, trained, workers):
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(trained / "model.keras") as source, zipfile.ZipFile(broken, "w") as target:
        for member in source.infolist():
            config = member.filename == "config.json"
            target.writestr(member, b'{"class_name": "Nope"}' if config else source.read(member))
    result = subprocess.run(
        [*SERVE, "--model", str(broken), "--port", "0", "--workers", workers],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {broken}: cannot load as a Keras model"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_serve_with_a_missing_model_is_one_line(tmp_path):
    result = subprocess.run(
        [*SERVE, "--model", str(tmp_path / "no")],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=120,
    )
    assert result.returncode == 2 and "python model.py" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_another_host_is_warned_about(trained):
    # 192.0.2.1 is reserved for documentation: binding fails, so nothing is ever exposed here.
    result = subprocess.run(
        [*SERVE, "--host", "192.0.2.1", "--port", "0", "--model", str(trained / "model.keras")],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 2, result.stderr
    assert lines[0].startswith("warning: serving on 192.0.2.1") and "reachable from the network" in lines[0]
    assert lines[1].startswith("error: cannot serve on 192.0.2.1:0")


def test_bounded_load_loses_no_request(trained):
    """8 clients x 50 requests, canvas drawings and photos alike: every one answered, right."""
    server, url = start_server(trained / "model.keras")
    host, port = url.split("/")[2].split(":")
    pictures = [(drawing(), "image/png"), (photo(), "image/jpeg")]
    expected = {}
    for body, content_type in pictures:
        connection = HTTPConnection(host, int(port), timeout=30)
        connection.request("POST", "/api/predict", body, {"Content-Type": content_type})
        expected[content_type] = json.loads(connection.getresponse().read())["digit"]

    def client(number: int) -> list[tuple[int, int]]:
        connection = HTTPConnection(host, int(port), timeout=30)
        answers = []
        for i in range(50):
            body, content_type = pictures[(number + i) % 2]
            connection.request("POST", "/api/predict", body, {"Content-Type": content_type})
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read())["digit"] == expected[content_type]))
        return answers

    try:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = [answer for answers in pool.map(client, range(8)) for answer in answers]
        assert time.monotonic() - started < 120
    finally:
        code, stderr = stop(server)
    assert len(answers) == 400 and answers == [(200, True)] * 400
    assert code == 0, stderr


def test_uvicorn_runs_the_app_with_several_workers(trained):
    """`uvicorn mnist_pipeline.serve:app --workers 2`, the model named by $MNIST_MODEL."""
    with socket.socket() as probe:  # a free port, for uvicorn's own --port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [*UVICORN, "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=script_env(MNIST_MODEL=str(trained / "model.keras")),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                connection = HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", "/api/predict", drawing(), {"Content-Type": "image/png"})
                response = connection.getresponse()
                break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.5)
        assert response.status == 200 and "digit" in json.loads(response.read())
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
