"""Mutants: deliberately wrong variants of the reference, each of which the
vectors must catch ("kill").

    python -m parley.conformance.mutants [--vectors DIR] [--jobs N] [NAME ...]

Each mutant is a monkeypatch of the core, applied in a fresh subprocess
(``--run NAME``), which then runs the whole suite in process against the
mutated reference and prints the tcIds that failed. A mutant is killed if at
least one vector fails. The report lists, for each mutant, how many vectors
killed it and which; the exit status is 1 if any mutant survived.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["MUTANTS", "apply_mutant"]


def _patch_everywhere(attribute: str, original, replacement) -> None:
    """Replace ``original`` by ``replacement`` in every parley module that holds it."""
    for name, module in list(sys.modules.items()):
        if (name == "parley" or name.startswith("parley.")) and getattr(
            module, attribute, None
        ) is original:
            setattr(module, attribute, replacement)


def _wrap_method(cls, name: str, make):
    original = cls.__dict__[name]
    setattr(cls, name, make(original))


# -- the mutants --------------------------------------------------------------------


def dh_zeros():
    """X25519 returns 32 zero bytes (the bug shipped for a year in a real messenger)."""
    from .. import primitives

    _patch_everywhere("x25519", primitives.x25519, lambda own, peer: bytes(32))


def zero_check_off():
    """An all-zero X25519 output is used instead of refused (X3DH-011)."""
    from .. import primitives
    from ..errors import ZeroSharedSecret

    original = primitives.x25519

    def x25519(own, peer):
        try:
            return original(own, peer)
        except ZeroSharedSecret:
            return bytes(32)

    _patch_everywhere("x25519", original, x25519)


def ad_without_identity():
    """AD holds only the installation ids, not the identity keys (X3DH-030)."""
    from .. import x3dh

    original = x3dh.associated_data
    _patch_everywhere("associated_data", original, lambda a, ai, b, bi: ai + bi)


def ad_swapped():
    """AD with the responder first."""
    from .. import x3dh

    original = x3dh.associated_data
    _patch_everywhere("associated_data", original, lambda a, ai, b, bi: original(b, bi, a, ai))


def kdf_ck_swapped():
    """KDF_CK with its two HMAC constants swapped (RATCHET-011)."""
    from .. import primitives as P
    from ..profile import Profile

    Profile.kdf_ck = lambda self, ck: (P.hmac_sha256(ck, b"\x01"), P.hmac_sha256(ck, b"\x02"))


def wrong_hkdf_info():
    """Message keys expanded with another HKDF info string (RATCHET-012)."""
    from .. import primitives as P
    from ..profile import Profile

    def message_keys(self, mk):
        okm = P.hkdf_sha256(mk, bytes(32), b"Parley message keys v2", 80)
        return okm[:32], okm[32:64], okm[64:]

    Profile.message_keys = message_keys


def kdf_rk_salt_swapped():
    """KDF_RK with salt and input key material swapped (RATCHET-010)."""
    from .. import primitives as P
    from ..profile import Profile

    def kdf_rk(self, rk, dh):
        out = P.hkdf_sha256(rk, dh, self.kdf_rk_info, 64)
        return out[:32], out[32:]

    Profile.kdf_rk = kdf_rk


def x3dh_no_prefix():
    """SK without the 32 bytes of 0xFF before the DH outputs (X3DH-010)."""
    from .. import primitives as P
    from ..profile import Profile

    Profile.x3dh_kdf = lambda self, dh: P.hkdf_sha256(dh, self.x3dh_salt, self.x3dh_info, 32)


def opk_ignored():
    """The initiator leaves DH4 out even when a one-time prekey is chosen."""
    from .. import x3dh

    original = x3dh.initiator_agreement
    _patch_everywhere(
        "initiator_agreement",
        original,
        lambda profile, ident, eph, peer, spk, opk=None: original(profile, ident, eph, peer, spk),
    )


def max_skip_off():
    """MAX_SKIP is not enforced (RATCHET-034)."""
    from ..ratchet import DoubleRatchet

    def _skip(self, chain, until, ratchet_key):
        out = []
        while chain.index < until:
            chain, message_key = chain.next(self.profile)
            out.append(((ratchet_key, message_key.index), message_key.key, chain))
        return out

    DoubleRatchet._skip = _skip


def commit_on_failure():
    """A message that fails to decrypt still advances the receiving chain (RATCHET-040)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, ciphertext, mac, rng, extra_header=b""):
            try:
                return original(self, header, ciphertext, mac, rng, extra_header)
            except Exception:
                chain = self.receiving_chain
                if chain is not None and header.ratchet_key == self.receiving_ratchet_key:
                    while chain.index <= header.message_number:
                        chain, _ = chain.next(self.profile)
                    self.receiving_chain = chain
                raise

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def skipped_key_kept():
    """A skipped message key is kept after it decrypted its message (RATCHET-032)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            before = dict(self.skipped)
            plaintext = original(self, header, *args, **kwargs)
            for slot, key in before.items():
                self.skipped.setdefault(slot, key)
            return plaintext

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def retired_chains_forgotten():
    """Retired receiving chains are not remembered (RATCHET-036)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, *args, **kwargs):
            plaintext = original(self, *args, **kwargs)
            self.retired_chains.clear()
            return plaintext

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def pn_ignored():
    """On a DH ratchet step the rest of the old chain is not skipped (PN ignored)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            if header.ratchet_key != self.receiving_ratchet_key:
                header.previous_chain_length = 0
            return original(self, header, *args, **kwargs)

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def chain_not_advanced():
    """Encrypt does not advance the sending chain: message keys are reused (RATCHET-021)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def encrypt(self, *args, **kwargs):
            chain = self.sending_chain
            out = original(self, *args, **kwargs)
            self.sending_chain = chain
            return out

        return encrypt

    _wrap_method(DoubleRatchet, "encrypt", make)


def mac_truncated():
    """The MAC check compares only the first 16 bytes of the tag (RATCHET-013)."""
    from .. import primitives
    from ..errors import InvalidMac

    original = primitives.hmac_sha256_verify

    def verify(key, data, tag):
        if primitives.hmac_sha256(key, data)[:16] != tag[:16]:
            raise InvalidMac("MAC does not verify")

    _patch_everywhere("hmac_sha256_verify", original, verify)


def decrypt_before_mac():
    """The ciphertext is decrypted (and its padding checked) before the MAC."""
    from .. import primitives as P
    from ..profile import Profile

    def decrypt(self, mk, ciphertext, mac, ad, header, extra_header=b""):
        enc_key, mac_key, iv = self.message_keys(mk)
        plaintext = P.aes256_cbc_decrypt(enc_key, iv, ciphertext)
        P.hmac_sha256_verify(mac_key, self.mac_input(ad, header, ciphertext, extra_header), mac)
        return plaintext

    Profile.decrypt = decrypt


def x3dh_header_not_in_mac():
    """The X3DH header is left out of the MAC input (RATCHET-013)."""
    from ..profile import Profile

    original = Profile.mac_input
    Profile.mac_input = staticmethod(
        lambda ad, header, ciphertext, extra_header=b"": original(ad, header, ciphertext)
    )


def replay_guard_off():
    """Initial messages are not checked against the replay guard (X3DH-040)."""
    from ..keys import InstallationKeys

    InstallationKeys.is_replay = lambda self, spk_id, ek: False


def opk_not_deleted():
    """A one-time prekey survives the initial message that used it (PREKEY-005)."""
    from ..session import Session

    original = Session.respond.__func__

    def respond(cls, identity, installation, *args, **kwargs):
        saved = dict(installation.one_time_prekeys)
        result = original(cls, identity, installation, *args, **kwargs)
        installation.one_time_prekeys.update(saved)
        return result

    Session.respond = classmethod(respond)


def old_signed_prekey_refused():
    """Only the current signed prekey is accepted: the grace period is ignored (PREKEY-004)."""
    from ..keys import InstallationKeys

    InstallationKeys.signed_prekey = lambda self, prekey_id: (
        self.signed_prekeys[0] if self.signed_prekeys[0].id == prekey_id else None
    )


def _bundle_verify_ignoring(error_name: str):
    from .. import errors
    from ..bundle import Bundle

    error = getattr(errors, error_name)

    def make(original):
        def verify(self, now, profile=None):
            try:
                return original(self, now) if profile is None else original(self, now, profile)
            except error:
                return None

        return verify

    _wrap_method(Bundle, "verify", make)


def stale_bundle_accepted():
    """A bundle older than bundle_max_age is accepted (BUNDLE-020)."""
    _bundle_verify_ignoring("BundleStale")


def future_bundle_accepted():
    """A bundle signed in the future is accepted (BUNDLE-020)."""
    _bundle_verify_ignoring("BundleTimestampInFuture")


def bundle_signature_unchecked():
    """The bundle signature is not verified (BUNDLE-011)."""
    from .. import bundle

    bundle.ed25519_verify = lambda public, message, signature: None


def binding_unchecked():
    """The identity binding signature is not verified (KEYS-003)."""
    from ..keys import IdentityKey

    IdentityKey.verify = lambda self, profile=None: None


def version_unchecked():
    """Any protocol version is read (VERSION-001)."""
    from ..versioning import VersionPolicy

    VersionPolicy.check_readable = lambda self, version: None


def negotiate_lowest():
    """Negotiation picks the lowest common version instead of the highest (VERSION-010)."""
    from .. import versioning
    from ..errors import UnsupportedVersion

    def negotiate(policy, peer_reads):
        candidates = [v for v in peer_reads if v in policy.reads and v <= policy.writes]
        if not candidates:
            raise UnsupportedVersion("no protocol version in common with the peer")
        return min(candidates)

    _patch_everywhere("negotiate", versioning.negotiate, negotiate)


def size_limit_off():
    """Messages above max_message_size are parsed (WIRE-002)."""
    from google.protobuf.message import DecodeError

    from .. import codec
    from ..errors import MalformedMessage

    def _parse(cls, data, what, profile):
        try:
            return cls.FromString(bytes(data))
        except DecodeError:
            raise MalformedMessage(f"{what} does not decode") from None

    codec._parse = _parse


def no_bundle_marked_forward_secret():
    """A no-bundle message is reported as forward secret (NOBUNDLE-002)."""
    import dataclasses

    from .. import no_bundle

    original = no_bundle.open_no_bundle
    _patch_everywhere(
        "open_no_bundle",
        original,
        lambda *a, **k: dataclasses.replace(original(*a, **k), forward_secret=True),
    )


def no_bundle_ad_without_installation():
    """The no-bundle AD leaves out the sender's installation id (NOBUNDLE-010)."""
    from .. import no_bundle

    no_bundle._associated_data = lambda sender, installation_id, recipient: (
        sender.keys + recipient.keys
    )


def x3dh_header_dropped_early():
    """The initiator stops sending the X3DH header after its first message (X3DH-020)."""
    from ..session import Session

    def make(original):
        def encrypt(self, plaintext):
            out = original(self, plaintext)
            self.pending_x3dh = None
            return out

        return encrypt

    _wrap_method(Session, "encrypt", make)


MUTANTS = {
    "dh-returns-zeros": dh_zeros,
    "zero-shared-secret-accepted": zero_check_off,
    "ad-without-identity-keys": ad_without_identity,
    "ad-parties-swapped": ad_swapped,
    "kdf-ck-constants-swapped": kdf_ck_swapped,
    "kdf-rk-salt-and-ikm-swapped": kdf_rk_salt_swapped,
    "message-keys-wrong-hkdf-info": wrong_hkdf_info,
    "x3dh-kdf-without-ff-prefix": x3dh_no_prefix,
    "x3dh-one-time-prekey-ignored": opk_ignored,
    "max-skip-not-enforced": max_skip_off,
    "state-committed-on-failed-decrypt": commit_on_failure,
    "skipped-key-kept-after-use": skipped_key_kept,
    "retired-chains-forgotten": retired_chains_forgotten,
    "previous-chain-length-ignored": pn_ignored,
    "sending-chain-not-advanced": chain_not_advanced,
    "mac-check-truncated": mac_truncated,
    "decrypt-before-mac-check": decrypt_before_mac,
    "x3dh-header-not-in-mac": x3dh_header_not_in_mac,
    "x3dh-header-dropped-early": x3dh_header_dropped_early,
    "replay-guard-off": replay_guard_off,
    "one-time-prekey-not-deleted": opk_not_deleted,
    "superseded-signed-prekey-refused": old_signed_prekey_refused,
    "stale-bundle-accepted": stale_bundle_accepted,
    "future-bundle-accepted": future_bundle_accepted,
    "bundle-signature-not-checked": bundle_signature_unchecked,
    "identity-binding-not-checked": binding_unchecked,
    "any-version-read": version_unchecked,
    "negotiate-lowest-version": negotiate_lowest,
    "message-size-limit-off": size_limit_off,
    "no-bundle-marked-forward-secret": no_bundle_marked_forward_secret,
    "no-bundle-ad-without-installation": no_bundle_ad_without_installation,
}


def apply_mutant(name: str) -> None:
    import parley.conformance.backend
    import parley.state  # noqa: F401

    MUTANTS[name]()


# -- running ----------------------------------------------------------------------


def _run_in_process(name: str, vectors: Path) -> list[str]:
    from .drivers import DirectDriver
    from .runner import load_vectors, run_suite

    apply_mutant(name)
    driver = DirectDriver()
    results = run_suite(load_vectors(vectors), {"a": driver, "b": driver})
    return [r.tc_id for r in results if r.status == "fail"]


def _run_subprocess(name: str, vectors: Path) -> tuple[str, list[str] | None, float, str]:
    start = time.perf_counter()
    proc = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "parley.conformance.mutants",
            "--run",
            name,
            "--vectors",
            str(vectors),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return name, None, seconds, proc.stderr[-2000:]
    return name, json.loads(proc.stdout.strip().splitlines()[-1]), seconds, ""


def main(argv: list[str] | None = None) -> int:
    from .runner import default_vector_dir

    parser = argparse.ArgumentParser(prog="python -m parley.conformance.mutants")
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--vectors", type=Path, default=default_vector_dir())
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, default=Path("build/conformance/mutants.json"))
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(_run_in_process(args.run, args.vectors)))
        return 0
    names = args.names or list(MUTANTS)
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        parser.error(f"unknown mutants: {unknown}")
    start = time.perf_counter()
    run = functools.partial(_run_subprocess, vectors=args.vectors)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run, names))
    report, killed = {}, 0
    for name, failed, seconds, error in outcomes:
        doc = MUTANTS[name].__doc__.strip()
        if failed is None:
            print(f"ERROR    {name}: the mutant run crashed\n{error}")
            report[name] = {"status": "error", "description": doc}
            continue
        if failed:
            killed += 1
            shown = ", ".join(failed[:4]) + (
                f", ... (+{len(failed) - 4})" if len(failed) > 4 else ""
            )
            print(f"KILLED   {name} ({seconds:.1f} s) by {len(failed)} vector(s): {shown}")
        else:
            print(f"SURVIVED {name}: {doc}")
        report[name] = {
            "status": "killed" if failed else "survived",
            "description": doc,
            "killedBy": failed,
        }
    total = len(names)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"mutants: {killed}/{total} killed ({100 * killed / total:.0f}% kill rate) "
        f"in {time.perf_counter() - start:.1f} s; report {args.report}"
    )
    return 0 if killed == total else 1


if __name__ == "__main__":
    sys.exit(main())
