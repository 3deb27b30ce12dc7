"""Write the mutation report the site reads, from the report of a ``make mutants`` run.

``make docs`` needs ``build/mutants/report.json``, of this exact shape::

    {"mutants": [{"name": str, "requirements": [ids], "description": str,
                  "killed_by": [tcId, ...]}],
     "killed": int, "total": int}

``python -m parley.conformance.mutants`` writes its own report
(``build/conformance/mutants.json``: name -> status, description, killedBy);
this turns it into that shape, taking each mutant's requirements from the IDs
its description names. ``make docs`` runs it only when ``make mutants`` did not
write ``build/mutants/report.json`` itself.

Usage: mutants_report.py RUN.json OUT.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spec_requirements as sr

_ID = re.compile(sr.ID_PATTERN)


def convert(run: dict) -> dict:
    mutants = []
    for name, entry in run.items():
        description = str(entry.get("description", ""))
        mutants.append(
            {
                "name": name,
                "requirements": list(dict.fromkeys(_ID.findall(description))),
                "description": description,
                "killed_by": list(entry.get("killedBy") or []),
            }
        )
    killed = sum(1 for m in mutants if m["killed_by"])
    return {"mutants": mutants, "killed": killed, "total": len(mutants)}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    report = convert(run)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"mutation report: {report['killed']}/{report['total']} killed; {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
