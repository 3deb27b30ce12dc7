"""The conformance runner: ``python -m parley.conformance --help``.

Examples::

    python -m parley.conformance                      # the reference, over gRPC
    python -m parley.conformance --direct             # the reference, in process
    python -m parley.conformance --target host:9000   # a driver already running
    python -m parley.conformance --command "./my-driver --port {port}"
    python -m parley.conformance --command "..." --peer-command "..."   # pairwise interop

Prints one line per case (PASS / FAIL / XFAIL / SKIP, tcId, requirement IDs),
then ``conformance: N passed, N failed, N skipped``, the coverage per
requirement and per spec chapter, and the verdict; writes ``report.json``
and ``junit.xml`` into ``--report-dir``. The runner fails closed: a case the
driver cannot run is a failure unless the spec makes what it needs optional
(spec: conformance.md, CONF-004, CONF-010). Exit status: see :data:`EPILOG`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .coverage import coverage, format_coverage
from .drivers import DirectDriver, DriverFailure, GrpcDriver, Unsupported, spawn_driver
from .report import Verdict, console_line, summary_line, verdict, write_json, write_junit
from .runner import default_vector_dir, load_vectors, run_suite

KNOWN_FAILURES_DIR = Path(__file__).parent / "known_failures"

#: The exit statuses (spec: conformance.md, "The runner's verdict and exit status").
EPILOG = """\
exit status (the last line of output is the verdict):
  0  CONFORMANT      every case passed, apart from skips the spec permits (CONF-004);
     PASS            the same for a partial run (--select, or pairwise interop)
  1  FAIL            a case failed that --known-failures does not list; a case the
                     driver could not run (UNIMPLEMENTED, or a profile or version it
                     does not declare) counts, unless the spec makes it optional
                     (CONF-010); or a listed known failure passed (the list is stale)
  2  ERROR           no vectors, no case selected, a driver that cannot be reached
                     or fails GetCapabilities, or wrong arguments
  3  NOT CONFORMANT  nothing failed unexpectedly, but required cases were skipped
                     under --allow-skip, or some failures are listed as known
"""


def read_known_failures(path: Path | None) -> set[str]:
    if path is None:
        return set()
    ids = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.add(line)
    return ids


def _connect(target: str | None, command: str | None, direct: bool):
    if direct:
        return DirectDriver()
    if target:
        driver = GrpcDriver(target)
        driver.wait_ready()
        return driver
    return spawn_driver(command) if command else spawn_driver()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m parley.conformance",
        description="Run Parley's test vectors against an implementation's driver.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--target", help="host:port of a running driver")
    how.add_argument("--command", help="command that serves a driver on 127.0.0.1:{port}")
    how.add_argument("--direct", action="store_true", help="the reference, in process (no gRPC)")
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--peer-target", help="pairwise interop: host:port of a second driver")
    peer.add_argument("--peer-command", help="pairwise interop: command of a second driver")
    parser.add_argument(
        "--vectors",
        type=Path,
        default=default_vector_dir(),
        help="folder of vector files (default: the test-vectors of this checkout)",
    )
    parser.add_argument("--known-failures", type=Path, help="file of tcIds expected to fail")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("build/conformance"),
        help="where the JUnit XML and JSON reports go (default build/conformance)",
    )
    parser.add_argument(
        "--select", action="append", help="only cases whose tcId contains this text (repeatable)"
    )
    parser.add_argument(
        "--allow-skip",
        action="store_true",
        help="work in progress: report a case that needs an operation the driver lacks as "
        "skipped, not failed; the verdict is then NOT CONFORMANT (exit status 3)",
    )
    parser.add_argument(
        "--spec",
        type=Path,
        help="spec folder for the coverage per chapter (default: spec/ beside --vectors)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures, coverage gaps, the verdict"
    )
    args = parser.parse_args(argv)
    spec_dir = args.spec or args.vectors.resolve().parent / "spec"

    known = read_known_failures(args.known_failures)
    vectors = load_vectors(args.vectors)
    if not vectors:
        print(f"no vectors in {args.vectors}", file=sys.stderr)
        print(Verdict("ERROR", [f"no vectors in {args.vectors}"]).line())
        return 2
    drivers = []
    try:
        try:
            primary = _connect(args.target, args.command, args.direct)
            drivers.append(primary)
            pairwise = bool(args.peer_target or args.peer_command)
            if pairwise:
                second = _connect(args.peer_target, args.peer_command, False)
                drivers.append(second)
        except DriverFailure as exc:
            print(f"conformance: cannot reach the driver: {exc}", file=sys.stderr)
            print(Verdict("ERROR", ["the driver cannot be reached"]).line())
            return 2
        from ..driver.v1 import driver_pb2 as d

        names = []
        profiles: set[int] | None = None
        versions: set[int] | None = None
        for driver in drivers:
            try:
                caps = driver.call("GetCapabilities", d.GetCapabilitiesRequest())
            except (DriverFailure, Unsupported) as exc:
                reason = f"GetCapabilities of {driver.name} failed: {type(exc).__name__}: {exc}"
                print(f"conformance: {reason}", file=sys.stderr)
                print(Verdict("ERROR", [reason]).line())
                return 2
            names.append(caps.implementation or driver.name)
            # pairwise: only what both drivers offer
            profiles = set(caps.profiles) if profiles is None else profiles & set(caps.profiles)
            versions = (
                set(caps.protocol_versions)
                if versions is None
                else versions & set(caps.protocol_versions)
            )
            print(
                f"driver {driver.name}: {caps.implementation} "
                f"(profiles {list(caps.profiles)}, versions {list(caps.protocol_versions)})"
            )
        implementation = " x ".join(names)

        def show(result):
            if result.status == "fail" and result.tc_id in known:
                result.known = True
            if not args.quiet or (result.status == "fail" and not result.known):
                print(console_line(result), flush=True)

        start = time.perf_counter()
        pair = {"a": drivers[0], "b": drivers[-1]}
        results = run_suite(
            vectors,
            pair,
            select=args.select,
            pairwise=len(drivers) > 1,
            on_result=show,
            capabilities=(profiles, versions),
            allow_skip=args.allow_skip,
        )
        seconds = time.perf_counter() - start
    finally:
        for driver in drivers:
            driver.close()

    unexpected = [r for r in results if r.status == "fail" and not r.known]
    failed_ids = {r.tc_id for r in results if r.status == "fail"}
    ran_ids = {r.tc_id for r in results}
    stale = sorted((known & ran_ids) - failed_ids)
    for tc in stale:
        print(f"UNEXPECTED PASS {tc}: listed in {args.known_failures}, remove it")
    partial = bool(args.select) or len(drivers) > 1
    outcome = verdict(results, partial=partial, stale=stale, profiles=profiles or ())
    cov = coverage(results, spec_dir)
    for line in format_coverage(cov, quiet=args.quiet):
        print(line)
    write_json(
        args.report_dir / "report.json",
        implementation,
        results,
        {
            "seconds": round(seconds, 3),
            "pairwise": len(drivers) > 1,
            "partial": partial,
            "allowSkip": args.allow_skip,
            "stale": stale,
        },
        outcome,
        cov.as_json(),
    )
    write_junit(args.report_dir / "junit.xml", implementation, results)
    print(f"reports: {args.report_dir / 'report.json'}, {args.report_dir / 'junit.xml'}")
    print(f"({len(results)} cases in {seconds:.1f} s; {len(unexpected)} unexpected failure(s))")
    print(summary_line(results))
    print(outcome.line())
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
