"""The drawing page and its API: draw a digit, watch the network answer.

    python mnist_classification.py --serve                     # http://127.0.0.1:8000
    MNIST_MODEL=artifacts/model.keras uvicorn mnist_pipeline.serve:app --workers 2

FastAPI on uvicorn. Each worker process loads the model once and keeps nothing else
between requests, so it scales out to more processes or machines behind any load
balancer. A picture is read exactly as `--image` reads it (a digit, or a number), with
direct calls of the model (`LayerOutputs`), so it gets the same answer either way.
Bad input never takes the server down: it gets JSON `{"error": "..."}` and a status.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from mnist_pipeline.classify import DigitReader, digit_png, number_answer
from mnist_pipeline.cli import PipelineError, warn
from mnist_pipeline.digit_check import load_digit_check
from mnist_pipeline.handwriting import NoInk
from mnist_pipeline.number import TooManyPieces, read_pieces
from mnist_pipeline.picture import ImageError, ImageTooLarge
from mnist_pipeline.saved_model import MODEL_FILE, check_model_archive, load_classifier

MODEL_ENV = "MNIST_MODEL"  # which model `uvicorn mnist_pipeline.serve:app` loads
# Pictures preprocessed at once per process. More threads only fight over Python's GIL: in
# one check at 16 clients, 2 answered about a third more requests/s than the default 40.
PREDICT_THREADS = 2
MAX_BODY_BYTES = 10 * 1024 * 1024  # a request body over 10 MB is refused (413)
PAGE = Path(__file__).parent / "page"
# The only files the server ever sends: the page and its two assets. Nothing else on disk.
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
# The page may load only from this server: no CDN, no request to any other host.
PAGE_POLICY = "default-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'"


class RequestError(Exception):
    """A request the API refuses: one line for the client, and the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def predict(reader: DigitReader, image: bytes) -> dict:
    """One picture's answer: the digit, or the number and each of its digits, with what
    the network saw and every layer's activations."""
    try:
        pieces = read_pieces(image, reader, name="upload")
    except ImageTooLarge as error:
        raise RequestError(413, str(error)) from None
    except NoInk:
        raise RequestError(422, "no ink found: draw a digit (the picture is blank)") from None
    except TooManyPieces as error:
        raise RequestError(422, str(error)) from None
    except ImageError as error:
        raise RequestError(400, str(error)) from None

    def seen(i: int) -> dict:
        png = digit_png(pieces[i].field)
        return {
            "probabilities": [float(p) for p in pieces[i].probabilities],
            "preprocessed": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            "activations": [
                {"layer": name, "values": [round(float(v), 5) for v in output]}
                for name, output in zip(reader.layers.names, pieces[i].outputs, strict=True)
            ],
        }

    result = number_answer(pieces, seen)
    one = result["digits"][0] if len(pieces) == 1 else {}  # several: see each of `digits`
    return result | {key: one.get(key) for key in ("probabilities", "preprocessed", "activations")}


async def read_body(request: Request) -> bytes:
    """The request body, refused (413) as soon as it passes MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"body of {int(declared):,} bytes; the limit is {MAX_BODY_BYTES:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(413, f"body over {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def image_bytes(request: Request) -> bytes:
    """The picture sent: the whole body, or the multipart form's field `image`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (kind.startswith("image/") or kind in ("application/octet-stream", "multipart/form-data")):
        raise RequestError(
            415, f"content type {kind or '(none)'}: send an image, octet-stream or a multipart form"
        )
    body = await read_body(request)
    if kind == "multipart/form-data":

        async def whole_body():
            yield body

        try:
            form = await MultiPartParser(request.headers, whole_body(), max_files=1, max_fields=10).parse()
        except MultiPartException as error:
            raise RequestError(400, f"unreadable multipart form ({error.message})") from None
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "the multipart form has no file in the field 'image'")
        body = await upload.read()
    if not body:
        raise RequestError(400, "empty body: send the image file's bytes")
    return body


def create_app(model_path: Path, model=None, on_ready: Callable[[], object] | None = None) -> FastAPI:
    """The ASGI app. At start-up it loads `model_path` (unless given the loaded `model`),
    then calls `on_ready`, if given."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        model_now = model if model is not None else load_classifier(model_path)
        app.state.reader = DigitReader(model_now, load_digit_check(model_path))
        app.state.predicting = CapacityLimiter(PREDICT_THREADS)
        if on_ready:
            on_ready()
        yield

    app = FastAPI(title="MNIST digits", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(HTTPException)
    async def not_here(request: Request, error: HTTPException) -> JSONResponse:  # 404, 405
        status, headers = error.status_code, error.headers  # 405 says which methods are allowed
        return JSONResponse({"error": str(error.detail)}, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error ({type(error).__name__})"}, status_code=500)

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(PAGE / "index.html", headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/static/{name}")
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(404, "Not Found")
        return FileResponse(PAGE / name, media_type=ASSETS[name])

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/api/predict")
    async def api_predict(request: Request) -> dict:
        image = await image_bytes(request)
        state = request.app.state
        return await to_thread.run_sync(predict, state.reader, image, limiter=state.predicting)

    return app


def serve(model_path: Path, host: str, port: int, workers: int = 1) -> None:
    """Serve the page until Ctrl-C (or SIGTERM); print its address once it is ready.

    The socket is bound first, so the address printed is the real one. One worker runs
    in this process. More are forked from it before TensorFlow is imported (forking a
    process that has imported it is unsafe); each loads the model and answers on the
    shared socket, so a 2-core machine uses both cores.
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"serving on {host}: the page and its API are reachable from the network")
    if workers == 1:
        model = load_classifier(model_path)  # a bad model is one line and exit 2, before any socket
        listener = listen(host, port)
        app = create_app(model_path, model, on_ready=lambda: print(ready_line(listener), flush=True))
        run_uvicorn(app, listener)
    else:
        check_model_archive(model_path)  # most bad models: one line, before any socket or fork
        listener = listen(host, port)
        supervise(model_path, listener, workers)
    print("stopped", file=sys.stderr)


def ready_line(listener: socket.socket) -> str:
    address, port = listener.getsockname()[:2]
    url = f"http://{f'[{address}]' if ':' in address else address}:{port}/"
    return f"Serving the drawing page on {url} (Ctrl-C stops it)"


def run_uvicorn(app: FastAPI, listener: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down cleanly, then re-raises Ctrl-C
        uvicorn.Server(config).run(sockets=[listener])


def supervise(model_path: Path, listener: socket.socket, workers: int) -> None:
    """Fork `workers` servers on `listener`, wait until all are ready, then until they end.

    Each worker writes one line on a pipe: empty once it serves, else why it cannot.
    Ctrl-C or SIGTERM here is passed on to every worker.
    """
    reader, writer = os.pipe()
    children = []
    for _ in range(workers):
        child = os.fork()
        if child == 0:
            os.close(reader)
            run_worker(model_path, listener, writer)
        children.append(child)
    os.close(writer)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        with os.fdopen(reader) as lines:
            for _ in range(workers):
                problem = lines.readline()
                if problem != "\n":  # a worker's error, or all of them gone (end of file)
                    raise PipelineError(problem.strip() or "the workers stopped before they were ready")
        print(ready_line(listener), flush=True)
        for child in children:
            os.waitpid(child, 0)
    except KeyboardInterrupt:
        stop(children)
    except PipelineError:
        stop(children)
        raise


def interrupt(signal_number: int, frame) -> None:
    """SIGTERM, as Ctrl-C: stop the workers cleanly."""
    raise KeyboardInterrupt


def stop(children: list[int]) -> None:
    """Pass Ctrl-C on to every worker and wait until each has ended."""
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGINT)
    for child in children:
        with contextlib.suppress(ChildProcessError, KeyboardInterrupt):
            os.waitpid(child, 0)


def run_worker(model_path: Path, listener: socket.socket, ready: int) -> None:
    """A forked worker: load the model, say so on the `ready` pipe, serve, then exit.

    It never returns: the stack it was forked with belongs to the supervisor.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # stopped while loading: end quietly
    code = 1  # unless it served and stopped cleanly

    def say_ready() -> None:
        os.write(ready, b"\n")

    try:
        model = load_classifier(model_path)
        run_uvicorn(create_app(model_path, model, say_ready), listener)
        code = 0
    except PipelineError as error:
        code = 2
        with contextlib.suppress(OSError):  # the supervisor may have stopped listening already
            os.write(ready, f"{error}\n".encode())
    finally:
        os._exit(code)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound before the server starts so that the address it
    prints is the real one (port 0: any free port).

    It is made with proto=IPPROTO_TCP, as asyncio's own sockets are: asyncio turns off
    Nagle's algorithm only on such sockets, and with it on, every answer waited about
    40 ms for the client's delayed acknowledgement.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(socket.SOMAXCONN)
    except OSError as error:
        raise PipelineError(f"cannot serve on {host}:{port} ({error.strerror or error})") from None
    return listener


# For `uvicorn mnist_pipeline.serve:app`: the model named by $MNIST_MODEL, loaded by each worker.
app = create_app(Path(os.environ.get(MODEL_ENV, Path("artifacts") / MODEL_FILE)))
