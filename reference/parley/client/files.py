"""Small file-system helpers shared by the store and the mailbox transport."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "process_alive"]


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a writer whose leftovers must be kept)."""
    if not 0 < pid < 2**31:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but is another user's
        return True
    return True


def fsync_dir(path: Path) -> None:
    """Make a rename or link in the folder ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
