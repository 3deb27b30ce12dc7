"""The guides' shell commands run as written: docs/implementers.md and docs/bots.md.

Every ```sh block of a guide runs, in order, in one bash (``set -euo
pipefail``), in a copy of the repository (the tracked files, with this
checkout's .venv, .tools and node_modules linked in) and with HOME set to an
empty folder, so ``~/bot`` and ``~/mailbox`` are the test's own. Commands
left running in the background (``parley serve &``) are ended with their
process group. The one change to the text: the example port 50051 becomes a
free port, since other runs may use the same machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINKED = (".venv", ".tools", "clients/node/node_modules", "clients/ts/node_modules")
SKIP = {".git", "build", ".pytest_cache", ".ruff_cache", ".hypothesis", "__pycache__"}


def shell_blocks(guide: Path) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", guide.read_text(), re.S | re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sandbox(tmp: Path) -> Path:
    repo = tmp / "repo"

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(ROOT)
        return {n for n in names if n in SKIP or str(rel / n) in LINKED or n.endswith(".egg-info")}

    shutil.copytree(ROOT, repo, ignore=ignore, symlinks=True)  # copy2 keeps mtimes: no re-setup
    for rel in LINKED:
        if (ROOT / rel).exists():
            (repo / rel).symlink_to(ROOT / rel)
    return repo


def run_guide(guide: Path, timeout: int) -> subprocess.CompletedProcess:
    blocks = shell_blocks(guide)
    assert blocks, f"{guide.name} shows no shell commands"
    script = "\n".join(blocks).replace("50051", str(_free_port()))
    # A short folder: Unix socket paths are limited to about 100 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
    try:
        repo = _sandbox(tmp)
        home = tmp / "home"
        home.mkdir()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")},
            "HOME": str(home),
            # parley from make setup; buf from make lint (the guides say `buf ...`)
            "PATH": os.pathsep.join(
                [
                    str(repo / ".venv" / "bin"),
                    str(repo / ".tools" / "node_modules" / ".bin"),
                    os.environ["PATH"],
                ]
            ),
        }
        log = tmp / "out.log"
        with log.open("w") as sink:  # a file, not a pipe: background jobs keep pipes open
            proc = subprocess.Popen(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=repo,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=timeout)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # what the guide left running
                proc.wait(timeout=10)
        return subprocess.CompletedProcess(proc.args, proc.returncode, log.read_text(), "")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _need(*tools: str) -> None:
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run tools/install_client_deps.sh")
    if not (ROOT / ".tools" / "node_modules" / ".bin" / "buf").exists():
        pytest.skip("buf is not installed: run make lint")


def test_implementers_guide_commands_run():
    _need("protoc", "protoc-gen-go", "protoc-gen-go-grpc", "npm", "make")
    result = run_guide(ROOT / "docs" / "implementers.md", timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"^conformance: \d+ passed, 0 failed, 0 skipped$", result.stdout, re.M)
    # ls build/gen and ls build/my-run
    for name in ("cpp", "es", "go", "java", "python", "report.json"):
        assert re.search(rf"^{re.escape(name)}$", result.stdout, re.M), name


def test_bots_guide_commands_run():
    _need("node", "npm", "go", "protoc", "make")
    result = run_guide(ROOT / "docs" / "bots.md", timeout=420)
    out = result.stdout
    assert result.returncode == 0, out[-4000:]
    assert "serving parley.api.v1.ParleyService" in out
    assert "from " in out and ": ping" in out  # the bot got the message
    assert re.search(r"^bot: echo: ping", out, re.M)  # and Alice its reply
    # the generated TypeScript and Go clients, against the same daemon
    assert out.count("account.fingerprint ") == 2
    assert "Traceback" not in out


def test_the_guides_name_no_hedges():
    for guide in ("implementers.md", "bots.md"):
        text = (ROOT / "docs" / guide).read_text()
        for hedge in ("when present", "check --help", "check `--help`", "exact option names"):
            assert hedge not in text.lower(), (guide, hedge)
