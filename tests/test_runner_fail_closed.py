"""The runner fails closed (CONF-010, CONF-011) and shows where an output differs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from parley.conformance.__main__ import EPILOG
from parley.conformance.__main__ import main as runner_main
from parley.conformance.backend import ReferenceBackend
from parley.conformance.diff import diff_bytes
from parley.conformance.driver import make_server
from parley.conformance.drivers import DirectDriver
from parley.conformance.policy import OPTIONAL_OPERATIONS
from parley.conformance.report import EXIT_CODES
from parley.conformance.runner import default_vector_dir, load_vectors, run_suite
from parley.driver.v1 import driver_pb2 as d
from parley.v1 import wire_pb2

VECTORS = default_vector_dir()
SPEC = VECTORS.parent / "spec" / "conformance.md"


def _count(group_type: str | None = None) -> int:
    return sum(
        len(g["tests"])
        for _, data in load_vectors(VECTORS)
        for g in data["testGroups"]
        if group_type is None or g["type"] == group_type
    )


class KdfOnly:
    """A driver that implements GetCapabilities and Kdf, and nothing else."""

    def __init__(self) -> None:
        self._reference = ReferenceBackend()

    def GetCapabilities(self, request):
        return d.GetCapabilitiesResponse(
            implementation="kdf-only", profiles=[1], protocol_versions=[1, 2]
        )

    def Kdf(self, request):
        return self._reference.Kdf(request)


@pytest.fixture
def kdf_only_target():
    server, port = make_server("127.0.0.1", 0, backend=KdfOnly())
    yield f"127.0.0.1:{port}"
    server.stop(0)


def _run(capsys, tmp_path: Path, *args: str) -> tuple[int, list[str], dict]:
    code = runner_main(["--vectors", str(VECTORS), "--report-dir", str(tmp_path), *args])
    out = capsys.readouterr().out.splitlines()
    return code, out, json.loads((tmp_path / "report.json").read_text())


@pytest.mark.requirement("CONF-010", "CONF-011")
def test_a_kdf_only_driver_is_not_conformant(kdf_only_target, tmp_path, capsys):
    kdf, total = _count("KdfTest"), _count()
    others = total - kdf
    # without --allow-skip: every case it cannot run fails
    code, out, report = _run(capsys, tmp_path / "strict", "-q", "--target", kdf_only_target)
    assert code == EXIT_CODES["FAIL"] == 1
    assert f"conformance: {kdf} passed, {others} failed, 0 skipped" in out
    assert out[-1].startswith("FAIL: ")
    assert any(
        line.startswith("FAIL x3dh/")
        and "does not implement X3dhAgreement (required for profile 1, CONF-010)" in line
        for line in out
    )
    assert report["summary"]["verdict"] == "FAIL"
    assert report["summary"]["exitCode"] == 1
    # with --allow-skip: skipped, but NOT CONFORMANT, and still a non-zero exit status
    code, out, report = _run(capsys, tmp_path / "wip", "--target", kdf_only_target, "--allow-skip")
    assert code == EXIT_CODES["NOT CONFORMANT"] == 3
    assert f"conformance: {kdf} passed, 0 failed, {others} skipped" in out
    assert out[-1] == f"NOT CONFORMANT: {others} required case(s) skipped (--allow-skip)"
    assert report["summary"]["verdict"] == "NOT CONFORMANT"
    assert report["summary"]["skippedRequired"] == others
    skipped = [c for c in report["cases"] if c["status"] == "skip"]
    assert skipped and all(c["skipPermitted"] is False for c in skipped)
    assert all("CONF-010" in c["message"] for c in skipped)


@pytest.mark.requirement("CONF-010")
def test_coverage_per_requirement_and_chapter(kdf_only_target, tmp_path, capsys):
    code, out, report = _run(capsys, tmp_path, "--target", kdf_only_target, "--allow-skip")
    assert code == 3
    text = "\n".join(out)
    rows = {r["id"]: r for r in report["coverage"]["requirements"]}
    kdf_rk = re.search(r"^  RATCHET-010 +MUST +spec/ratchet.md +3 cases: 3 passed$", text, re.M)
    assert kdf_rk and rows["RATCHET-010"]["passed"] == 3  # cited by the KDF_RK cases alone
    line = r"^  X3DH-010 +MUST +spec/x3dh.md +(\d+) cases: (\d+) passed, (\d+) skipped$"
    match = re.search(line, text, re.M)  # the X3DH KDF passes, X3DH agreement is skipped
    assert match, text
    x3dh_010 = rows["X3DH-010"]
    assert [int(g) for g in match.groups()] == [
        x3dh_010["cases"],
        x3dh_010["passed"],
        x3dh_010["skipped"],
    ]
    assert all(r["passed"] + r["failed"] + r["skipped"] == r["cases"] for r in rows.values())
    assert re.search(r"^  spec/ratchet.md +\d+ +\d+ +\d+ .*The Double Ratchet$", text, re.M)
    chapters = {c["chapter"]: c for c in report["coverage"]["chapters"]}
    assert chapters["spec/ratchet.md"]["title"] == "The Double Ratchet"
    assert chapters["spec/x3dh.md"]["withSkip"] > 0


@pytest.mark.requirement("CONF-004")
def test_an_optional_operation_left_out_still_conforms():
    class NoExportInstallation(ReferenceBackend):
        def ExportInstallation(self, request):
            raise NotImplementedError

    results = run_suite(
        load_vectors(VECTORS), {"a": DirectDriver(NoExportInstallation())}, select="session/"
    )
    assert {r.status for r in results} == {"pass"}
    assert any("ExportInstallation unsupported" in n for r in results for n in r.notes)


@pytest.mark.requirement("CONF-010")
def test_a_required_operation_left_out_fails_even_for_a_side_check():
    class NoExportSession(ReferenceBackend):
        def ExportSession(self, request):
            raise NotImplementedError

    results = run_suite(
        load_vectors(VECTORS),
        {"a": DirectDriver(NoExportSession())},
        select="session/skipped-key-used-once",
    )
    assert results and all(r.status == "fail" for r in results)
    assert "does not implement ExportSession (required for profile 1, CONF-010)" in (
        results[0].message
    )


def test_undeclared_required_profile_fails():
    driver = DirectDriver()
    results = run_suite(
        load_vectors(VECTORS), {"a": driver}, select="kdf/kdf-rk/", capabilities=(set(), {1, 2})
    )
    assert results and {r.status for r in results} == {"fail"}
    assert "profile 1" in results[0].message and "CONF-010" in results[0].message


# -- the difference of a wrong output ---------------------------------------------------


class WrongMessageNumber(ReferenceBackend):
    """Encrypt writes a message number one too high into the ratchet header."""

    def Encrypt(self, request):
        message = wire_pb2.RatchetMessage.FromString(super().Encrypt(request).message)
        header = wire_pb2.RatchetHeader.FromString(message.header)
        header.message_number += 1
        message.header = header.SerializeToString()
        return d.EncryptResponse(message=message.SerializeToString())


class WrongOneTimePreKey(ReferenceBackend):
    """CreateBundle returns a bundle whose second one-time prekey is another key."""

    def CreateBundle(self, request):
        bundle = wire_pb2.Bundle.FromString(super().CreateBundle(request).bundle)
        key = bytearray(bundle.installations[0].one_time_prekeys[1].public_key)
        key[31] ^= 1
        bundle.installations[0].one_time_prekeys[1].public_key = bytes(key)
        return d.CreateBundleResponse(bundle=bundle.SerializeToString())


def test_a_wrong_bundle_names_the_field_both_values_and_the_offset(tmp_path, capsys):
    tc = "bundle/create/one-installation"
    vectors = dict(load_vectors(VECTORS))["bundle.json"]
    case = next(t for g in vectors["testGroups"] for t in g["tests"] if t["tcId"] == tc)
    expected = bytes.fromhex(case["bundle"])
    [result] = run_suite(
        load_vectors(VECTORS), {"a": DirectDriver(WrongOneTimePreKey())}, select=tc
    )
    assert result.status == "fail"
    diff = result.difference
    assert diff["path"] == "bundle.installations[0].one_time_prekeys[1].public_key"
    assert diff["messageType"] == "parley.v1.Bundle"
    want = wire_pb2.Bundle.FromString(expected).installations[0].one_time_prekeys[1].public_key
    assert diff["expected"] == f"{want.hex()} (32 bytes)"
    got = bytearray(want)
    got[31] ^= 1
    assert diff["actual"] == f"{bytes(got).hex()} (32 bytes)"
    assert diff["offset"] == expected.index(want) + 31  # the flipped byte itself
    assert diff["path"] in result.message and want.hex() in result.message


def test_a_wrong_message_is_decoded_down_to_the_header_field():
    [result] = run_suite(
        load_vectors(VECTORS),
        {"a": DirectDriver(WrongMessageNumber())},
        select="session/in-order-with-ratchet-turns",
    )
    assert result.status == "fail"
    diff = result.difference
    assert diff["path"] == "message.header.message_number"
    assert diff["messageType"] == "parley.v1.RatchetMessage"
    assert (diff["actual"], diff["expected"]) == ("1", "0")
    assert isinstance(diff["offset"], int)
    assert "message.header.message_number (as parley.v1.RatchetMessage) is 1" in result.message


def test_the_json_report_holds_the_difference(tmp_path, capsys):
    server, port = make_server("127.0.0.1", 0, backend=WrongOneTimePreKey())
    try:
        code = runner_main(
            [
                "--vectors",
                str(VECTORS),
                "--report-dir",
                str(tmp_path),
                "--target",
                f"127.0.0.1:{port}",
                "--select",
                "bundle/create/one-installation",
            ]
        )
    finally:
        server.stop(0)
    out = capsys.readouterr().out
    assert code == 1
    assert "bundle.installations[0].one_time_prekeys[1].public_key (as parley.v1.Bundle)" in out
    [case] = json.loads((tmp_path / "report.json").read_text())["cases"]
    assert case["difference"]["path"] == "bundle.installations[0].one_time_prekeys[1].public_key"
    assert set(case["difference"]) >= {"actual", "expected", "offset", "messageType"}


def test_bytes_that_decode_to_equal_fields_still_show_the_offset():
    a = wire_pb2.RatchetMessage(header=b"\x08\x01", ciphertext=b"c", mac=b"m").SerializeToString()
    b = a + b"\x2a\x00"  # an unknown field 5 appended
    diff = diff_bytes(b, a, "message", wire_pb2.RatchetMessage)
    assert diff.offset == len(a)
    assert "WIRE-004" in diff.note


# -- the spec and the code agree ----------------------------------------------------------


def _spec_operations() -> dict[str, str]:
    text = SPEC.read_text()
    section = text[text.index("## Required and optional operations") :]
    section = section[: section.index("\n## ", 3)]
    return dict(re.findall(r"^\| `(\w+)` \| (required|optional) \|$", section, re.M))


def test_the_operations_table_of_the_spec_is_the_runners():
    table = _spec_operations()
    rpcs = [m.name for m in d.DESCRIPTOR.services_by_name["DriverService"].methods]
    assert sorted(table) == sorted(rpcs), "every DriverService RPC has a row in the spec's table"
    optional = {op for op, level in table.items() if level == "optional"}
    assert optional == OPTIONAL_OPERATIONS[1]


def test_exit_codes_are_documented_in_the_spec_and_help():
    text = SPEC.read_text()
    for label, code in EXIT_CODES.items():
        assert re.search(rf"^\| {code} \| `{label}` \|", text, re.M), label
        assert re.search(rf"^\s+(?:{code}\s+)?{label}\s", EPILOG, re.M), label


def test_an_optional_operation_cannot_vanish_halfway_through_a_run():
    """A driver that answers ExportInstallation every other time (before a step, not after)."""

    class Flaky(ReferenceBackend):
        calls = 0

        def ExportInstallation(self, request):
            Flaky.calls += 1
            if Flaky.calls % 2 == 0:
                raise NotImplementedError
            return super().ExportInstallation(request)

    results = run_suite(load_vectors(VECTORS), {"a": DirectDriver(Flaky())}, select="session/")
    failed = [r for r in results if r.status == "fail"]
    assert failed and all(
        "UNIMPLEMENTED, though the driver answered it before" in r.message for r in failed
    )


def test_a_driver_without_get_capabilities_is_an_error(tmp_path, capsys):
    class Nothing:
        pass

    server, port = make_server("127.0.0.1", 0, backend=Nothing())
    try:
        code = runner_main(
            [
                "--vectors",
                str(VECTORS),
                "--report-dir",
                str(tmp_path),
                "--target",
                f"127.0.0.1:{port}",
            ]
        )
    finally:
        server.stop(0)
    assert code == EXIT_CODES["ERROR"] == 2
    assert capsys.readouterr().out.splitlines()[-1].startswith("ERROR: GetCapabilities of")


def test_the_verdict_says_which_optional_checks_were_not_made(tmp_path, capsys):
    class NoExportInstallation(ReferenceBackend):
        def ExportInstallation(self, request):
            raise NotImplementedError

    server, port = make_server("127.0.0.1", 0, backend=NoExportInstallation())
    try:
        code = runner_main(
            [
                "-q",
                "--vectors",
                str(VECTORS),
                "--report-dir",
                str(tmp_path),
                "--target",
                f"127.0.0.1:{port}",
            ]
        )
    finally:
        server.stop(0)
    last = capsys.readouterr().out.splitlines()[-1]
    assert code == 0
    assert last.startswith(f"CONFORMANT: all {_count()} cases passed")
    assert "check(s) of an optional operation not made" in last


def test_a_state_changed_by_a_refused_step_names_the_changed_field():
    """A driver whose Decrypt advances the receiving counter even when it refuses."""
    from parley.errors import ParleyError
    from parley.local.v1 import state_pb2

    bumped: set[int] = set()

    class CommitsOnFailure(ReferenceBackend):
        def Decrypt(self, request):
            try:
                return super().Decrypt(request)
            except ParleyError:
                bumped.add(request.session_handle)
                raise

        def ExportSession(self, request):
            state = super().ExportSession(request).state
            if request.session_handle in bumped:
                decoded = state_pb2.SessionState.FromString(state)
                decoded.receiving_message_number += 1
                state = decoded.SerializeToString()
            return d.ExportSessionResponse(state=state)

    [result] = run_suite(
        load_vectors(VECTORS),
        {"a": DirectDriver(CommitsOnFailure())},
        select="session/skipped-key-used-once",
    )
    assert result.status == "fail"
    assert result.difference["path"] == "sessionState.receiving_message_number"
    assert result.difference["messageType"] == "parley.local.v1.SessionState"
    assert "(decrypt): the session changed: sessionState.receiving_message_number" in (
        result.message
    )
    assert "before it" in result.message


def test_an_accumulated_mismatch_names_the_first_record_that_differs():
    """A driver that answers every 50th Encrypt with one ciphertext byte changed."""

    class Drifting(ReferenceBackend):
        encrypted = 0

        def Encrypt(self, request):
            response = super().Encrypt(request)
            Drifting.encrypted += 1
            if Drifting.encrypted % 50:
                return response
            message = wire_pb2.RatchetMessage.FromString(response.message)
            message.ciphertext = bytes([message.ciphertext[0] ^ 1]) + message.ciphertext[1:]
            return d.EncryptResponse(message=message.SerializeToString())

    [result] = run_suite(
        load_vectors(VECTORS), {"a": DirectDriver(Drifting())}, select="accumulated/short"
    )
    assert result.status == "fail"
    assert "first divergence: record " in result.message
    assert result.difference["path"] == "message.ciphertext"
    assert result.difference["messageType"] == "parley.v1.RatchetMessage"
    assert "the reference has" in result.message
