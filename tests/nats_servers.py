"""Real NATS servers for the tests: one node, or a 3-node JetStream cluster.

Each server runs ``nats-server`` from PATH on loopback ports the OS picked
free, with its store and log in a temporary folder, and is stopped (or killed)
by the test. Readiness and leader elections are awaited by asking the
servers (their monitoring endpoint ``/jsz``), with deadlines, never by
sleeping a fixed time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def nats_available() -> bool:
    return os.path.exists(NATS_SERVER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], object], timeout: float, what: str, step: float = 0.05):
    """Call ``check`` until it returns something true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(step)
    raise TimeoutError(f"{what}: not after {timeout} s (last error: {last!r})")


class NatsServer:
    """One nats-server process with JetStream."""

    def __init__(
        self,
        root: Path,
        name: str = "n1",
        *,
        cluster_port: int | None = None,
        routes: list[int] | None = None,
        max_payload: int = 2 * 1024 * 1024,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.root = Path(root) / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.monitor_port = free_port()
        self.cluster_port = cluster_port
        self.routes = routes or []
        self.max_payload = max_payload
        self.tls = tls  # (certificate, key) files: clients must use TLS
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _config(self) -> str:
        lines = [
            f"server_name: {self.name}",
            "host: 127.0.0.1",
            f"port: {self.port}",
            "http: 127.0.0.1:" + str(self.monitor_port),
            f"max_payload: {self.max_payload}",
            "jetstream {",
            f'  store_dir: "{self.root / "js"}"',
            "  max_memory_store: 64MB",
            "  max_file_store: 1GB",
            "}",
        ]
        if self.tls is not None:
            lines += ["tls {", f'  cert_file: "{self.tls[0]}"', f'  key_file: "{self.tls[1]}"', "}"]
        if self.cluster_port is not None:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            lines += [
                "cluster {",
                "  name: parley-test",
                f"  listen: 127.0.0.1:{self.cluster_port}",
                f"  routes: [{routes}]",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> NatsServer:
        config = self.root / "nats.conf"
        config.write_text(self._config())
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [NATS_SERVER, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_until(self.listening, 30, f"nats-server {self.name} listening")
        return self

    def listening(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"nats-server {self.name} exited; see {self.root}/server.log")
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def jsz(self) -> dict:
        url = f"http://127.0.0.1:{self.monitor_port}/jsz?streams=true"
        with urllib.request.urlopen(url, timeout=2) as reply:
            return json.loads(reply.read())

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class NatsCluster:
    """Three JetStream nodes routed to each other (replicas 3)."""

    def __init__(self, root: Path, size: int = 3) -> None:
        cluster_ports = [free_port() for _ in range(size)]
        self.nodes = [
            NatsServer(root, f"n{i + 1}", cluster_port=cluster_ports[i], routes=cluster_ports)
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """A transport URL naming every node, streams with 3 replicas."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        return f"nats://{hosts}?replicas={len(self.nodes)}&ack_wait=3"

    def start(self) -> NatsCluster:
        for node in self.nodes:
            node.start()
        self.wait_meta_leader()
        return self

    def wait_meta_leader(self, timeout: float = 60) -> str:
        def leader() -> str | None:
            for node in self.nodes:
                if node.running:
                    meta = node.jsz().get("meta_cluster") or {}
                    if meta.get("leader") and meta.get("cluster_size", 0) >= len(self.nodes):
                        return meta["leader"]
            return None

        return wait_until(leader, timeout, "a JetStream meta leader")

    def stream_leader(
        self, stream: str, timeout: float = 60, other_than: NatsServer | None = None
    ) -> NatsServer:
        """The running node that leads ``stream`` (waits for an election), if
        given, one other than ``other_than``."""

        def find() -> NatsServer | None:
            for node in self.nodes:
                if not node.running:
                    continue
                for account in node.jsz().get("account_details", []):
                    for info in account.get("stream_detail", []):
                        cluster = info.get("cluster") or {}
                        if info.get("name") == stream and cluster.get("leader"):
                            found = next(n for n in self.nodes if n.name == cluster["leader"])
                            if found.running and found is not other_than:
                                return found
            return None

        return wait_until(find, timeout, f"a leader of stream {stream}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()
