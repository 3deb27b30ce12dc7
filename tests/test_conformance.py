"""The conformance runner: over gRPC on loopback, pairwise, reports, known failures, skips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from parley.conformance.__main__ import main as runner_main
from parley.conformance.driver import make_server
from parley.conformance.drivers import DirectDriver, GrpcDriver, Refused, parse_refusal
from parley.conformance.runner import default_vector_dir, load_vectors, run_suite
from parley.driver.v1 import driver_pb2 as d

VECTORS = default_vector_dir()
DRIVER = f"{sys.executable} -m parley.conformance.driver --port {{port}}"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parley.conformance", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.mark.requirement("CONF-001")
def test_reference_passes_every_vector_over_grpc(tmp_path: Path):
    """The whole suite, through the reference driver in its own process, on 127.0.0.1."""
    proc = _cli("-q", "--vectors", str(VECTORS), "--command", DRIVER, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    total = sum(json.loads(p.read_text())["numberOfTests"] for p in VECTORS.glob("*.json"))
    assert f"conformance: {total} passed, 0 failed, 0 skipped" in proc.stdout.splitlines()
    report = json.loads((tmp_path / "build/conformance/report.json").read_text())
    assert report["summary"]["passed"] == total
    assert all(case["requirements"] for case in report["cases"])
    junit = ET.parse(tmp_path / "build/conformance/junit.xml").getroot()
    assert sum(int(s.get("tests")) for s in junit) == total


def test_pairwise_interop_between_two_driver_processes(tmp_path: Path):
    """Alice's parties on one reference driver, Bob's on another, then swapped."""
    selected = [
        "fanout/",
        "compromise/",
        "no-bundle/first-contact",
        "session/out-of-order",
        "session/initial-replayed",
        "accumulated/short",
    ]
    args = [a for s in selected for a in ("--select", s)]
    proc = _cli(
        "--vectors",
        str(VECTORS),
        "--command",
        DRIVER,
        "--peer-command",
        DRIVER,
        *args,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "PASS fanout/two-recipients-and-own-device@a>b" in proc.stdout
    assert "PASS fanout/two-recipients-and-own-device@b>a" in proc.stdout
    assert "conformance: 16 passed, 0 failed, 0 skipped" in proc.stdout.splitlines()


@pytest.mark.requirement("CONF-004")
def test_grpc_driver_maps_refusals_and_unimplemented():
    class Partial:  # a backend that offers only two operations
        def GetCapabilities(self, request):
            return d.GetCapabilitiesResponse(implementation="partial", profiles=[1])

        def Negotiate(self, request):
            from parley.errors import UnsupportedVersion

            raise UnsupportedVersion("none in common")

    server, port = make_server("127.0.0.1", 0, backend=Partial())
    driver = GrpcDriver(f"127.0.0.1:{port}")
    try:
        driver.wait_ready()
        with pytest.raises(Refused) as refused:
            driver.call("Negotiate", d.NegotiateRequest())
        assert refused.value.code == "UNSUPPORTED_VERSION"
        selected = ["kdf/kdf-rk/", "x3dh/with-opk/initiator"]
        pair = {"a": driver, "b": driver}
        results = run_suite(load_vectors(VECTORS), pair, select=selected)
        assert {r.status for r in results} == {"fail"}  # Kdf and X3dhAgreement are required
        assert len(results) == 4
        results = run_suite(load_vectors(VECTORS), pair, select=selected, allow_skip=True)
        assert {(r.status, r.permitted) for r in results} == {("skip", False)}
    finally:
        driver.close()
        server.stop(0)


def test_parse_refusal():
    assert parse_refusal("INVALID_MAC: MAC does not verify") == (
        "INVALID_MAC",
        "MAC does not verify",
    )
    assert parse_refusal("DUPLICATE_MESSAGE") == ("DUPLICATE_MESSAGE", "")


def _broken_vectors(tmp_path: Path) -> Path:
    """A copy of kdf.json whose first KDF_RK output is wrong."""
    folder = tmp_path / "vectors"
    (folder / "schemas").mkdir(parents=True)
    data = json.loads((VECTORS / "kdf.json").read_text())
    data["testGroups"][0]["tests"][0]["outputs"][0] = "00" * 32
    (folder / "kdf.json").write_text(json.dumps(data))
    return folder


def test_failure_known_failure_and_stale_list(tmp_path: Path, capsys):
    vectors = _broken_vectors(tmp_path)
    report = ["--report-dir", str(tmp_path / "out"), "--vectors", str(vectors), "--direct", "-q"]
    assert runner_main(report) == 1
    out = capsys.readouterr().out
    assert "FAIL kdf/kdf-rk/random-1 [RATCHET-010]" in out
    assert "conformance: 16 passed, 1 failed, 0 skipped" in out.splitlines()
    known = tmp_path / "known.txt"
    known.write_text("# expected\nkdf/kdf-rk/random-1\n")
    assert runner_main([*report, "--known-failures", str(known)]) == 3  # NOT CONFORMANT
    assert capsys.readouterr().out.splitlines()[-1] == "NOT CONFORMANT: 1 known failure(s)"
    known.write_text("kdf/kdf-rk/random-1\nkdf/kdf-rk/random-2\n")  # random-2 passes: stale
    assert runner_main([*report, "--known-failures", str(known)]) == 1
    assert "UNEXPECTED PASS kdf/kdf-rk/random-2" in capsys.readouterr().out


def test_direct_driver_reports_crashes_as_failures():
    class Crashing:
        def Kdf(self, request):
            raise RuntimeError("boom")

    results = run_suite(
        load_vectors(VECTORS), {"a": DirectDriver(Crashing())}, select="kdf/kdf-ck/ones"
    )
    assert [r.status for r in results] == ["fail"]
    assert "boom" in results[0].message


@pytest.mark.requirement("CONF-004")
def test_cases_beyond_the_capabilities_are_skipped():
    driver = DirectDriver()
    results = run_suite(
        load_vectors(VECTORS),
        {"a": driver, "b": driver},
        select=["version/", "wire/ratchet/version-2"],
        capabilities=({1}, {1}),
    )
    skipped = {r.tc_id for r in results if r.status == "skip"}
    assert {"version/v2-session", "wire/ratchet/version-2-read"} <= skipped
    assert "version/negotiate/stage-x1-peer-x1" not in skipped  # Negotiate needs no version
    assert all(r.status in ("pass", "skip") for r in results)
