"""Fuzz targets: see fuzzing.py. Prints inputs tried and crashes per target."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: helpers, world

import pytest
from fuzzing import _WORKDIR, KEEP, TARGETS


@pytest.fixture(scope="session", autouse=True)
def _fuzz_workdir(tmp_path_factory):
    _WORKDIR.append(tmp_path_factory.mktemp("fuzz"))
    yield
    _WORKDIR.clear()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    ran = [t for t in TARGETS.values() if t.tried]
    if not ran:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'fuzz target':<28} {'inputs tried':>12} {'crashes':>8} {'seconds':>8}")
    for t in sorted(ran, key=lambda t: t.name):
        write(f"{t.name:<28} {t.tried:>12,} {len(t.crashes):>8} {t.seconds:>8.1f}")
        for signature in t.crashes:
            write(f"    crash: {signature}")
    total = sum(t.tried for t in ran)
    write(f"{'total':<28} {total:>12,} {sum(len(t.crashes) for t in ran):>8}")
    if KEEP:
        for t in ran:
            for path in t.keep():
                write(f"kept for the corpus: {path}")
