#!/usr/bin/env python
"""Render one or more bench.py JSON results as Markdown (for BENCHMARKS.md).

    python benchmarks/report.py benchmarks/results/latest.json [more.json ...]
"""

from __future__ import annotations

import json
import sys


def _f(v, spec):
    return "n/a" if v is None else spec.format(v)


def blas(machine: dict) -> str:
    pools = machine.get("threadpools") or []
    out = [f"{p.get('internal_api')} {p.get('version')}, kernel/core type **{p.get('architecture')}**, "
           f"{p.get('num_threads')} threads" for p in pools if p.get("user_api") == "blas"]
    return "; ".join(out) or "unknown"


def render(path: str) -> str:
    with open(path) as f:
        data = json.load(f)
    m = data["machine"]
    env = ", ".join(f"`{k}={v}`" for k, v in m.get("env", {}).items()) or "no OPENBLAS_* / OMP_* variables"
    git = m.get("git") or {}
    lines = [
        f"`{path}` — {data.get('time', '?')}; `{data.get('command', '')}`",
        "",
        f"- machine: {m.get('cpu')}, {m.get('cpu_count')} cores; Python {m.get('python')}, numpy {m.get('numpy')}, "
        f"torch {m.get('torch')} ({m.get('torch_threads')} threads)",
        f"- BLAS (threadpoolctl): {blas(m)}",
        f"- environment: {env}",
        f"- numnet commit {git.get('commit', '?')[:10]}{' + uncommitted changes in src/' if git.get('src_modified') else ''}; "
        f"load average at start {', '.join(f'{x:.2f}' for x in m.get('loadavg') or [])}",
        f"- best of {data['settings']['repeats']}{' after a warm-up' if data['settings'].get('warmup') else ''}",
        "",
        "| case | numnet s | torch s | floor s | numnet/torch | numnet/floor | target | result |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in data["results"]:
        if r.get("skipped") or r.get("error"):
            lines.append(f"| {r['row']} | {'skipped: ' + r['skipped'] if r.get('skipped') else 'error: ' + r['error']}"
                         " | | | | | | |")
            continue
        b, ratios, targets = r["best"], r["ratios"], r["targets"]
        target = ", ".join(f"{t['ratio']} <= {t['bound']}" for t in targets) or "-"
        verdict = ", ".join("n/a" if t["pass"] is None else ("pass" if t["pass"] else "**fail**") for t in targets)
        lines.append(
            f"| {r['row']} | {_f(b.get('numnet'), '{:.3f}')} | {_f(b.get('torch'), '{:.3f}')} | "
            f"{_f(b.get('floor'), '{:.3f}')} | {_f(ratios.get('torch'), '{:.2f}')} | "
            f"{_f(ratios.get('floor'), '{:.2f}')} | {target} | {verdict or '-'} |"
        )
    mem = data.get("memory")
    if mem and "error" not in mem:
        lines.append(
            f"| mem (a) | peak {mem['peak_over_imports_mb']:.0f} MB over imports = dataset "
            f"{mem['dataset_mb']:.0f} MB + {mem['peak_over_imports_minus_dataset_mb']:.0f} MB | | | | | "
            f"< dataset + 100 MB ({mem['target_mb']:.0f} MB) | {'pass' if mem['pass'] else '**fail**'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(render(p) for p in sys.argv[1:]))
