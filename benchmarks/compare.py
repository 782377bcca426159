#!/usr/bin/env python
"""Compare two benchmark runs case by case; flag every case that got slower by more than 5 %.

    python benchmarks/compare.py OLD.json NEW.json
    python benchmarks/compare.py run.json#numnet@old run.json#numnet@new   # two numnets of one run
    python benchmarks/compare.py OLD.json NEW.json --impl torch --column same --threshold 0.1

Each argument is a bench.py JSON, optionally ``#IMPLEMENTATION`` (default: the numnet of that
run, when it has one only). For every row present in both it prints the old and new best
times, new/old, and the same ratio after dividing each time by its run's GEMM floor
(``vs floor``: machine drift between the runs cancels out, as the floor is pure BLAS); a
row is flagged ``SLOWER`` when new/old > 1 + threshold. ``--column own`` (each library in
its own process) or ``same`` (one process); ``auto``, the default, takes own where both runs
have it and same otherwise (a JSON of the old same-process-only format has only that).

Exit status: 0 none slower, 1 one or more flagged, 2 the files do not fit together.
"""

from __future__ import annotations

import argparse
import json
import sys


def load(spec: str) -> tuple[dict, str | None, str]:
    path, _, impl = spec.partition("#")
    with open(path) as f:
        return json.load(f), impl or None, path


def numnet_names(data: dict) -> list[str]:
    names = []
    for r in data["results"]:
        for block in (r.get("best") or {}, (r.get("same_process") or {}).get("best") or {}):
            names += [k for k in block if k.startswith("numnet") and k not in names]
    return names


def times(data: dict, impl: str, column: str) -> dict[str, tuple[float, float | None]]:
    """row -> (best time of impl, best time of the floor), in that column."""
    out = {}
    for r in data["results"]:
        if r.get("skipped") or r.get("error"):
            continue
        if data.get("format", 1) >= 2:
            best = r.get("best") if column == "own" else (r.get("same_process") or {}).get("best")
        else:  # format 1: one process for everything
            best = r.get("best") if column == "same" else None
        if best and impl in best:
            out[r["row"]] = (best[impl], best.get("floor"))
    return out


def has_column(data: dict, column: str) -> bool:
    if data.get("format", 1) < 2:
        return column == "same"
    return column in data.get("settings", {}).get("columns", ["own", "same"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--impl", help="implementation to compare in both (default numnet; '#NAME' on a file wins)")
    p.add_argument("--column", choices=["auto", "own", "same"], default="auto")
    p.add_argument("--threshold", type=float, default=0.05, help="flag new/old above 1 + this (default 0.05)")
    p.add_argument("--force", action="store_true", help="compare even runs of different sizes")
    args = p.parse_args(argv)
    (old, old_impl, old_path), (new, new_impl, new_path) = load(args.old), load(args.new)
    picked = []
    for data, impl, path in ((old, old_impl, old_path), (new, new_impl, new_path)):
        impl = impl or args.impl
        if impl is None:
            names = numnet_names(data)
            if len(names) != 1:
                print(f"{path} holds {len(names)} numnets {names}: name one as {path}#NAME", file=sys.stderr)
                return 2
            impl = names[0]
        picked.append(impl)
    so, sn = old.get("settings", {}), new.get("settings", {})
    differ = [k for k in ("samples", "cnn_samples", "quick", "warmup") if so.get(k) != sn.get(k)]
    if differ and not args.force:
        print(f"the runs differ in {', '.join(f'{k} ({so.get(k)} vs {sn.get(k)})' for k in differ)}: "
              "their times do not compare (--force compares them anyway)", file=sys.stderr)
        return 2
    if old["machine"].get("cpu") != new["machine"].get("cpu") or \
            old["machine"].get("cpu_count") != new["machine"].get("cpu_count"):
        print("note: the runs come from different machines; only 'vs floor' means much", file=sys.stderr)
    column = args.column
    if column == "auto":
        column = "own" if has_column(old, "own") and has_column(new, "own") else "same"
    t_old, t_new = times(old, picked[0], column), times(new, picked[1], column)
    rows = [r for r in t_old if r in t_new]
    if not rows:
        print(f"no row has {picked[0]} in {old_path} and {picked[1]} in {new_path} ({column}-process column)",
              file=sys.stderr)
        return 2
    print(f"old: {old_path}#{picked[0]} ({old.get('time', '?')})")
    print(f"new: {new_path}#{picked[1]} ({new.get('time', '?')})")
    print(f"column: {column} process; flag: new/old > {1 + args.threshold:.2f}\n")
    print(f"{'case':<10} {'old s':>9} {'new s':>9} {'new/old':>8} {'vs floor':>9}")
    flagged = []
    for row in rows:
        (a, fa), (b, fb) = t_old[row], t_new[row]
        ratio = b / a
        norm = (b / fb) / (a / fa) if fa and fb else None
        flag = ratio > 1 + args.threshold
        if flag:
            flagged.append(row)
        print(f"{row:<10} {a:>9.3f} {b:>9.3f} {ratio:>8.3f} {'n/a' if norm is None else f'{norm:.3f}':>9}"
              f"{'  SLOWER' if flag else ''}")
    missing = sorted(set(t_old) ^ set(t_new))
    if missing:
        print(f"\nin one run only: {', '.join(missing)}")
    print(f"\n{len(flagged)} of {len(rows)} cases slower by more than {args.threshold:.0%}"
          + (f": {', '.join(flagged)}" if flagged else ""))
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
