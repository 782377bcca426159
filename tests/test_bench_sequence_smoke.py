"""benchmarks/bench_sequence.py's numnet half still runs (one step, no torch, no timing assertion)."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sequence.py"


def test_numnet_child_runs():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--child", "numnet", "--cell", "gru", "--steps", "1", "--repeats", "1"],
        capture_output=True, text=True, timeout=300,
        # One BLAS thread: a shared test machine makes a multi-threaded BLAS spin on the small per-step products.
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    timings = json.loads(proc.stdout)
    assert set(timings) == {"gru"} and timings["gru"] > 0
