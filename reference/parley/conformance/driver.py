"""The reference implementation's conformance driver: a gRPC server.

    python -m parley.conformance.driver --port 50051

serves ``parley.driver.v1.DriverService`` on 127.0.0.1 (``--host`` to change)
until it is interrupted. A Parley error becomes FAILED_PRECONDITION with the
registry code first in the details; an unknown method UNIMPLEMENTED.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc

from ..driver.v1 import driver_pb2 as d
from ..driver.v1 import driver_pb2_grpc
from ..errors import ParleyError
from .backend import ReferenceBackend

__all__ = ["main", "make_server"]

_METHODS = [m.name for m in d.DESCRIPTOR.services_by_name["DriverService"].methods]


class _Servicer(driver_pb2_grpc.DriverServiceServicer):
    def __init__(self, backend) -> None:
        self._backend = backend
        self._lock = threading.Lock()  # the backend's handle tables are not thread-safe


def _bind(name: str):
    def method(self, request, context):
        impl = getattr(self._backend, name, None)
        if impl is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented")
        try:
            with self._lock:
                return impl(request)
        except ParleyError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{exc.code}: {exc.message}")
        except NotImplementedError:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented")

    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(_Servicer, _name, _bind(_name))


def make_server(host: str, port: int, backend=None) -> tuple[grpc.Server, int]:
    """A started server for ``backend`` (default: a new ReferenceBackend)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    driver_pb2_grpc.add_DriverServiceServicer_to_server(
        _Servicer(backend or ReferenceBackend()), server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise SystemExit(f"cannot listen on {host}:{port}")
    server.start()
    return server, bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parley.conformance.driver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=50051)
    args = parser.parse_args(argv)
    server, port = make_server(args.host, args.port)
    print(f"parley reference driver listening on {args.host}:{port}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
