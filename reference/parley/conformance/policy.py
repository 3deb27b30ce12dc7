"""Which skips a conforming implementation may have (spec: conformance.md, CONF-004, CONF-010).

A case the runner cannot run is a failure, unless the spec marks what it
needs as optional:

* an operation listed in :data:`OPTIONAL_OPERATIONS` for the case's profile
  (the table "Required and optional operations";
  ``tests/test_runner_fail_closed.py`` keeps the two equal);
* protocol version 2, the vectors' test-only successor of version 1;
* a profile other than profile 1 (the one CONF-001 requires).

``--allow-skip`` turns the other skips back into skips, and the verdict into
NOT CONFORMANT.
"""

from __future__ import annotations

__all__ = [
    "OPTIONAL_OPERATIONS",
    "REQUIRED_PROFILES",
    "TEST_ONLY_VERSIONS",
    "capabilities_permit",
    "operation_optional",
]

#: Profiles every conforming implementation implements (CONF-001).
REQUIRED_PROFILES: frozenset[int] = frozenset({1})

#: Protocol versions a driver may leave out of its capabilities (CONF-004).
TEST_ONLY_VERSIONS: frozenset[int] = frozenset({2})

#: Per profile, the DriverService operations a driver may answer UNIMPLEMENTED
#: (CONF-004). Every other operation, including one added later, is required.
OPTIONAL_OPERATIONS: dict[int, frozenset[str]] = {
    1: frozenset({"ExportInstallation"}),
}


def operation_optional(operation: str, profile: int) -> bool:
    """True if the spec lets a driver of ``profile`` leave ``operation`` out."""
    return operation in OPTIONAL_OPERATIONS.get(profile, frozenset())


def capabilities_permit(missing_profiles: set[int], missing_versions: set[int]) -> bool:
    """True if a case that needs these undeclared profiles/versions may be skipped."""
    return not (missing_profiles & REQUIRED_PROFILES) and missing_versions <= TEST_ONLY_VERSIONS
