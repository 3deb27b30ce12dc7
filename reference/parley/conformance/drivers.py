"""How the runner talks to an implementation: in process, or over gRPC.

Both drivers have one method, ``call(method, request) -> response``, where
``method`` is an RPC name of ``parley.driver.v1.DriverService`` and the
request and response are its ``driver_pb2`` messages. Outcomes other than a
response are three exceptions:

* :class:`Refused` -- the implementation rejected the input with a registry
  error code (what negative vectors expect);
* :class:`Unsupported` -- the implementation does not offer the operation
  (a failure, or a skip where the spec makes the operation optional); an
  operation a driver has answered once and then refuses as unimplemented is
  a :class:`DriverFailure` instead (spec: conformance.md, CONF-004);
* :class:`DriverFailure` -- anything else (a crash, a transport error).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import time

from ..errors import ParleyError

__all__ = [
    "DirectDriver",
    "DriverFailure",
    "GrpcDriver",
    "Refused",
    "Unsupported",
    "free_port",
    "spawn_driver",
]


class Refused(Exception):
    """The implementation refused the operation with a registry error code."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class Unsupported(Exception):
    """The implementation does not offer this operation."""


class DriverFailure(Exception):
    """The driver failed in a way no vector expects."""


def unsupported(driver, method: str) -> Exception:
    """Unsupported, unless ``driver`` has answered ``method`` before in this run."""
    if method in driver.answered:
        return DriverFailure(f"{method}: UNIMPLEMENTED, though the driver answered it before")
    return Unsupported(method)


class DirectDriver:
    """The reference implementation, called in this process (no gRPC)."""

    def __init__(self, backend=None) -> None:
        if backend is None:
            from .backend import ReferenceBackend

            backend = ReferenceBackend()
        self.backend = backend
        self.name = "reference (in-process)"
        self.answered: set[str] = set()  # operations that returned a response or a refusal

    def call(self, method: str, request):
        try:
            response = getattr(self.backend, method)(request)
        except ParleyError as exc:
            self.answered.add(method)
            raise Refused(exc.code, exc.message) from None
        except NotImplementedError as exc:
            raise unsupported(self, method) from exc
        except Exception as exc:  # a crash in the implementation under test
            raise DriverFailure(f"{method}: {type(exc).__name__}: {exc}") from exc
        self.answered.add(method)
        return response

    def close(self) -> None:
        pass


def parse_refusal(details: str) -> tuple[str, str]:
    """ "CODE" or "CODE: text" -> (CODE, text)."""
    code, _, text = (details or "").partition(":")
    return code.strip(), text.strip()


class GrpcDriver:
    """An implementation serving parley.driver.v1.DriverService at ``target``."""

    def __init__(self, target: str, timeout: float = 60.0, process=None) -> None:
        import grpc

        from ..driver.v1 import driver_pb2_grpc

        self._grpc = grpc
        self.target = target
        self.timeout = timeout
        self.process = process
        self.channel = grpc.insecure_channel(target)
        self.stub = driver_pb2_grpc.DriverServiceStub(self.channel)
        self.name = target
        self.answered: set[str] = set()  # operations that returned a response or a refusal

    def wait_ready(self, timeout: float = 20.0) -> None:
        try:
            self._grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except self._grpc.FutureTimeoutError:
            raise DriverFailure(f"no driver answers at {self.target}") from None

    def call(self, method: str, request):
        grpc = self._grpc
        try:
            response = getattr(self.stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            status = exc.code()
            if status == grpc.StatusCode.FAILED_PRECONDITION:
                self.answered.add(method)
                raise Refused(*parse_refusal(exc.details())) from None
            if status == grpc.StatusCode.UNIMPLEMENTED:
                raise unsupported(self, method) from None
            raise DriverFailure(f"{method}: {status.name}: {exc.details()}") from None
        self.answered.add(method)
        return response

    def close(self) -> None:
        self.channel.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The reference driver as a command; ``{port}`` is replaced by a free port.
REFERENCE_COMMAND = f"{shlex.quote(sys.executable)} -m parley.conformance.driver --port {{port}}"


def spawn_driver(command: str = REFERENCE_COMMAND, env: dict | None = None) -> GrpcDriver:
    """Start ``command`` (which must serve on 127.0.0.1:{port}) and connect to it."""
    port = free_port()
    argv = shlex.split(command.replace("{port}", str(port)))
    process = subprocess.Popen(argv, env={**os.environ, **(env or {})})  # noqa: S603
    driver = GrpcDriver(f"127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 30
    while True:
        try:
            driver.wait_ready(timeout=1.0)
            break
        except DriverFailure:
            if process.poll() is not None or time.monotonic() > deadline:
                driver.close()
                raise DriverFailure(f"driver command failed to start: {command}") from None
    driver.name = f"{command.split()[-3] if ' -m ' in command else argv[0]}@{driver.target}"
    return driver
