"""Clients in other languages against `parley serve`.

* The Node bot (clients/node/bot.js) receives a message from a Python
  account (the library, over the same mailbox) and replies.
* The C++ client (clients/cpp/parley_client.cc) is compiled here with the
  code protoc generates, calls GetAccount and decodes a RatchetMessage from
  test-vectors/wire.json.
* The Java decoder (clients/java/ParleyWire.java) decodes the same vector.
* `buf generate` with the committed buf.gen.yaml writes code for every
  language it names; on that code the TypeScript client (clients/ts,
  protobuf-es, type-checked with tsc --strict) and the Go client (clients/go,
  Debian's protoc-gen-go and protoc-gen-go-grpc) call GetAccount and decode
  the same vector as the C++ client, line for line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from parley.client import Account, MailboxTransport, MessageReceived

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "clients" / "node"
PASS = "clients test passphrase"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    root = tmp_path_factory.mktemp("clients")
    sock_dir = Path(tempfile.mkdtemp(prefix="pc", dir="/tmp"))
    home, mailbox = root / "bot", root / "mailbox"
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley.client.cli", "--home", str(home), "--mailbox",
         str(mailbox), "serve", "--socket", str(sock_dir / "bot.sock"), "--interval", "0.05"],
        env={**os.environ, "PARLEY_PASSPHRASE": PASS},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    for line in proc.stdout:  # the first start creates the account, then says "serving"
        if line.startswith("serving"):
            break
    else:
        proc.kill()
        raise AssertionError(f"serve did not start: {proc.stderr.read()}")
    yield {
        "root": root,
        "home": home,
        "mailbox": mailbox,
        "socket": sock_dir / "bot.sock",
        "token_file": home / "api.token",
    }
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(sock_dir, ignore_errors=True)


def _bot_code(daemon) -> str:
    import grpc
    from parley.api.v1 import api_pb2 as pb
    from parley.api.v1 import api_pb2_grpc as pb_grpc

    token = daemon["token_file"].read_text().strip()
    with grpc.insecure_channel(f"unix:{daemon['socket']}") as channel:
        stub = pb_grpc.ParleyServiceStub(channel)
        return stub.GetContactCode(
            pb.GetContactCodeRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10
        ).code


def test_node_bot_replies(daemon):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Node bot cannot run")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            check=True,
            timeout=300,
        )
    alice = Account.create(daemon["root"] / "alice.db", PASS, kdf_iterations=1000)
    mailbox = MailboxTransport(daemon["mailbox"])
    mailbox.register(alice.account_id, alice.installation_id)
    bot, _ = alice.add_contact(_bot_code(daemon), name="bot")
    mailbox.deliver(alice.send(bot, b"ping from python"), account=bot.account)

    result = subprocess.run(
        [node, str(NODE_DIR / "bot.js"), "--socket", str(daemon["socket"]), "--token-file",
         str(daemon["token_file"]), "--count", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "from " in result.stdout and "ping from python" in result.stdout

    replies: list[bytes] = []
    deadline = time.monotonic() + 10
    while not replies and time.monotonic() < deadline:
        for item in mailbox.fetch(alice.installation_id):
            for event in alice.receive(item.data):
                if isinstance(event, MessageReceived):
                    assert event.sender == bot.account and event.forward_secret
                    replies.append(event.plaintext)
            mailbox.ack(alice.installation_id, item.handle)
        time.sleep(0.05)
    alice.close()
    assert replies == [b"echo: ping from python"]


def _ratchet_vector() -> tuple[str, dict]:
    data = json.loads((ROOT / "test-vectors" / "wire.json").read_text())
    group = next(g for g in data["testGroups"] if g["type"] == "RatchetMessageDecodeTest")
    case = next(t for t in group["tests"] if t["tcId"] == "wire/ratchet/initial")
    return case["message"], case["decoded"]


def _build_cpp(out: Path) -> Path:
    """Generate the C++ code of wire.proto and api.proto, compile, link the client."""
    gen = out / "gen"
    gen.mkdir(parents=True)
    plugin = shutil.which("grpc_cpp_plugin")
    protos = ["parley/v1/wire.proto", "parley/api/v1/api.proto"]
    subprocess.run(["protoc", f"-I{ROOT / 'proto'}", f"--cpp_out={gen}", *protos], check=True)
    subprocess.run(
        ["protoc", f"-I{ROOT / 'proto'}", f"--grpc_out={gen}",
         f"--plugin=protoc-gen-grpc={plugin}", "parley/api/v1/api.proto"],
        check=True,
    )  # fmt: skip
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "protobuf", "grpc++"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    sources = [str(p) for p in gen.rglob("*.cc")]
    binary = out / "parley_client"
    subprocess.run(
        ["g++", "-std=c++17", "-O0", f"-I{gen}", str(ROOT / "clients/cpp/parley_client.cc"),
         *sources, *flags, "-o", str(binary)],
        check=True,
        timeout=240,
    )  # fmt: skip
    return binary


def test_cpp_client_calls_the_api_and_decodes_a_vector(daemon, tmp_path):
    missing = [t for t in ("protoc", "grpc_cpp_plugin", "g++", "pkg-config") if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run tools/install_client_deps.sh")
    prebuilt = ROOT / "build" / "clients" / "cpp" / "parley_client"
    binary = prebuilt if prebuilt.exists() else _build_cpp(tmp_path / "cpp")
    hex_message, decoded = _ratchet_vector()
    result = subprocess.run(
        [str(binary), str(daemon["socket"]), str(daemon["token_file"]), hex_message],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert len(fields["account.fingerprint"]) == 64
    assert fields["ratchet_message.version"] == str(decoded["version"])
    assert fields["ratchet_message.ratchet_key"] == decoded["ratchetKey"]
    assert fields["ratchet_message.mac"] == decoded["mac"]
    assert fields["x3dh.ephemeral_key"] == decoded["x3dh"]["ephemeralKey"]


def test_java_client_decodes_a_vector(tmp_path):
    jar = Path("/usr/share/java/protobuf.jar")
    missing = [t for t in ("protoc", "javac", "java") if not shutil.which(t)]
    if missing or not jar.exists():
        pytest.skip(f"{', '.join(missing) or jar} not installed: run tools/install_client_deps.sh")
    src, classes = tmp_path / "src", tmp_path / "classes"
    src.mkdir()
    subprocess.run(
        ["protoc", f"-I{ROOT / 'proto'}", f"--java_out={src}", "parley/v1/wire.proto"], check=True
    )
    sources = [str(p) for p in src.rglob("*.java")] + [str(ROOT / "clients/java/ParleyWire.java")]
    subprocess.run(
        ["javac", "-nowarn", "-d", str(classes), "-cp", str(jar), *sources],
        check=True,
        capture_output=True,
        timeout=180,
    )
    hex_message, decoded = _ratchet_vector()
    result = subprocess.run(
        ["java", "-cp", f"{classes}:{jar}", "ParleyWire", hex_message],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert fields == {
        "ratchet_message.version": str(decoded["version"]),
        "ratchet_message.message_number": str(decoded["messageNumber"]),
        "ratchet_message.ciphertext_bytes": str(len(decoded["ciphertext"]) // 2),
    }


BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


def test_buf_generate_with_the_committed_config(tmp_path):
    if not BUF.exists():
        pytest.skip("buf is not installed: run make lint (it installs buf)")
    missing = [
        tool
        for tool in (
            "protoc",
            "protoc-gen-go",
            "protoc-gen-go-grpc",
            "grpc_cpp_plugin",
            "grpc_python_plugin",
        )
        if not shutil.which(tool)
    ] + [p for p in ("clients/ts/node_modules/.bin/protoc-gen-es",) if not (ROOT / p).exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run tools/install_client_deps.sh")
    subprocess.run([str(BUF), "generate", "--output", str(tmp_path)], cwd=ROOT, check=True,
                   timeout=120)  # fmt: skip
    gen = tmp_path / "build" / "gen"
    expected = [
        "es/parley/api/v1/api_pb.ts",
        "es/parley/v1/wire_pb.ts",
        "go/parley/api/v1/api.pb.go",
        "go/parley/api/v1/api_grpc.pb.go",
        "go/parley/driver/v1/driver_grpc.pb.go",
        "java/parley/v1/RatchetMessage.java",  # java_multiple_files: one class per message
        "cpp/parley/api/v1/api.grpc.pb.cc",
        "cpp/parley/local/v1/state.pb.h",
        "python/parley/v1/wire_pb2.py",
        "python/parley/api/v1/api_pb2_grpc.py",
    ]
    assert [name for name in expected if not (gen / name).is_file()] == []
    go_package = (gen / "go/parley/v1/wire.pb.go").read_text()
    assert "package parleyv1" in go_package


def _client(language: str, relative: str, tmp_path: Path) -> Path:
    """The client `make clients` built, else build it here with clients/build.sh."""
    prebuilt = ROOT / "build" / "clients" / relative
    if prebuilt.exists():
        return prebuilt
    out = tmp_path / "clients"
    subprocess.run(
        ["bash", str(ROOT / "clients" / "build.sh"), language],
        cwd=ROOT,
        env={**os.environ, "CLIENTS_OUT": str(out), "BUF": str(BUF)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out / relative


def _check_client_output(stdout: str, daemon) -> None:
    _, decoded = _ratchet_vector()
    fields = dict(line.split(" ", 1) for line in stdout.splitlines())
    token = daemon["token_file"].read_text().strip()
    import grpc
    from parley.api.v1 import api_pb2 as pb
    from parley.api.v1 import api_pb2_grpc as pb_grpc

    with grpc.insecure_channel(f"unix:{daemon['socket']}") as channel:
        account = pb_grpc.ParleyServiceStub(channel).GetAccount(
            pb.GetAccountRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10
        )
    assert fields["account.fingerprint"] == account.fingerprint
    assert fields["account.installation_id"] == account.installation_id.hex()
    assert fields["ratchet_message.version"] == str(decoded["version"])
    assert fields["ratchet_message.ratchet_key"] == decoded["ratchetKey"]
    assert fields["ratchet_message.message_number"] == str(decoded["messageNumber"])
    assert fields["ratchet_message.mac"] == decoded["mac"]
    assert fields["ratchet_message.ciphertext_bytes"] == str(len(decoded["ciphertext"]) // 2)
    assert fields["x3dh.ephemeral_key"] == decoded["x3dh"]["ephemeralKey"]


def test_typescript_client_calls_the_api(daemon, tmp_path):
    node = shutil.which("node")
    if node is None or not BUF.exists() or not (ROOT / "clients/ts/node_modules/.bin/tsc").exists():
        pytest.skip("node, buf or clients/ts/node_modules missing: run make lint and "
                    "tools/install_client_deps.sh")  # fmt: skip
    script = _client("ts", "ts/out/client.js", tmp_path)
    hex_message, _ = _ratchet_vector()
    result = subprocess.run(
        [node, str(script), str(daemon["socket"]), str(daemon["token_file"]), hex_message],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    _check_client_output(result.stdout, daemon)
    code = dict(line.split(" ", 1) for line in result.stdout.splitlines())["contact_code"]
    assert code == _bot_code(daemon)
    # a wrong token is refused with the API's typed status, not a crash
    bad = tmp_path / "bad.token"
    bad.write_text("not the token\n")
    result = subprocess.run(
        [node, str(script), str(daemon["socket"]), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "UNAUTHENTICATED" in result.stderr


def test_go_client_calls_the_api(daemon, tmp_path):
    missing = [t for t in ("go", "protoc-gen-go", "protoc-gen-go-grpc") if not shutil.which(t)]
    if missing or not BUF.exists():
        pytest.skip(f"{', '.join(missing) or 'buf'} missing: run tools/install_client_deps.sh")
    binary = _client("go", "go/parley_client", tmp_path)
    hex_message, _ = _ratchet_vector()
    result = subprocess.run(
        [str(binary), str(daemon["socket"]), str(daemon["token_file"]), hex_message],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    _check_client_output(result.stdout, daemon)
