"""The compile cache: the compiled training loop, kept between runs.

Compiling the training loop takes about half a second on a 2-core CPU; a rerun with
the same batch size loads it instead. TensorFlow's own persistent XLA cache does the
work, wrapped so that a broken cache costs a warning and a compile, never a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mnist_pipeline.backend import xla_flags
from mnist_pipeline.cli import PipelineError, warn
from mnist_pipeline.files import atomic_path, file_digest

CACHE_ENV = "MNIST_COMPILE_CACHE"  # where compiled training loops are kept between runs
MAX_CACHE_ENTRIES = 16  # about 0.5 MB each; the oldest go first


def default_cache_dir() -> Path:
    """$MNIST_COMPILE_CACHE, else the user's cache folder (~/.cache/mnist-mlp)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnist-mlp"


def machine_fingerprint() -> str:
    """What compiled code depends on: TensorFlow's version, XLA's flags and the CPU."""
    from importlib.metadata import version

    cpu = f"{platform.machine()} {platform.processor()}"
    with contextlib.suppress(OSError):  # Linux: model name and instruction-set flags
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu += "".join(sorted({line for line in lines if line.startswith(("model name", "flags"))}))
    key = f"{version('tensorflow')}|{xla_flags()}|{cpu}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class CompileCache:
    """TensorFlow's persistent XLA cache, used so that a broken cache never breaks a run.

    TensorFlow (TF_XLA_FLAGS=--tf_xla_persistent_cache_directory) writes entries in
    place, fails the run if it cannot write one, fails every later run if one is
    truncated, and runs whatever machine code an entry holds. So TensorFlow works in
    a private scratch folder, seeded only with kept entries whose SHA-256 matches the
    one recorded beside them; entries it adds are kept atomically, checksum last.
    Entries are kept per `machine_fingerprint()`. Create this before TensorFlow is
    imported: it reads the flag once.
    """

    def __init__(self, root: Path, scratch: Path) -> None:
        self.folder = root / f"xla-{machine_fingerprint()}"
        self.scratch = scratch
        self.known: set[str] = set()
        self.cleared = False
        for entry in self.entries(self.folder):
            try:
                intact = entry.with_suffix(".sha256").read_text().strip() == file_digest(entry, "sha256")
                if intact:
                    shutil.copyfile(entry, self.scratch / entry.name)
                    self.known.add(entry.name)
            except OSError:  # unreadable, or killed before its checksum was written
                intact = False
            if not intact:
                warn(f"compile cache entry {entry} is damaged; compiling afresh")
        flags = os.environ.get("TF_XLA_FLAGS", "")
        os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={self.scratch}".strip()

    def keep_new_entries(self) -> None:
        """Copy entries TensorFlow has just written into the kept folder; drop the oldest."""
        if self.cleared:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for entry in self.entries(self.scratch):
                if entry.name in self.known:
                    continue
                kept = self.folder / entry.name
                with atomic_path(kept) as temporary:
                    shutil.copyfile(entry, temporary)
                    digest = file_digest(temporary, "sha256")
                with atomic_path(kept.with_suffix(".sha256")) as temporary:
                    temporary.write_text(digest + "\n")
                self.known.add(entry.name)
            oldest_first = sorted(self.entries(self.folder), key=lambda entry: entry.stat().st_mtime)
            for entry in oldest_first[:-MAX_CACHE_ENTRIES]:
                entry.with_suffix(".sha256").unlink(missing_ok=True)
                entry.unlink()
        except (OSError, PipelineError) as error:
            warn(f"compile cache {self.folder} not updated ({error}); the run is unaffected")

    @staticmethod
    def entries(folder: Path) -> list[Path]:
        """The entries in `folder`, without hidden temporary files a killed run may leave."""
        try:
            return sorted(entry for entry in folder.glob("*.pb") if not entry.name.startswith("."))
        except OSError:
            return []

    def clear(self, reason: str) -> None:
        """Empty the cache; this run keeps nothing (its retry's entry would never be looked up)."""
        warn(f"compile cache {self.folder} could not be used ({reason}); compiling afresh")
        for folder in (self.folder, self.scratch):
            for entry in [*folder.glob("*.pb"), *folder.glob("*.sha256")]:
                with contextlib.suppress(OSError):
                    entry.unlink()
        self.cleared = True

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def open_compile_cache(root: Path) -> CompileCache | None:
    """A CompileCache kept in `root`, or None where TensorFlow could not be given one."""
    if "tensorflow" in sys.modules:  # too late: TensorFlow has read its flags
        return None
    try:
        scratch = Path(tempfile.mkdtemp(prefix="mnist-xla-"))
    except OSError:
        return None
    if any(character.isspace() for character in str(scratch)):  # TF_XLA_FLAGS is split on spaces
        scratch.rmdir()
        return None
    return CompileCache(root, scratch)


@contextlib.contextmanager
def kept_compile_cache(enabled: bool) -> Iterator[CompileCache | None]:
    """The user's compile cache for the duration of a run (None when off or unavailable).

    Enter it before anything imports TensorFlow (Keras' download does): TensorFlow
    reads the cache's flag once, when it starts.
    """
    cache = open_compile_cache(default_cache_dir()) if enabled else None
    try:
        yield cache
    finally:
        if cache is not None:
            cache.close()
