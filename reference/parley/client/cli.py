"""``parley``: the command-line client (one installation per home folder).

Each home folder (``--home``, or ``PARLEY_HOME``, default ``~/.parley``)
holds one installation: ``parley.db``, an SQLCipher file under your
passphrase, and ``config.json`` (the transport; nothing secret).
Installations on one machine talk through a shared mailbox folder
(``--mailbox``, or ``PARLEY_MAILBOX``; chosen at ``init``); installations on
different machines through a NATS relay (``--transport nats://HOST:PORT``,
or ``PARLEY_TRANSPORT``; saved at ``init``).

The passphrase comes from ``PARLEY_PASSPHRASE`` or is asked for.
``PARLEY_NOW`` (seconds since the Unix epoch) fixes the clock, for tests
and demonstrations only.

``--json`` (before or after the command) prints JSON Lines: one JSON object
per line, each with a ``type``; a list prints one object per item, a stream
(``inbox``, ``listen``) one per event as it comes. Bytes are hex; message
text is ``text``. Errors go to stderr as one line (with ``--json``, one
object of type ``error``), with the error's code; the exit status is 1 for
an error, 2 for a usage error. Nothing a user types or a file holds gives a
traceback: an unexpected failure is reported as ``INTERNAL_ERROR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from ..codec import decode_envelope
from ..errors import ParleyError
from ..profile import PROFILE_1
from ..safety_number import format_safety_number
from .account import Account, Contact
from .contact_code import (
    decode_contact_code,
    encode_contact_code,
    qr_terminal,
    read_qr_image,
    safety_number_qr,
    terminal_blocks,
    write_qr_png,
    write_qr_svg,
)
from .errors import AccountExists, ClientError, NoAccount, TransportError
from .events import (
    BundleRejected,
    BundleUpdated,
    Event,
    IdentityChanged,
    InstallationAdded,
    InstallationChanged,
    MessageBlocked,
    MessageReceived,
    MessageSynced,
    SessionReset,
    UndecryptableMessage,
)
from .home import HomeLock
from .receiver import receive_batch
from .transport import Delivery, MailboxTransport, Transport

DB_NAME = "parley.db"
CONFIG_NAME = "config.json"


class UsageError(ClientError):
    """The command line, the environment or config.json asks for something invalid."""

    code = "USAGE"


class InternalError(ClientError):
    """A failure the CLI did not foresee: reported in one line, never a traceback."""

    code = "INTERNAL_ERROR"


def _one_line(text: str) -> str:
    """``text`` with control characters and lone surrogates escaped: one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see --help)\n")


# -- output: text, or JSON Lines with --json -----------------------------------------

_JSON = False  # set by main() from --json


def emit(record: dict, text: str | None) -> None:
    """One result: a JSON object on one line with --json, else ``text`` (if any)."""
    if _JSON:
        print(json.dumps(record, sort_keys=True, ensure_ascii=False), flush=True)
    elif text is not None:
        print(text, flush=True)


def note(text: str) -> None:
    """A remark for people (a warning, a hint): stderr with --json, else stdout."""
    print(text, file=sys.stderr if _JSON else sys.stdout, flush=True)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def event_record(event: Event) -> dict:
    """An event as a JSON object: its fields, bytes in hex, ``plaintext`` as ``text``."""
    record: dict = {"type": _snake(type(event).__name__)}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if f.name.endswith("_envelope"):
            continue  # for the transport, not for people
        if f.name == "plaintext":
            record["text"] = _text(value)
        elif isinstance(value, bytes):
            record[f.name] = value.hex()
        else:
            record[f.name] = value
    return record


def contact_record(contact: Contact) -> dict:
    return {
        "type": "contact",
        "name": contact.name,
        "fingerprint": contact.fingerprint,
        "installations": [i.hex() for i in contact.installations],
        "verified": contact.verified,
        "blocked": contact.blocked,
        "pending": contact.pending,
        "replied": contact.replied,
        "bundle_timestamp": contact.bundle_timestamp,
    }


# -- checked input ---------------------------------------------------------------------


def _positive(kind: type, what: str, maximum: float | None = None):
    """An argparse type: a finite number above zero (and at most ``maximum``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{what} must be above zero, not {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{what} must be at most {maximum:g}, not {text!r}")
        return value

    return parse


def _utf8(value: str, what: str) -> str:
    """``value`` if it is valid Unicode text (arguments that were not UTF-8 hold
    lone surrogates, which cannot be stored or sent); else a UsageError."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8 text") from None
    return value


# -- plumbing ----------------------------------------------------------------------


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home or os.environ.get("PARLEY_HOME") or Path.home() / ".parley")


def _clock():
    fixed = os.environ.get("PARLEY_NOW")
    if fixed:
        try:
            value = int(fixed)
        except ValueError:
            raise UsageError("PARLEY_NOW must be a whole number of seconds") from None
        return lambda: value
    return lambda: int(time.time())


def _passphrase(confirm: bool = False) -> str:
    value = os.environ.get("PARLEY_PASSPHRASE")
    if value:
        return _utf8(value, "PARLEY_PASSPHRASE")
    if not sys.stdin.isatty():
        raise UsageError("no passphrase: set PARLEY_PASSPHRASE or run in a terminal")
    value = getpass.getpass("Passphrase: ")
    if confirm and getpass.getpass("Passphrase again: ") != value:
        raise UsageError("the passphrases differ")
    if not value:
        raise UsageError("the passphrase must not be empty")
    return _utf8(value, "the passphrase")


def _config_mailbox(home: Path) -> str | None:
    """The mailbox that config.json names; None if there is no config.json."""
    path = home / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    try:
        config = json.loads(text)
    except ValueError:
        raise UsageError(f"{path} is not valid JSON") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path} must hold a JSON object, not {type(config).__name__}")
    mailbox = config.get("mailbox")
    if mailbox is None:
        return None
    if not isinstance(mailbox, str) or not mailbox or "\x00" in mailbox:
        raise UsageError(f'"mailbox" in {path} must be the path of a folder (a string)')
    return mailbox


def _mailbox(args: argparse.Namespace, home: Path) -> MailboxTransport:
    chosen = (
        args.mailbox
        or os.environ.get("PARLEY_MAILBOX")
        or _config_mailbox(home)
        or str(Path.home() / ".parley-mailbox")
    )
    return MailboxTransport(chosen)


def _transport_url(args: argparse.Namespace, home: Path) -> str | None:
    """A transport URL (``nats://...``) from --transport, PARLEY_TRANSPORT or
    config.json; None: the mailbox folder."""
    chosen = args.transport or os.environ.get("PARLEY_TRANSPORT")
    if not chosen:
        try:
            chosen = json.loads((home / CONFIG_NAME).read_text()).get("transport")
        except (OSError, ValueError, AttributeError):
            chosen = None
    if chosen is not None and not isinstance(chosen, str):
        raise UsageError(f"{CONFIG_NAME}: transport must be a URL (a string)")
    if chosen and not chosen.startswith(("nats://", "tls://")):
        raise UsageError(f"unknown transport {chosen!r}: give nats://HOST:PORT (or tls://)")
    return chosen or None


#: Transports this process opened, closed when :func:`main` returns.
_TRANSPORTS: list[Transport] = []


def _transport(args: argparse.Namespace, home: Path) -> Transport:
    """The home's transport: a NATS relay if a URL is configured, else the mailbox."""
    url = _transport_url(args, home)
    if url is None:
        return _mailbox(args, home)
    from .nats_transport import NatsTransport  # the NATS client only when used

    transport = NatsTransport(url)
    _TRANSPORTS.append(transport)
    return transport


def _where(args: argparse.Namespace, transport: Transport | None) -> dict[str, str]:
    """Where a home's envelopes go, for display: the mailbox folder or the relay URL.

    A read-only command on a relay home has no transport open (None); the URL
    is read from the options and config.json, and shown without credentials.
    """
    if isinstance(transport, MailboxTransport):
        return {"mailbox": str(transport.root.resolve())}
    url = urlsplit(_transport_url(args, _home(args)) or "")
    host = url.hostname or ""
    shown = f"{url.scheme}://{host}" + (f":{url.port}" if url.port else "")  # no credentials
    return {"transport": shown}


def _save_config(args: argparse.Namespace, home: Path) -> Transport:
    url = _transport_url(args, home)
    if url is not None:
        transport = _transport(args, home)
        config = {"transport": url}
    else:
        transport = _mailbox(args, home)
        config = {"mailbox": str(transport.root.resolve())}
    (home / CONFIG_NAME).write_text(json.dumps(config) + "\n")
    return transport


#: Home locks this process holds, released when :func:`main` returns.
_LOCKS: dict[Path, HomeLock] = {}


def _lock(home: Path, *, daemon: bool = False) -> None:
    """Hold the home lock (see :mod:`parley.client.home`) until main returns."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = home.resolve()
    if key not in _LOCKS:
        _LOCKS[key] = HomeLock.acquire(home, daemon=daemon)


def _open(
    args: argparse.Namespace, *, changes: bool = True, daemon: bool = False
) -> tuple[Account, Transport]:
    """Open the home's installation; a command that ``changes`` it holds the lock."""
    home = _home(args)
    if changes and (home / DB_NAME).exists():
        _lock(home, daemon=daemon)
    if not (home / DB_NAME).exists():
        raise NoAccount(f"no account in {home} (run 'parley init' first)")
    relay = _transport_url(args, home)
    account = Account.open(home / DB_NAME, _passphrase(), clock=_clock())
    if not changes and relay is not None:
        return account, None  # type: ignore[return-value]  # a read-only command: no relay
    try:
        mailbox = _transport(args, home)
        mailbox.register(account.account_id, account.installation_id)
        if changes:
            _flush(account, mailbox)  # what an earlier run committed but did not deliver
    except BaseException:
        account.close()
        raise
    return account, mailbox


def _flush(account: Account, mailbox: Transport) -> int:
    """Deliver the outbox; a mailbox that fails now is tried again next time."""
    try:
        return len(account.flush_outbox(mailbox))
    except TransportError as exc:
        print(f"parley: warning: {exc.message}; the outbox is kept", file=sys.stderr)
        return 0


def _new_home(args: argparse.Namespace) -> Path:
    home = _home(args)
    if (home / DB_NAME).exists():
        raise AccountExists(f"an account already exists in {home}")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    _lock(home)
    if (home / DB_NAME).exists():  # created meanwhile by the process that held the lock
        raise AccountExists(f"an account already exists in {home}")
    return home


def short(value: bytes) -> str:
    return value.hex()[:8]


def _who(account: Account, key: bytes | None) -> str:
    if key is None:
        return "an unknown sender"
    if key == account.account_id:
        return "you"
    try:
        return account.contact(key).label
    except ClientError:
        return key.hex()[:16]


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _shown(data: bytes) -> str:
    """A peer's text for the terminal: one line, no control characters (a message
    cannot move the cursor, clear the screen or fake another line)."""
    return _one_line(_text(data))


def describe(account: Account, event: Event) -> str:
    """One line for an event."""
    match event:
        case MessageReceived():
            mark = "" if event.forward_secret else "  [NOT forward secret]"
            mark += "  (again)" if event.redelivered else ""
            who = _who(account, event.sender)
            where = f"  (installation {short(event.installation)})"
            return f"{who}: {_shown(event.plaintext)}{mark}{where}"
        case MessageSynced():
            return (
                f"you -> {_who(account, event.peer)}: {_shown(event.plaintext)}"
                f"  (sent from your installation {short(event.installation)})"
            )
        case InstallationAdded():
            return (
                f"+ new installation {short(event.installation)} of {_who(account, event.account)}"
            )
        case InstallationChanged():
            return (
                f"~ installation {short(event.installation)} of "
                f"{_who(account, event.account)} has new prekeys"
            )
        case BundleUpdated():
            return f"  bundle of {_who(account, event.account)} updated"
        case BundleRejected():
            return f"! a bundle of {_who(account, event.account)} was not used: {event.reason}"
        case UndecryptableMessage():
            tail = "; started a new session (reset)" if event.reset_envelope else ""
            where = f" ({short(event.installation)})" if event.installation else ""
            return (
                f"! could not decrypt a message from {_who(account, event.sender)}{where}: "
                f"{event.reason}{tail}"
            )
        case SessionReset():
            return (
                f"~ {_who(account, event.account)} ({short(event.installation)}) "
                "started a new session"
            )
        case MessageBlocked():
            return f"- a message from {_who(account, event.sender)} (blocked) was dropped"
        case IdentityChanged():
            lost = "; it is no longer marked verified" if event.was_verified else ""
            return (
                f"! the identity of {_who(account, event.account)} CHANGED{lost}: its messages "
                "are refused. Compare safety numbers (parley verify) before you trust it again"
            )
    return repr(event)  # pragma: no cover


def _process(
    account: Account,
    mailbox: Transport,
    quiet_bundles: bool = True,
    deliveries: list[Delivery] | None = None,
) -> int:
    """Receive ``deliveries``, or everything waiting, in batches (one commit
    each, then acknowledged); print it; return the number of messages."""
    count = 0

    def show(results: list[list[Event]]) -> None:
        nonlocal count
        for event in (e for events in results for e in events):
            if quiet_bundles and isinstance(event, BundleUpdated) and not _JSON:
                continue
            emit(event_record(event), describe(account, event))
            if isinstance(event, MessageReceived | MessageSynced):
                count += 1

    while True:
        batch = (
            deliveries if deliveries is not None else mailbox.fetch(account.installation_id, 100)
        )
        if not batch:
            return count
        # Committed, then the outbox flushed (resets, replies), then acknowledged.
        receive_batch(account, mailbox, batch, on_commit=show)
        if deliveries is not None:
            return count


# -- commands ----------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    home = _new_home(args)
    account = Account.create(home / DB_NAME, _passphrase(confirm=True), clock=_clock())
    with account:
        mailbox = _save_config(args, home)
        mailbox.register(account.account_id, account.installation_id)
        emit(
            {
                "type": "account",
                "fingerprint": account.fingerprint,
                "installation": account.installation_id.hex(),
                "home": str(home),
                **_where(args, mailbox),
            },
            f"account      {account.fingerprint}\n"
            f"installation {account.installation_id.hex()}\n"
            f"home         {home}",
        )
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    account, mailbox = _open(args, changes=False)
    with account:
        code = account.contact_code()
        record = {
            "type": "account",
            "fingerprint": account.fingerprint,
            "installation": account.installation_id.hex(),
            "contact_code": code,
            "home": str(_home(args)),
            **_where(args, mailbox),
            "installations": len(account.installations()),
            "contacts": len(account.contacts()),
        }
    emit(
        record,
        f"account       {record['fingerprint']}\n"
        f"installation  {record['installation']} (1 of {record['installations']})\n"
        f"contact code  {code}\n"
        f"home          {record['home']}\n"
        + "".join(f"{key:<14}{value}" for key, value in _where(args, mailbox).items()),
    )
    return 0


def cmd_code(args: argparse.Namespace) -> int:
    account, _ = _open(args, changes=False)
    with account:
        code = account.contact_code()
    record = {"type": "contact_code", "code": code}
    if args.png:
        write_qr_png(code, args.png, scale=args.scale)
        note(f"QR code written to {args.png}")
        record["png"] = args.png
    if args.svg:
        write_qr_svg(code, args.svg, scale=args.scale)
        note(f"QR code written to {args.svg}")
        record["svg"] = args.svg
    if args.qr and not _JSON:
        print(qr_terminal(code))
    show = not (args.png or args.svg or args.qr) or args.text
    emit(record, code if show else None)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    source = _utf8(args.code, "the contact code")
    name = _utf8(args.name, "--name") if args.name is not None else None
    code = source
    if not source.strip().lower().startswith("parley1:"):
        if not Path(source).is_file():
            raise UsageError("give a contact code (parley1:...) or the path of a QR image")
        code = read_qr_image(source)
    bundle = decode_contact_code(code)
    account, _ = _open(args)
    with account:
        # the library leaves a known contact as it is (and refuses a changed identity)
        added = account.add_contact(bundle, name)
        contact, known = added.contact, added.known
        if known and not (args.rename and name not in (None, contact.name)):
            hint = (
                f" (add --rename to call it {name!r})"
                if name is not None and name != contact.name
                else ""
            )
            emit(
                {**contact_record(contact), "type": "contact_known", "changed": False},
                f"{contact.label} ({contact.fingerprint[:16]}) is already a contact: "
                f"nothing changed{hint}",
            )
            return 0
        if known:  # --rename: the new name and the code's bundle, in one transaction
            contact = account.add_contact(bundle, name, update=True).contact
        verb = "renamed" if known else "added"
        emit(
            {**contact_record(contact), "type": f"contact_{verb}"},
            f"{verb} {contact.label} ({contact.fingerprint[:16]})",
        )
        if not contact.installations:
            note(
                "  its bundle is too old: the first message will NOT be forward secret, "
                "until it replies"
            )
        elif not known:
            note(f"  installations: {', '.join(short(i) for i in contact.installations)}")
    return 0


def _contact_line(contact: Contact) -> str:
    marks = [m for m, on in (("verified", contact.verified), ("BLOCKED", contact.blocked)) if on]
    return (
        f"{contact.name or '-':20} {contact.fingerprint[:16]}  "
        f"installations: {len(contact.installations)}"
        + (f"  [{', '.join(marks)}]" if marks else "")
    )


def cmd_contacts(args: argparse.Namespace) -> int:
    action = args.action or "list"
    if action == "list":
        if args.contact or args.new_name:
            raise UsageError("contacts list takes no contact (see parley contacts --help)")
        account, _ = _open(args, changes=False)
        with account:
            for contact in account.contacts():
                emit(contact_record(contact), _contact_line(contact))
        return 0
    if not args.contact:
        raise UsageError(f"contacts {action} needs a contact (name or fingerprint)")
    who = _utf8(args.contact, "the contact")
    if action == "rename":
        if not args.new_name:
            raise UsageError("contacts rename needs the new name: contacts rename OLD NEW")
        new_name = _utf8(args.new_name, "the new name").strip()
        if not new_name or len(new_name) > 64 or any(ch in new_name for ch in "\n\r\t\x00"):
            raise UsageError("a contact name is 1 to 64 characters on one line")
    elif args.new_name:
        raise UsageError(f"contacts {action} takes one contact")
    account, _ = _open(args)
    with account:
        contact = account.contact(who)
        if action == "rename":
            contact = account.rename_contact(contact, new_name)
            text = f"renamed {contact.fingerprint[:16]} to {contact.name}"
        elif action == "remove":
            account.remove_contact(contact)
            text = f"removed {contact.label} ({contact.fingerprint[:16]}) and its messages"
        else:
            contact = account.block_contact(contact, action == "block")
            text = (
                f"blocked {contact.label}: its messages are dropped, none are sent"
                if action == "block"
                else f"unblocked {contact.label}"
            )
        done = {
            "rename": "renamed",
            "remove": "removed",
            "block": "blocked",
            "unblock": "unblocked",
        }
        emit({**contact_record(contact), "type": f"contact_{done[action]}"}, text)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    who = _utf8(args.contact, "the contact")
    account, _ = _open(args, changes=args.mark_verified or args.unmark)
    with account:
        contact = account.contact(who)
        number = account.safety_number(contact)
        if args.mark_verified or args.unmark:
            contact = account.mark_verified(contact, verified=not args.unmark)
    record = {
        "type": "safety_number",
        "contact": contact.name,
        "fingerprint": contact.fingerprint,
        "safety_number": number,
        "verified": contact.verified,
    }
    if args.png:
        safety_number_qr(number).save(args.png, kind="png", scale=args.scale, border=4)
        record["png"] = args.png
    if _JSON:
        emit(record, None)
        return 0
    print(f"safety number with {contact.label} ({contact.fingerprint[:16]}):\n")
    print(format_safety_number(number))
    if args.qr:
        print()
        print(terminal_blocks(safety_number_qr(number)))
    if args.png:
        print(f"\nQR code written to {args.png}")
    print()
    if args.mark_verified:
        print(f"{contact.label} is marked verified (until its identity changes)")
    elif args.unmark:
        print(f"{contact.label} is no longer marked verified")
    elif contact.verified:
        print(f"{contact.label} is marked verified")
    else:
        print(
            "compare these digits with the ones your contact sees, in person or on a call; "
            "if they match: parley verify "
            + (contact.name or contact.fingerprint[:16])
            + " --mark-verified"
        )
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    text = " ".join(_utf8(m, "the message") for m in args.message)
    if text == "-":
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("the message on stdin is not UTF-8 text") from None
    who = _utf8(args.contact, "the contact")
    account, mailbox = _open(args)
    with account:
        contact = account.contact(who)
        envelope = account.send(contact, text.encode("utf-8"))  # committed in the outbox
        try:
            delivered = account.flush_outbox(mailbox)
            targets = next((t for e, t in delivered if e.envelope == envelope), set())
        except TransportError as exc:
            if any(e.envelope == envelope for e in account.outbox()):
                raise TransportError(
                    f"{exc.message}; the message is kept in the outbox and goes out on the next run"
                ) from None
            # this message went out; an older one, to another contact, is held back
            print(
                f"parley: warning: {exc.message}; older messages wait in the outbox",
                file=sys.stderr,
            )
            targets = mailbox.recipients(envelope, contact.account)
        copies = decode_envelope(envelope).messages
        ratchet = {c.recipient_installation_id for c in copies if c.kind == "ratchet"}
        no_bundle = any(c.kind == "no_bundle" for c in copies)
        missed = [i for i in contact.installations if i not in ratchet]
        relay_only = not targets and mailbox.addresses_accounts and not contact.installations
    plural = "" if len(targets) == 1 else "s"
    emit(
        {
            "type": "sent",
            "contact": contact.name,
            "fingerprint": contact.fingerprint,
            "delivered_installations": len(targets),
            "forward_secret": not no_bundle,
            "installations_without_copy": [i.hex() for i in missed] if ratchet else [],
        },
        f"sent to {contact.label} (to its account on the relay: no installation known)"
        if relay_only
        else f"sent to {contact.label} ({len(targets)} installation{plural})",
    )
    if no_bundle:
        print(
            f"parley: warning: this message to {contact.label} is NOT forward secret: no usable "
            "bundle of it is known (its code is too old); its reply starts a forward-secret "
            "session",
            file=sys.stderr,
        )
    elif missed:
        print(
            f"parley: warning: {len(missed)} installation(s) of {contact.label} got no copy "
            f"(no usable bundle): {', '.join(short(i) for i in missed)}",
            file=sys.stderr,
        )
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    account, mailbox = _open(args)
    with account:
        count = _process(account, mailbox, quiet_bundles=not args.verbose)
        if count == 0 and not args.quiet and not _JSON:
            print("no new messages")
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    account, mailbox = _open(args, daemon=True)
    mailbox.poll_interval = args.interval  # a mailbox folder is looked at; a relay tells
    deadline = time.monotonic() + args.timeout if args.timeout else None
    total = 0
    with account:
        if not _JSON:
            print(f"listening as installation {short(account.installation_id)} (Ctrl-C to stop)")
        while True:
            _flush(account, mailbox)
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            got = mailbox.wait(account.installation_id, limit=100, timeout=wait)
            if got:
                total += _process(account, mailbox, not args.verbose, deliveries=got)
            if args.count and total >= args.count:
                return 0
            if deadline is not None and time.monotonic() > deadline:
                return 0


def cmd_history(args: argparse.Namespace) -> int:
    who = _utf8(args.contact, "the contact") if args.contact else None
    account, _ = _open(args, changes=False)
    with account:
        for entry in account.history(who, limit=args.limit):
            arrow = "->" if entry.direction == "out" else "<-"
            who_name = _who(account, entry.account)
            mark = "" if entry.forward_secret else "  [NOT forward secret]"
            stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.at))
            emit(
                {
                    "type": "message",
                    "direction": entry.direction,
                    "account": entry.account.hex(),
                    "name": None if who_name == entry.account.hex()[:16] else who_name,
                    "installation": entry.installation.hex(),
                    "message_id": entry.message_id.hex(),
                    "at": entry.at,
                    "text": _text(entry.body),
                    "forward_secret": entry.forward_secret,
                },
                f"{stamp} {arrow} {who_name}: {_shown(entry.body)}{mark}",
            )
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    if args.action == "link":
        return _link(args, restore=False)
    account, _ = _open(args, changes=args.action != "list")
    with account:
        if args.action == "list":
            for inst in account.installations():
                mark = "this installation" if inst.current else ""
                emit(
                    {
                        "type": "installation",
                        "installation": inst.installation_id.hex(),
                        "current": inst.current,
                        "prekey_id": inst.prekey_id,
                        "first_seen": inst.first_seen,
                    },
                    f"{inst.installation_id.hex()}  {mark}",
                )
            return 0
        # add: export a link payload for a new installation of this account
        if not args.out:
            raise UsageError("devices add needs --out FILE")
        _write_secret(Path(args.out), account.export_link())
        emit({"type": "link_payload", "file": args.out}, f"link payload written to {args.out}")
        note(
            "  it holds this account's PRIVATE identity key: carry it to the new device "
            "over a trusted channel only, then delete it"
        )
        note(f"  on the new device: parley --home NEWHOME devices link {args.out}")
    return 0


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _link(args: argparse.Namespace, restore: bool) -> int:
    if not args.file:
        raise UsageError("give the payload file")
    payload = Path(args.file).read_bytes()
    home = _new_home(args)
    account = Account.from_link(home / DB_NAME, _passphrase(confirm=True), payload, clock=_clock())
    with account:
        mailbox = _save_config(args, home)
        mailbox.register(account.account_id, account.installation_id)
        account.announce()  # a HELLO to the other installations, in the outbox
        _flush(account, mailbox)
        verb = "restored" if restore else "linked"
        emit(
            {
                "type": verb,
                "fingerprint": account.fingerprint,
                "installation": account.installation_id.hex(),
                "contacts": len(account.contacts()),
            },
            f"{verb} installation {account.installation_id.hex()} of {account.fingerprint}\n"
            f"  contacts: {len(account.contacts())}",
        )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    account, _ = _open(args)
    with account:
        _write_secret(Path(args.out), account.export_link(restore=True))
    emit(
        {"type": "backup", "file": args.out},
        f"backup written to {args.out} (it holds the PRIVATE identity key: keep it safe)",
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    return _link(args, restore=True)


def cmd_export_bundle(args: argparse.Namespace) -> int:
    account, _ = _open(args, changes=False)
    with account:
        bundle = account.bundle()
    raw = bundle.to_bytes()
    record = {"type": "bundle", "bytes": len(raw), "timestamp": bundle.timestamp}
    if args.out:
        Path(args.out).write_bytes(raw)
        emit(
            {**record, "file": args.out},
            f"bundle ({len(raw)} bytes, parley.v1.Bundle) written to {args.out}",
        )
    else:
        emit(
            {**record, "bundle": raw.hex(), "contact_code": encode_contact_code(bundle)},
            encode_contact_code(bundle) if args.code else raw.hex(),
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    # gRPC's own log lines on stderr would come beside the daemon's one-line errors
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    from .server import check_serve_options, serve

    home = _home(args)
    if home.is_dir():
        _lock(home, daemon=True)  # a running daemon is reported first: "home in use by pid N"
    check_serve_options(  # every option checked before the account is created
        socket_path=None if args.listen else Path(args.socket or home / "api.sock"),
        listen=args.listen,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        poll_interval=args.interval,
        socket_folder_made_later=args.socket is None,
        token_file=Path(args.token_file or home / "api.token"),
    )
    _lock(home, daemon=True)  # before the token and the socket are touched
    if not (home / DB_NAME).exists():
        cmd_init(args)  # no set-up needed: the first start creates the account
    passphrase = _passphrase()
    mailbox = _transport(args, home)
    mailbox.poll_interval = args.interval
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return serve(
        lambda: Account.open(home / DB_NAME, passphrase, clock=_clock()),
        mailbox,
        socket_path=None if args.listen else Path(args.socket or home / "api.sock"),
        listen=args.listen,
        token_file=Path(args.token_file or home / "api.token"),
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        poll_interval=args.interval,
        ready=lambda line: print(line, flush=True),
        stop=stop,
    )


# -- the parser --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="parley",
        description="Forward-secret 1:1 messages with no server (Parley).",
        epilog=(
            "environment: PARLEY_HOME (home folder), PARLEY_MAILBOX (mailbox folder), "
            "PARLEY_TRANSPORT (a nats:// relay), "
            "PARLEY_PASSPHRASE (else asked), PARLEY_NOW (fixed clock, tests only). "
            "--json prints one JSON object per line."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"parley {__version__} (protocol version 1, profile {PROFILE_1.id})",
        help="show the version and exit",
    )
    parser.add_argument(
        "--home",
        help="this installation's folder (default: $PARLEY_HOME, else ~/.parley)",
    )
    parser.add_argument(
        "--mailbox",
        help="the mailbox folder shared on this machine (default: $PARLEY_MAILBOX, else the "
        "one chosen at init, in HOME/config.json, else ~/.parley-mailbox)",
    )
    parser.add_argument(
        "--transport",
        metavar="URL",
        help="a NATS relay instead of the mailbox: nats://HOST:PORT[,HOST:PORT...] "
        "or tls://... (saved by init and devices link; also PARLEY_TRANSPORT; "
        "default: the mailbox folder)",
    )
    json_help = "print JSON Lines: one object per line (default: text for people)"
    parser.add_argument("--json", action="store_true", help=json_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name: str, func, help: str, **kw) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=kw.pop("description", help), **kw)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
        p.set_defaults(func=func)
        return p

    command("init", cmd_init, "create an account and its first installation")
    command(
        "whoami",
        cmd_whoami,
        "show this account: fingerprint, installation, contact code",
    )

    p = command("code", cmd_code, "show this account's contact code (text, QR)")
    p.add_argument("--qr", action="store_true", help="draw the QR code in the terminal")
    p.add_argument("--png", metavar="FILE", help="write the QR code as a PNG image (default: none)")
    p.add_argument(
        "--svg", metavar="FILE", help="write the QR code as an SVG image (default: none)"
    )
    p.add_argument("--text", action="store_true", help="also print the text code")
    p.add_argument(
        "--scale",
        type=_positive(int, "--scale", 100),
        default=4,
        help="pixels per QR module, at most 100 (default: 4)",
    )

    p = command(
        "add",
        cmd_add,
        "add a contact from its code or a QR image",
        description=(
            "Add a contact from its code or a QR image. A code of a known contact changes "
            "nothing and says so; with --rename and --name, it renames the contact."
        ),
    )
    p.add_argument("code", help="a contact code (parley1:...) or a QR image file")
    p.add_argument("--name", help="what to call the contact (default: unnamed, by fingerprint)")
    p.add_argument("--rename", action="store_true", help="a known contact: give it --name instead")

    p = command(
        "contacts",
        cmd_contacts,
        "list contacts; rename, remove, block or unblock one",
        description=(
            "list: every contact. rename CONTACT NEW: call it NEW. remove CONTACT: forget it "
            "(its name, bundle, installations, sessions and messages). block CONTACT: "
            "drop its messages and send it none; unblock CONTACT: undo."
        ),
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["list", "rename", "remove", "block", "unblock"],
        help="what to do (default: list)",
    )
    p.add_argument("contact", nargs="?", help="the contact's name or fingerprint")
    p.add_argument("new_name", nargs="?", help="rename: the new name")

    p = command(
        "verify",
        cmd_verify,
        "show the safety number to compare with a contact; mark it verified",
        description=(
            "Show the 60-digit safety number of this account and CONTACT (spec KEYS-007): "
            "both of you see the same digits. Compare them in person or on a call; if they "
            "match, --mark-verified stores that you did. The mark holds until the contact's "
            "identity changes."
        ),
    )
    p.add_argument("contact", help="the contact's name or fingerprint")
    p.add_argument("--qr", action="store_true", help="also draw the number as a QR code")
    p.add_argument("--png", metavar="FILE", help="write the QR code as a PNG image (default: none)")
    p.add_argument(
        "--scale",
        type=_positive(int, "--scale", 100),
        default=4,
        help="pixels per QR module of --png, at most 100 (default: 4)",
    )
    marks = p.add_mutually_exclusive_group()
    marks.add_argument(
        "--mark-verified", action="store_true", help="store that the numbers matched"
    )
    marks.add_argument("--unmark", action="store_true", help="clear the verified mark")

    p = command("send", cmd_send, "send a message ('-' reads it from stdin)")
    p.add_argument("contact", help="a contact's name or fingerprint")
    p.add_argument("message", nargs="+", help="the message text, or - to read it from stdin")

    for name, func, text in (
        ("inbox", cmd_inbox, "receive and show waiting messages, then exit"),
        ("listen", cmd_listen, "receive and show messages as they come"),
    ):
        p = command(name, func, text)
        p.add_argument("-v", "--verbose", action="store_true", help="show bundle updates too")
        if name == "inbox":
            p.add_argument("-q", "--quiet", action="store_true", help="no 'no new messages'")
        else:
            p.add_argument(
                "--interval",
                type=_positive(float, "--interval", 3600),
                default=0.2,
                help="seconds between looks at a mailbox folder (a relay pushes), at most 3600 "
                "(default: 0.2)",
            )
            p.add_argument(
                "--timeout",
                type=_positive(float, "--timeout"),
                help="stop after this many seconds (default: run until Ctrl-C)",
            )
            p.add_argument(
                "--count",
                type=_positive(int, "--count"),
                help="stop after this many messages (default: run until Ctrl-C)",
            )

    p = command("history", cmd_history, "show stored messages")
    p.add_argument("contact", nargs="?", help="only this contact (default: every contact)")
    p.add_argument(
        "--limit",
        type=_positive(int, "--limit", 1_000_000),
        default=50,
        help="show the newest this many messages, at most 1000000 (default: 50)",
    )

    p = command(
        "devices",
        cmd_devices,
        "this account's installations: list, add (export a link), link (import it)",
        description=(
            "list: the installations this one knows. add --out FILE: write a link payload "
            "for a new installation. link FILE: create this home's installation from a "
            "payload. The payload holds the PRIVATE identity key: carry it over a trusted "
            "channel only."
        ),
    )
    p.add_argument("action", choices=["list", "add", "link"], help="what to do")
    p.add_argument("file", nargs="?", help="link: the payload file")
    p.add_argument("--out", help="add: where to write the payload (required for add)")

    p = command("backup", cmd_backup, "write a backup to restore this installation elsewhere")
    p.add_argument("--out", required=True, help="the backup file to write (required; mode 0600)")

    p = command("restore", cmd_restore, "restore an installation from a backup into --home")
    p.add_argument("file", help="the backup file (from parley backup)")

    p = command("export-bundle", cmd_export_bundle, "write this account's signed bundle")
    p.add_argument("--out", help="file for the bundle bytes (default: hex on stdout)")
    p.add_argument("--code", action="store_true", help="print it as a contact code")

    p = command(
        "serve",
        cmd_serve,
        "serve the gRPC API (parley.api.v1.ParleyService) for bots and apps",
        description=(
            "Serve this installation over gRPC on a Unix socket (default HOME/api.sock) or "
            "a loopback address (--listen 127.0.0.1:PORT). Every call needs the metadata "
            "'authorization: Bearer TOKEN'; the token is written to --token-file (mode 0600). "
            "Creates the account on first start."
        ),
    )
    p.add_argument("--socket", help="Unix socket path (default: HOME/api.sock)")
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="TCP instead: loopback unless TLS (default: the Unix socket)",
    )
    p.add_argument("--token-file", help="where to write the token (default: HOME/api.token)")
    p.add_argument(
        "--tls-cert", help="PEM certificate: TLS, for a non-loopback --listen (default: none)"
    )
    p.add_argument("--tls-key", help="PEM private key of --tls-cert (default: none)")
    p.add_argument(
        "--interval",
        type=float,  # its range is checked with the other serve options (INVALID_ARGUMENT)
        default=0.2,
        help="mailbox folder poll interval, seconds (a relay pushes) (default: 0.2)",
    )
    return parser


def _error(code: str, message: str) -> int:
    """Report an error in one line on stderr; the exit status is 1."""
    message = _one_line(message)
    if _JSON:
        line = json.dumps({"type": "error", "code": code, "message": message}, sort_keys=True)
        print(line, file=sys.stderr, flush=True)
    else:
        print(f"parley: error: {message} [{code}]", file=sys.stderr, flush=True)
    return 1


def main(argv: list[str] | None = None) -> int:
    global _JSON
    for stream in (sys.stdout, sys.stderr):  # a name or path that is not UTF-8 still prints
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    _JSON = bool(args.json)
    try:
        return _run(args)
    except ParleyError as exc:
        return _error(exc.code, exc.message)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _error("OS_ERROR", f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the catch-all: one typed line, never a traceback
        if os.environ.get("PARLEY_DEBUG"):
            raise
        return _error(
            InternalError.code,
            f"unexpected {type(exc).__name__}, a fault in parley "
            "(PARLEY_DEBUG=1 shows the traceback)",
        )


def _run(args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    finally:
        while _TRANSPORTS:
            _TRANSPORTS.pop().close()
        while _LOCKS:
            _LOCKS.popitem()[1].release()


if __name__ == "__main__":
    sys.exit(main())
