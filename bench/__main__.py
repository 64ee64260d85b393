"""Run the benchmarks and print one table.

Each `bench/bench_*.py` module exposes `run(quick: bool) -> list[dict]`, one dict per figure with keys
`name`, `value`, `unit`, `target` (text, e.g. "<= 20 ms"), `ok` (bool or None) and optional `note`.
`python -m bench [NAME ...] [--quick] [--json]` runs all modules or those whose name contains NAME.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    as_json = "--json" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    here = Path(__file__).parent
    rows: list[dict] = []
    for mod in sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")):
        if wanted and not any(w in mod for w in wanted):
            continue
        module = importlib.import_module(f"bench.{mod}")
        print(f"running {mod} ...", file=sys.stderr, flush=True)
        for row in module.run(quick=quick):
            rows.append({"module": mod, **row})
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"| {'benchmark':60} | {'measured':>14} | {'target':>14} | ok |")
        print(f"|{'-' * 62}|{'-' * 16}|{'-' * 16}|----|")
        for r in rows:
            value = (
                f"{r['value']:.3g} {r['unit']}"
                if isinstance(r["value"], float)
                else f"{r['value']} {r['unit']}"
            )
            ok = {True: "yes", False: "NO", None: "-"}[r.get("ok")]
            print(f"| {r['name']:60} | {value:>14} | {r.get('target', ''):>14} | {ok:>2} |")
            if r.get("note"):
                print(f"|   {r['note']}")
    return 0 if all(r.get("ok") is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
