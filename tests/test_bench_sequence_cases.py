"""bench.py's sequence cases (f: LSTM, h: MultiHeadAttention; g is f with a GRU) and
bench_sequence_cpu.py still run: tiny sizes, numnet only, no timing assertions."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_quick_sequence_cases_write_their_rows(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--no-torch",
                           "--no-peers", "--case", "f,h", "--numnet-src", str(SRC), "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **ONE_THREAD})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["row"]: r for r in json.loads(out.read_text())["results"]}
    assert set(rows) == {"f-train", "f-predict", "h-train", "h-predict"}  # g is f's code with a GRU
    for case, batch in (("f", 64), ("h", 32)):
        assert set(rows[f"{case}-train"]["best"]) == {"numnet"}  # no floor for these cases
        assert rows[f"{case}-train"]["steps"]["numnet"] == 64 // batch  # --quick: 64 sequences
        assert 0.0 <= rows[f"{case}-train"]["accuracy"]["numnet"] <= 1.0


def test_cpu_time_script_runs_one_case():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sequence_cpu.py"), "--child", "numnet",
                           "h", "--repeats", "1", "--sequences", "64"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **ONE_THREAD, "PYTHONPATH": str(SRC)})
    assert proc.returncode == 0, proc.stderr
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(times) == {"h-train", "h-predict"} and all(t > 0 for t in times.values())


def test_instruction_count_jobs_run_every_case_and_the_counts_are_parsed(tmp_path):
    """instructions.py's jobs run for each case (here without valgrind, PASSES 0 and 1), and
    its parser reads valgrind's summary line (a stand-in valgrind prints one)."""
    for case in ("b", "c", "e-predict"):
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "instructions_job.py"), case, "1"],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, **ONE_THREAD, "PYTHONPATH": str(SRC)},
                              cwd=str(ROOT / "benchmarks"))
        assert proc.returncode == 0, proc.stderr
    fake = tmp_path / "valgrind"
    fake.write_text("#!/bin/sh\n"
                    "case \"$*\" in *' 0') n=1,000,000 ;; *) n=5,000,000 ;; esac\n"
                    "echo \"==1== I   refs:      $n\" >&2\n")
    fake.chmod(0o755)
    out = tmp_path / "counts.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "instructions.py"), "--numnet-src",
                           f"tree={SRC}", "--case", "a", "--json", str(out)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text())["per_pass"] == {"a": {"tree": 2_000_000.0}}  # (5M - 1M) / 2 passes
