"""The validated cache (検証済みの写し): what was read and validated from files, kept for the next start.

The config and the templates are checked at every start, and checking them costs more
than drawing the first screen (pydantic alone takes longer to import). What a check
produced is kept here, in the user's cache directory, under a key that digests every
input to it: the files' bytes, the environment variables read, the code that checked
them and the Python that ran it. The next start with the same inputs reads the cached
copy; any change to any input means checking again. A cached copy that is missing,
damaged or not the user's own is ignored, never trusted.

Used by :mod:`core.config_loader` (the validated settings) and :mod:`core.templates`
(the parsed templates). Not to be confused with the SVG snapshots of the screen tests.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from dutypost.core.config import APP_NAME


class Key:
    """A digest of inputs, fed one part at a time (each part framed by its length)."""

    def __init__(self, *modules: str) -> None:
        self._digest = hashlib.sha256()
        self.add(sys.version)
        for module in modules:
            self.add(code_of(module))

    def add(self, value: bytes | str) -> Key:
        raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        self._digest.update(len(raw).to_bytes(8, "big") + raw)
        return self

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def code_of(module: str) -> bytes:
    """A module's source, or a package's version file, found without importing it."""
    from importlib.util import find_spec

    spec = find_spec(module)
    if spec is None or not spec.origin:
        return module.encode()
    origin = Path(spec.origin)
    if spec.submodule_search_locations:
        origin = origin.with_name("version.py")  # e.g. pydantic's release
    try:
        return origin.read_bytes()
    except OSError:
        return str(origin).encode()


def cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME)


def _path(name: str) -> Path:
    return cache_dir() / f"{name}.pickle"


def read(name: str, key: str, kind: type) -> Any | None:
    """The cached copy ``name`` if it was made from ``key`` and is a ``kind``; else None."""
    try:
        with open(_path(name), "rb") as fh:
            info = os.fstat(fh.fileno())
            # unpickling runs code: read only a file of this user's that nobody else can write
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
            stored_key, value = pickle.load(fh)
    except Exception:  # missing, truncated, written by other code: check again
        return None
    return value if stored_key == key and isinstance(value, kind) else None


def write(name: str, key: str, value: Any) -> None:
    """Best effort: a read-only or full disk only means checking at every start."""
    target = _path(name)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((key, value), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except (OSError, pickle.PicklingError):
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def name_for(kind: str, where: Path | str | None) -> str:
    """One cached copy per kind and place: an edit replaces it, the demo keeps its own."""
    place = str(Path(where).resolve()) if where is not None else ""
    return f"{kind}-{hashlib.sha256(place.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"
