"""Files: every output is written beside its final name, then renamed into place.

An interrupted run leaves the previous file intact and never a broken one; a failed
write (disk full, no permission) is one PipelineError line naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mnist_pipeline.cli import PipelineError


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path in `final`'s folder; move it to `final` on success.

    A failed write (disk full, no permission) becomes one PipelineError line and
    leaves `final` as it was.
    """
    try:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.stem}-", suffix=final.suffix)
    except OSError as error:
        raise PipelineError(f"{final.parent}: cannot write files there ({error.strerror or error})") from None
    os.close(fd)
    temporary = Path(name)
    try:
        temporary.chmod(0o666 & ~current_umask())  # mkstemp's private 0600 would stick otherwise
        yield temporary
        with temporary.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, final)
    except OSError as error:
        raise PipelineError(
            f"{final}: could not be written ({error.strerror or error}); left as it was"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def prepare_output_dir(folder: Path) -> Path:
    """Create the output folder, or explain in one line why it cannot be used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PipelineError(f"{folder}: is a file, not a folder") from None
    except NotADirectoryError:
        raise PipelineError(f"{folder}: part of this path is a file, not a folder") from None
    except OSError as error:
        raise PipelineError(f"{folder}: cannot create the output folder ({error.strerror})") from None
    try:  # a real write, since permission bits do not tell the whole story (root, read-only disks)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PipelineError(f"{folder}: output folder is not writable ({error.strerror})") from None
    return folder


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in blocks (MNIST's checksums, compile-cache entries, the
    model a not-a-digit check was fitted for)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
