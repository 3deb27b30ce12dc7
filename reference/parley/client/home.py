"""The home lock: one process at a time changes a home folder's installation.

A daemon (``parley serve``, ``parley listen``) or a command that changes the
installation holds an exclusive ``flock`` on ``HOME/parley.lock`` while it
runs, with its pid written in the file. A second one gets
:class:`HomeInUse` ("home in use by pid N") instead of, for example,
overwriting a running daemon's token and socket. The lock is the operating
system's: it is released when the holder exits, even by ``kill -9``.

Commands that only read may run beside the holder: the store serialises
every transaction, and each one reads the state it changes inside it.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .errors import HomeInUse

__all__ = ["LOCK_NAME", "HomeLock"]

LOCK_NAME = "parley.lock"


class HomeLock:
    """An exclusive lock on a home folder, held until :meth:`release`."""

    def __init__(self, home: Path, fd: int) -> None:
        self.home = home
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, home: Path, *, daemon: bool, wait: float = 5.0) -> HomeLock:
        """Take the lock. A command waits up to ``wait`` seconds for another
        command to finish; a running daemon is reported at once."""
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pid, holder_is_daemon = _holder(fd)
                    if holder_is_daemon or time.monotonic() >= deadline:
                        what = "a running daemon" if holder_is_daemon else "another command"
                        raise HomeInUse(
                            f"home in use by pid {pid if pid else '?'} ({what}): {home}", pid
                        ) from None
                    time.sleep(0.05)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {'daemon' if daemon else 'command'}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(home, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> HomeLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> tuple[int | None, bool]:
    """(pid, is a daemon) as the holder wrote them; (None, False) if not yet written."""
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").split()
        return int(text[0]), text[1:2] == ["daemon"]
    except (OSError, ValueError, IndexError):
        return None, False
