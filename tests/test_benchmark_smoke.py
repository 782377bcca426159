"""The benchmark scripts still run: tiny sizes, no torch, no peers, no timing assertions."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"
COMPARE = ROOT / "benchmarks" / "compare.py"
SRC = ROOT / "src"


def _run(*argv, timeout=180):
    return subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONHASHSEED": "0"})


def test_quick_benchmark_runs_without_torch_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = _run(BENCH, "--quick", "--no-torch", "--no-peers", "--case", "a,c,d,e,m", "--numnet-src", SRC,
                "--json", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    rows = {r["row"]: r for r in data["results"]}
    assert set(rows) == {"a", "c", "d", "e-train", "e-predict"}
    for name in ("a", "c", "d"):
        assert set(rows[name]["best"]) == {"numnet", "floor"}  # no torch column
        assert rows[name]["ratios"]["numnet/floor"] > 0
        assert rows[name]["same_process"] is None  # same-process column needs torch
    assert rows["a"]["steps"]["numnet"] == 4  # 512 samples, batch 128
    assert 0.0 <= rows["a"]["accuracy"]["numnet"] <= 1.0
    # each kind of process imported its own library only
    assert data["processes"]["numnet"]["process"]["imported"] == ["numnet"]
    assert data["processes"]["floor"]["process"]["imported"] == []
    assert data["numnets"][0]["path"] == str(SRC / "numnet")
    assert data["memory"]["numnet"]["dataset_mb"] > 0
    assert data["machine"]["numpy"]
    assert "numnet s" in proc.stdout and "floor s" in proc.stdout and "torch s" not in proc.stdout


def test_two_numnet_sources_take_turns_and_compare_flags_a_slower_case(tmp_path):
    out = tmp_path / "two.json"
    proc = _run(BENCH, "--quick", "--no-torch", "--no-peers", "--case", "a", "--numnet-src", f"old={SRC}",
                "--numnet-src", f"new={SRC}", "--json", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    (row,) = data["results"]
    assert set(row["best"]) == {"numnet@old", "numnet@new", "floor"}
    assert row["ratios"]["numnet@new/numnet@old"] == row["best"]["numnet@new"] / row["best"]["numnet@old"]

    # a run compared with itself: nothing slower
    same = _run(COMPARE, f"{out}#numnet@old", f"{out}#numnet@old")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "0 of 1 cases slower" in same.stdout

    # the same run with numnet 20 % slower in case a: flagged, exit status 1
    slow = json.loads(out.read_text())
    slow["results"][0]["best"]["numnet@old"] *= 1.2
    slow_path = tmp_path / "slow.json"
    slow_path.write_text(json.dumps(slow))
    flagged = _run(COMPARE, f"{out}#numnet@old", f"{slow_path}#numnet@old")
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    assert "SLOWER" in flagged.stdout and "1 of 1 cases slower" in flagged.stdout

    # two numnets in one file and none named: refused
    ambiguous = _run(COMPARE, out, out)
    assert ambiguous.returncode == 2
    assert "name one" in ambiguous.stderr
