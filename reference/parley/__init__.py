"""Parley: forward-secret 1:1 messaging without a server.

The sans-IO core: X3DH over signed prekey bundles, then the Double Ratchet.
Bytes in, bytes out; randomness (:class:`Random`) and time (``now``, seconds
since the Unix epoch) are passed in. The specification is in ``spec/``.
"""

from .bundle import Bundle, InstallationPreKeys
from .errors import (
    LocalError,
    ParleyError,
    RemoteError,
)
from .keys import IdentityKey, IdentityKeyPair, InstallationKeys
from .primitives import DeterministicRandom, Random, SystemRandom
from .profile import PROFILE_1, Profile
from .session import Session
from .versioning import CURRENT_POLICY, VersionPolicy, negotiate

__version__ = "0.1.0"

__all__ = [
    "CURRENT_POLICY",
    "PROFILE_1",
    "Bundle",
    "DeterministicRandom",
    "IdentityKey",
    "IdentityKeyPair",
    "InstallationKeys",
    "InstallationPreKeys",
    "LocalError",
    "ParleyError",
    "Profile",
    "Random",
    "RemoteError",
    "Session",
    "SystemRandom",
    "VersionPolicy",
    "negotiate",
]
