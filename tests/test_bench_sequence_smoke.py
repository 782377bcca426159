"""benchmarks/bench_sequence.py's numnet half still runs (one step, no torch, no timing assertion)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sequence.py"


def test_numnet_child_runs():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--child", "numnet", "--cell", "gru", "--steps", "1", "--repeats", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    timings = json.loads(proc.stdout)
    assert set(timings) == {"gru"} and timings["gru"] > 0
