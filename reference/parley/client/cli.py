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
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path

from ..errors import ParleyError
from .account import Account
from .contact_code import (
    encode_contact_code,
    qr_terminal,
    read_qr_image,
    write_qr_png,
    write_qr_svg,
)
from .errors import AccountExists, ClientError, NoAccount, TransportError
from .events import (
    BundleRejected,
    BundleUpdated,
    Event,
    InstallationAdded,
    InstallationChanged,
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
    code = "USAGE"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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
        return value
    if not sys.stdin.isatty():
        raise UsageError("no passphrase: set PARLEY_PASSPHRASE or run in a terminal")
    value = getpass.getpass("Passphrase: ")
    if confirm and getpass.getpass("Passphrase again: ") != value:
        raise UsageError("the passphrases differ")
    if not value:
        raise UsageError("the passphrase must not be empty")
    return value


def _mailbox(args: argparse.Namespace, home: Path) -> MailboxTransport:
    chosen = args.mailbox or os.environ.get("PARLEY_MAILBOX")
    if not chosen:
        try:
            chosen = json.loads((home / CONFIG_NAME).read_text())["mailbox"]
        except (OSError, ValueError, KeyError):
            chosen = str(Path.home() / ".parley-mailbox")
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


def describe(account: Account, event: Event) -> str:
    """One line for an event."""
    match event:
        case MessageReceived():
            mark = "" if event.forward_secret else "  [NOT forward secret]"
            mark += "  (again)" if event.redelivered else ""
            who = _who(account, event.sender)
            return (
                f"{who}: {_text(event.plaintext)}{mark}  (installation {short(event.installation)})"
            )
        case MessageSynced():
            return (
                f"you -> {_who(account, event.peer)}: {_text(event.plaintext)}"
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
            if quiet_bundles and isinstance(event, BundleUpdated):
                continue
            print(describe(account, event), flush=True)
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
        print(f"account      {account.fingerprint}")
        print(f"installation {account.installation_id.hex()}")
        print(f"home         {home}")
    return 0


def cmd_code(args: argparse.Namespace) -> int:
    account, _ = _open(args, changes=False)
    with account:
        code = account.contact_code()
    if args.png:
        write_qr_png(code, args.png, scale=args.scale)
        print(f"QR code written to {args.png}")
    if args.svg:
        write_qr_svg(code, args.svg, scale=args.scale)
        print(f"QR code written to {args.svg}")
    if args.qr:
        print(qr_terminal(code))
    if not (args.png or args.svg or args.qr) or args.text:
        print(code)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    source = args.code
    code = source
    if not source.strip().lower().startswith("parley1:"):
        if not Path(source).is_file():
            raise UsageError("give a contact code (parley1:...) or the path of a QR image")
        code = read_qr_image(source)
    account, _ = _open(args)
    with account:
        contact, _events = account.add_contact(code, args.name)
        print(f"added {contact.label} ({contact.fingerprint[:16]})")
        if not contact.installations:
            print(
                "  its bundle is too old: the first message will NOT be forward secret, "
                "until it replies"
            )
        else:
            print(f"  installations: {', '.join(short(i) for i in contact.installations)}")
    return 0


def cmd_contacts(args: argparse.Namespace) -> int:
    account, _ = _open(args, changes=False)
    with account:
        for contact in account.contacts():
            print(
                f"{contact.label:20} {contact.fingerprint[:16]}  "
                f"installations: {len(contact.installations)}"
            )
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    text = " ".join(args.message)
    if text == "-":
        text = sys.stdin.read()
    account, mailbox = _open(args)
    with account:
        contact = account.contact(args.contact)
        envelope = account.send(contact, text.encode())  # committed in the outbox
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
        plural = "" if len(targets) == 1 else "s"
        if not targets and mailbox.addresses_accounts and not contact.installations:
            print(f"sent to {contact.label} (to its account on the relay: no installation known)")
        else:
            print(f"sent to {contact.label} ({len(targets)} installation{plural})")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    account, mailbox = _open(args)
    with account:
        count = _process(account, mailbox, quiet_bundles=not args.verbose)
        if count == 0 and not args.quiet:
            print("no new messages")
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    account, mailbox = _open(args, daemon=True)
    mailbox.poll_interval = args.interval  # a mailbox folder is looked at; a relay tells
    deadline = time.monotonic() + args.timeout if args.timeout else None
    total = 0
    with account:
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
    account, _ = _open(args, changes=False)
    with account:
        for entry in account.history(args.contact, limit=args.limit):
            arrow = "->" if entry.direction == "out" else "<-"
            who = _who(account, entry.account)
            mark = "" if entry.forward_secret else "  [NOT forward secret]"
            stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.at))
            print(f"{stamp} {arrow} {who}: {_text(entry.body)}{mark}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    if args.action == "link":
        return _link(args, restore=False)
    account, _ = _open(args, changes=args.action != "list")
    with account:
        if args.action == "list":
            for inst in account.installations():
                mark = "this installation" if inst.current else ""
                print(f"{inst.installation_id.hex()}  {mark}")
            return 0
        # add: export a link payload for a new installation of this account
        if not args.out:
            raise UsageError("devices add needs --out FILE")
        _write_secret(Path(args.out), account.export_link())
        print(f"link payload written to {args.out}")
        print(
            "  it holds this account's PRIVATE identity key: carry it to the new device "
            "over a trusted channel only, then delete it"
        )
        print(f"  on the new device: parley --home NEWHOME devices link {args.out}")
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
        print(f"{verb} installation {account.installation_id.hex()} of {account.fingerprint}")
        print(f"  contacts: {len(account.contacts())}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    account, _ = _open(args)
    with account:
        _write_secret(Path(args.out), account.export_link(restore=True))
    print(f"backup written to {args.out} (it holds the PRIVATE identity key: keep it safe)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    return _link(args, restore=True)


def cmd_export_bundle(args: argparse.Namespace) -> int:
    account, _ = _open(args, changes=False)
    with account:
        bundle = account.bundle()
    if args.out:
        Path(args.out).write_bytes(bundle.to_bytes())
        print(f"bundle ({len(bundle.to_bytes())} bytes, parley.v1.Bundle) written to {args.out}")
    else:
        print(encode_contact_code(bundle) if args.code else bundle.to_bytes().hex())
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
            "PARLEY_PASSPHRASE (else asked), PARLEY_NOW (fixed clock, tests only)"
        ),
    )
    parser.add_argument("--home", help="this installation's folder (default ~/.parley)")
    parser.add_argument("--mailbox", help="the mailbox folder shared on this machine")
    parser.add_argument(
        "--transport",
        metavar="URL",
        help="a NATS relay instead of the mailbox: nats://HOST:PORT[,HOST:PORT...] "
        "or tls://... "
        "(saved by init and devices link; also PARLEY_TRANSPORT)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("init", help="create an account and its first installation")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("code", help="show this account's contact code (text, QR)")
    p.add_argument("--qr", action="store_true", help="draw the QR code in the terminal")
    p.add_argument("--png", metavar="FILE", help="write the QR code as a PNG image")
    p.add_argument("--svg", metavar="FILE", help="write the QR code as an SVG image")
    p.add_argument("--text", action="store_true", help="also print the text code")
    p.add_argument("--scale", type=int, default=4, help="pixels per QR module (default 4)")
    p.set_defaults(func=cmd_code)

    p = sub.add_parser("add", help="add a contact from its code or a QR image")
    p.add_argument("code", help="a contact code (parley1:...) or a QR image file")
    p.add_argument("--name", help="what to call the contact")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("contacts", help="list contacts")
    p.set_defaults(func=cmd_contacts)

    p = sub.add_parser("send", help="send a message ('-' reads it from stdin)")
    p.add_argument("contact", help="a contact's name or fingerprint")
    p.add_argument("message", nargs="+", help="the message text")
    p.set_defaults(func=cmd_send)

    for name, func, text in (
        ("inbox", cmd_inbox, "receive and show waiting messages, then exit"),
        ("listen", cmd_listen, "receive and show messages as they come"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("-v", "--verbose", action="store_true", help="show bundle updates too")
        if name == "inbox":
            p.add_argument("-q", "--quiet", action="store_true", help="no 'no new messages'")
        else:
            p.add_argument(
                "--interval",
                type=float,
                default=0.2,
                help="seconds between looks at a mailbox folder (a relay pushes)",
            )
            p.add_argument("--timeout", type=float, help="stop after this many seconds")
            p.add_argument("--count", type=int, help="stop after this many messages")
        p.set_defaults(func=func)

    p = sub.add_parser("history", help="show stored messages")
    p.add_argument("contact", nargs="?", help="only this contact")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "devices",
        help="this account's installations: list, add (export a link), link (import it)",
        description=(
            "list: the installations this one knows. add --out FILE: write a link payload "
            "for a new installation. link FILE: create this home's installation from a "
            "payload. The payload holds the PRIVATE identity key: carry it over a trusted "
            "channel only."
        ),
    )
    p.add_argument("action", choices=["list", "add", "link"])
    p.add_argument("file", nargs="?", help="link: the payload file")
    p.add_argument("--out", help="add: where to write the payload")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("backup", help="write a backup to restore this installation elsewhere")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore an installation from a backup into --home")
    p.add_argument("file")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("export-bundle", help="write this account's signed bundle")
    p.add_argument("--out", help="file for the bundle bytes (default: hex on stdout)")
    p.add_argument("--code", action="store_true", help="print it as a contact code")
    p.set_defaults(func=cmd_export_bundle)

    p = sub.add_parser(
        "serve",
        help="serve the gRPC API (parley.api.v1.ParleyService) for bots and apps",
        description=(
            "Serve this installation over gRPC on a Unix socket (default HOME/api.sock) or "
            "a loopback address (--listen 127.0.0.1:PORT). Every call needs the metadata "
            "'authorization: Bearer TOKEN'; the token is written to --token-file (mode 0600). "
            "Creates the account on first start."
        ),
    )
    p.add_argument("--socket", help="Unix socket path (default HOME/api.sock)")
    p.add_argument("--listen", metavar="HOST:PORT", help="TCP instead: loopback unless TLS")
    p.add_argument("--token-file", help="where to write the token (default HOME/api.token)")
    p.add_argument("--tls-cert", help="PEM certificate: TLS, for a non-loopback --listen")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument(
        "--interval",
        type=float,
        default=0.2,
        help="mailbox folder poll interval, seconds (a relay pushes)",
    )
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ParleyError as exc:
        print(f"parley: error: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"parley: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


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
