"""The benchmark script still runs: tiny sizes, no torch, no timing assertions."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def test_quick_benchmark_runs_without_torch_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-torch", "--case", "a,c,d,e,m", "--json", str(out)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    rows = {r["row"]: r for r in data["results"]}
    assert {"a", "c", "d", "e-train", "e-predict"} <= set(rows)
    for name in ("a", "c", "d"):
        assert set(rows[name]["best"]) == {"numnet", "floor"}  # no torch column
        assert rows[name]["ratios"]["floor"] > 0
    assert data["memory"]["dataset_mb"] > 0
    assert data["machine"]["numpy"]
    assert "numnet s" in proc.stdout and "n/a" in proc.stdout
