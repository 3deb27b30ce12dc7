"""Protocol versions and their negotiation (spec: versioning.md).

Every ratchet and no-bundle message carries the protocol version it was
written in, inside the bytes the MAC covers, so a version cannot be changed
in transit. Each installation lists the versions it reads in its signed
bundle entry.

A staged rollout of a version ``x+1`` is expressed with a :class:`VersionPolicy`:

======  =====================  ==================
stage   reads                  writes
======  =====================  ==================
x       {x, x+1}               x
x+1     {x, x+1}               x+1 if the peer reads it, else x
x+2     {x+1}                  x+1
======  =====================  ==================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidArgument, UnsupportedVersion

__all__ = [
    "CURRENT_POLICY",
    "PROTOCOL_VERSION_1",
    "VersionPolicy",
    "negotiate",
]

PROTOCOL_VERSION_1 = 1


@dataclass(frozen=True, slots=True)
class VersionPolicy:
    """What an implementation reads, and the highest version it may write."""

    reads: frozenset[int]
    writes: int

    def __post_init__(self) -> None:
        if not self.reads or any(v < 1 for v in self.reads):
            raise InvalidArgument("a policy reads at least one version, each >= 1")
        if self.writes not in self.reads:
            raise InvalidArgument("a policy must read the version it writes")

    def check_readable(self, version: int) -> None:
        """Raise UnsupportedVersion unless ``version`` is one this policy reads."""
        if version not in self.reads:
            raise UnsupportedVersion(f"protocol version {version} is not supported")

    @property
    def advertised(self) -> tuple[int, ...]:
        """The versions to list in a bundle entry, ascending (VERSION-002)."""
        return tuple(sorted(self.reads))


def negotiate(policy: VersionPolicy, peer_reads: Iterable[int]) -> int:
    """The version to write to a peer that reads ``peer_reads`` (VERSION-010).

    The highest version that the peer reads and the policy may write; if the
    peer reads none of them, UnsupportedVersion.
    """
    candidates = [v for v in peer_reads if v in policy.reads and v <= policy.writes]
    if not candidates:
        raise UnsupportedVersion("no protocol version in common with the peer")
    return max(candidates)


#: This implementation: protocol version 1 only.
CURRENT_POLICY = VersionPolicy(reads=frozenset({PROTOCOL_VERSION_1}), writes=PROTOCOL_VERSION_1)
