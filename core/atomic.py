"""Files that are either wholly written or not there: temp file, fsync, rename, fsync the folder.

A crash (or an exception) at any point leaves the destination as it was: the
new content is written to a hidden temporary name in the same folder, flushed
to disk, then renamed over the destination in one step (``os.replace``), and
the folder itself is flushed so the rename survives a power cut.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["TEMP_MARK", "fsync_folder", "write_atomically"]

#: Part of every temporary file's name (hidden, so listings skip it; start-up clean-ups look for it).
TEMP_MARK = ".tmp"


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, write: Callable[[Path], None], mode: int = 0o644) -> int:
    """Write ``path`` through ``write(temporary_path)``, all or nothing.

    Args:
        path: The destination; its folder is created if needed.
        write: Writes the whole content to the path it is given (which keeps
            ``path``'s suffix: Keras insists on ``.keras``).
        mode: Permissions of the finished file.

    Returns:
        The size of the file written, in bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=TEMP_MARK + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        size = tmp.stat().st_size
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only still there when something above failed
    fsync_folder(path.parent)
    return size
