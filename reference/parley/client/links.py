"""Devices and links: the payload that joins (or restores) an installation.

A link payload holds the identity PRIVATE key, the account's bundles and its
contacts. :func:`export_link` writes it from a running installation;
:func:`parse_link` reads it back, and :func:`import_link` fills the new
installation's store from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..bundle import Bundle
from ..errors import ParleyError, RemoteError
from ..keys import IdentityKey, IdentityKeyPair
from ..state import dump_identity, load_identity
from .errors import InvalidLinkPayload
from .stores import Stores

__all__ = ["LINK_MAGIC", "LinkPayload", "export_link", "import_link", "parse_link"]

LINK_MAGIC = b"parley-link-1\n"


@dataclass(frozen=True, slots=True)
class LinkPayload:
    identity: IdentityKeyPair = field(repr=False)
    installation_id: bytes | None  # set for a restore: the installation it restores
    bundles: list[Bundle]  # the account's last own bundle first, then its siblings'
    contacts: list[tuple[str | None, IdentityKey, Bundle | None]]


def export_link(st: Stores, now: int, *, restore: bool) -> bytes:
    own = st.own_bundle(now)
    siblings = [b.hex() for _i, b, _pk, _fs in st.directory.sibling_rows() if b is not None]
    contacts = [
        {
            "name": row.name,
            "identity": row.identity.hex(),
            "bundle": row.bundle.hex() if row.bundle else None,
        }
        for row in st.directory.contact_rows()
    ]
    body = {
        "kind": "restore" if restore else "link",
        "identity": dump_identity(st.local.identity).hex(),
        "installation_id": st.installation_id.hex() if restore else None,
        "own_bundle": own.to_bytes().hex(),
        "siblings": siblings,
        "contacts": contacts,
    }
    return LINK_MAGIC + json.dumps(body, sort_keys=True).encode()


def parse_link(payload: bytes) -> LinkPayload:
    try:
        if not payload.startswith(LINK_MAGIC):
            raise ValueError
        body = json.loads(payload[len(LINK_MAGIC) :])
        identity = load_identity(bytes.fromhex(body["identity"]))
        restore = body["kind"] == "restore"
        iid = bytes.fromhex(body["installation_id"]) if restore else None
        bundles = [Bundle.from_bytes(bytes.fromhex(body["own_bundle"]))]
        bundles += [Bundle.from_bytes(bytes.fromhex(b)) for b in body["siblings"]]
        contacts = [
            (
                c["name"],
                IdentityKey.from_bytes(bytes.fromhex(c["identity"])),
                Bundle.from_bytes(bytes.fromhex(c["bundle"])) if c["bundle"] else None,
            )
            for c in body["contacts"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError, ParleyError):
        raise InvalidLinkPayload("not a Parley link payload, or a damaged one") from None
    if any(b.identity != identity.public for b in bundles):
        raise InvalidLinkPayload("the payload's bundles are not of its identity")
    return LinkPayload(identity, iid, bundles, contacts)


def import_link(st: Stores, link: LinkPayload, now: int) -> None:
    """Fill a new installation's store (inside its transaction)."""
    # The account's last bundle: the new installation's own bundle will be
    # newer than it, so peers take it (a restored installation's new prekeys).
    st.local.set_bundle(link.bundles[0])
    for bundle in link.bundles:
        try:
            bundle.verify(now, st.profile)
        except RemoteError:
            continue
        st.directory.store_bundle(bundle, now)
    for name, ident, bundle in link.contacts:
        ident.verify(st.profile)
        st.directory.add_account_if_new(ident, name, now)
        if bundle is not None and bundle.identity == ident:
            try:
                bundle.verify(now, st.profile)
            except RemoteError:
                continue
            st.directory.store_bundle(bundle, now)
