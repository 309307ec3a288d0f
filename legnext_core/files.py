"""Files the dashboard writes whole: a crash or a reader at the wrong moment sees the old file or the new
one, never half of one. (The job log has its own journal; see :mod:`legnext_core.joblog.storage`.)"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable: it is only on disk once the folder's entry is."""
    if os.name != "posix":  # Windows cannot open folders
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` through a temporary file beside it and one rename.

    ``durable``: the data and the rename are on disk when this returns. A cache that can be made again
    passes False and skips the fsyncs (readers still never see half a file).
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if durable:
        fsync_folder(path.parent)
