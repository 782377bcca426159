#!/usr/bin/env python
"""Render one or more bench.py JSON results as Markdown (for BENCHMARKS.md).

    python benchmarks/report.py benchmarks/results/latest.json [more.json ...]

Each file gives a header (command, commit, machine, BLAS kernels and thread pools of each
kind of process, load average) and one table: seconds in the own-process column (each
library alone: the headline), numnet's ratio to each, the same-process numnet/torch, the
held-out accuracy after the epoch, and the targets. Files of the old single-process format
(no ``"format"`` key) render as their own simpler table.
"""

from __future__ import annotations

import json
import sys

PEER_ORDER = ("torch", "sklearn", "keras", "floor")


def _f(v, spec="{:.3f}"):
    return "n/a" if v is None else spec.format(v)


def pools(process: dict) -> str:
    out = []
    for p in process.get("threadpools") or []:
        if p.get("user_api") == "blas":
            out.append(f"{p.get('internal_api')} {p.get('version')} kernel **{p.get('architecture')}** "
                       f"({p.get('num_threads')} threads)")
        else:
            out.append(f"OpenMP {p.get('prefix')} ({p.get('num_threads')} threads)")
    return ", ".join(out) or "none found"


def _load(values) -> str:
    return ", ".join(f"{x:.2f}" for x in values or []) or "?"


def header(path: str, data: dict) -> list[str]:
    m = data["machine"]
    env = ", ".join(f"`{k}={v}`" for k, v in m.get("env", {}).items()) or "none"
    lines = [
        f"`{path}` — {data.get('time', '?')}; `{data.get('command', '')}`",
        "",
        f"- machine: {m.get('cpu')} ({' '.join(m.get('cpu_flags') or [])}), {m.get('cpu_count')} cores; "
        f"Python {m.get('python')}, numpy {m.get('numpy')}; OPENBLAS/OMP/MKL/MALLOC variables: {env}",
    ]
    for n in data.get("numnets", []):
        git = n.get("git") or {}
        lines.append(f"- {n['name']}{' (' + n['label'] + ')' if n.get('label') else ''}: `{n.get('path')}` at "
                     f"{(git.get('commit') or '')[:10] or 'no git tree'}"
                     f"{' + uncommitted changes' if git.get('src_modified') else ''}")
    for name, p in data.get("processes", {}).items():
        versions = p.get("versions") or {}
        if not name.startswith("same-process"):
            v = ", ".join(f"{k} {val}" for k, val in versions.items()
                          if k not in ("numnet_path", "torch_parallel_info"))
            lines.append(f"- {name} process: {v + '; ' if v else ''}imports {p['process'].get('imported')}; "
                         f"{pools(p['process'])}")
        else:
            lines.append(f"- {name}: imports {p['process'].get('imported')}; {pools(p['process'])}")
    loads = [r.get("loadavg_before") for r in data["results"] if r.get("loadavg_before")]
    for rerun in data.get("reruns", []):
        lines.append(f"- rows {', '.join(rerun['rows'])} re-run at {rerun['time']} (load {_load(rerun['loadavg'])}): "
                     f"`{rerun['command']}`")
    s = data["settings"]
    lines.append(f"- load average at the start of each case: {'; '.join(_load(x) for x in loads)} "
                 f"(2 cores shared with other work: see the notes on noise)")
    lines.append(f"- best of {s['repeats']} fresh processes per library (own) and of {s['repeats']} turns in "
                 f"one process (same), each after a warm-up")
    return lines


def render(path: str) -> str:
    with open(path) as f:
        data = json.load(f)
    if data.get("format", 1) < 2:
        return render_v1(path, data)
    names = [n["name"] for n in data.get("numnets", [])] or ["numnet"]
    others = [o for o in PEER_ORDER if any(o in r.get("best", {}) for r in data["results"])]
    lines = header(path, data) + [""]
    cols = ["case"] + (["numnet"] if len(names) > 1 else []) + ["numnet s"] + [f"{o} s" for o in others]
    cols += [f"numnet/{o}" for o in others] + ["numnet/torch same process"]
    cols += ["accuracy " + " / ".join(["numnet"] + [o for o in others if o != "floor"]), "targets (numnet/x)"]
    lines += ["| " + " | ".join(cols) + " |",
              "|" + "|".join("---" if c in ("case", "numnet") or c.startswith("targets") else "---:" for c in cols) + "|"]
    for r in data["results"]:
        if r.get("skipped") or r.get("error"):
            lines.append(f"| {r['row']} | {r.get('skipped') or 'error: ' + r['error'][:100]} |")
            continue
        same = (r.get("same_process") or {}).get("ratios", {})
        for v in names:
            ts = [t for t in r["targets"] if t["ratio"].startswith(v + "/")]
            groups: dict = {}
            for t in ts:
                verdict = "n/a" if t["pass"] is None else ("pass" if t["pass"] else "**fail**")
                groups.setdefault(t["ratio"].split("/")[1], []).append(f"{t['column']} <= {t['bound']} {verdict}")
            target = "; ".join(f"/{other}: {', '.join(parts)}" for other, parts in groups.items())
            acc = " / ".join(_f(r.get("accuracy", {}).get(k), "{:.3f}")
                             for k in [v] + [o for o in others if o != "floor"])
            cells = [r["row"]] + ([v.split("@", 1)[-1]] if len(names) > 1 else []) + [_f(r["best"].get(v))]
            cells += [_f(r["best"].get(o)) for o in others]
            cells += [_f(r["ratios"].get(f"{v}/{o}"), "{:.2f}") for o in others]
            cells += [_f(same.get(f"{v}/torch"), "{:.2f}"), acc if r.get("accuracy") else "-", target or "-"]
            lines.append("| " + " | ".join(cells) + " |")
    pairs = sorted({k for r in data["results"] for k in r.get("ratios", {}) if k.count("numnet") == 2})
    for key in pairs:
        lines.append("")
        lines.append(f"{key} (own process): " + ", ".join(
            f"{r['row']} {r['ratios'][key]:.3f}" for r in data["results"] if key in r.get("ratios", {})))
    for name, mem in (data.get("memory") or {}).items():
        if "error" not in mem:
            lines.append("")
            lines.append(f"memory of (a), {name}: peak {mem['peak_over_imports_mb']:.0f} MB over imports = dataset "
                         f"{mem['dataset_mb']:.0f} MB + {mem['peak_over_imports_minus_dataset_mb']:.0f} MB; target "
                         f"< dataset + 100 MB ({mem['target_mb']:.0f} MB): {'pass' if mem['pass'] else '**fail**'}")
    return "\n".join(lines)


def render_v1(path: str, data: dict) -> str:
    """The old format: numnet, torch and the floor timed in one process."""
    m = data["machine"]
    git = m.get("git") or {}
    lines = [
        f"`{path}` — {data.get('time', '?')}; `{data.get('command', '')}` (all in one process)",
        "",
        f"- machine: {m.get('cpu')}, {m.get('cpu_count')} cores; numpy {m.get('numpy')}, torch {m.get('torch')}; "
        f"BLAS {pools(m)}",
        f"- numnet commit {(git.get('commit') or '?')[:10]}; load average at start {_load(m.get('loadavg'))}",
        "",
        "| case | numnet s | torch s | floor s | numnet/torch | numnet/floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in data["results"]:
        if r.get("skipped") or r.get("error"):
            continue
        b, ratios = r["best"], r["ratios"]
        lines.append(f"| {r['row']} | {_f(b.get('numnet'))} | {_f(b.get('torch'))} | {_f(b.get('floor'))} | "
                     f"{_f(ratios.get('torch'), '{:.2f}')} | {_f(ratios.get('floor'), '{:.2f}')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(render(p) for p in sys.argv[1:]))
