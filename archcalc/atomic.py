"""Writing an output file atomically: a temporary file beside it, then a rename.

Readers never see a half-written file, and a failure (a full disk, an interrupt)
leaves whatever was at the path before as it was. Used by every ``--output``.

The data is flushed to disk (``fsync``) before the rename, and on POSIX the
folder after it: without that, a crash soon after the rename can leave an empty
file where the old one was, because the rename reached the disk before the data.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from archcalc.errors import SpecError


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` with a binary file that becomes ``path`` once it has returned.

    A path that cannot be written (no such folder, no permission) is a SpecError
    naming it, so the command line reports it in one line instead of a traceback.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise SpecError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # an ordinary new file, not mkstemp's private 0600
        os.replace(tmp, path)
        _sync_directory(directory)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SpecError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; POSIX needs the folder synced, Windows cannot open one."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
