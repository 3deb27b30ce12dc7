"""kill -9 while an account is being created (``parley init``): no half-made
store may be left behind. Before, the file was created first and filled
afterwards: a kill in the KDF left an empty parley.db (every command then said
STORE_CORRUPT), a kill while the identity was written left a store with no
account; in both cases ``init`` said ACCOUNT_EXISTS, and only deleting the
file by hand got the user out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from parley.client import Account, NoAccount

REFERENCE = Path(__file__).parents[1] / "reference"

#: The child creates an account and kills itself at one point of the creation.
CHILD = """
import os, signal, sys
from parley.client import Account, store
point = sys.argv[2]
if point == "connect":  # the file exists, the KDF and the schema are under way
    original = store.Store._connect
    def connect(*args):
        conn = original(*args)
        os.kill(os.getpid(), signal.SIGKILL)
    store.Store._connect = staticmethod(connect)
else:  # the Nth write of the account's first transaction
    n = int(point)
    calls = [0]
    def hook(kind):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
    store.WRITE_HOOK = hook
Account.create(sys.argv[1], "pass", kdf_iterations=2)
print("created")
"""


@pytest.mark.parametrize("point", ["connect", "1", "2", "3"])
def test_a_create_killed_at_any_point_leaves_no_store(tmp_path, point):
    path = tmp_path / "home" / "parley.db"
    env = {**os.environ, "PYTHONPATH": str(REFERENCE)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), point],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    with pytest.raises(NoAccount):  # not STORE_CORRUPT, not "holds no account"
        Account.open(path, "pass", kdf_iterations=2)
    # a second try works, and leaves nothing of the first behind it
    with Account.create(path, "pass", kdf_iterations=2) as account:
        assert account.contacts() == []
    with Account.open(path, "pass", kdf_iterations=2) as again:
        assert again.account_id == account.account_id
    assert sorted(p.name for p in path.parent.iterdir()) == ["parley.db"]
