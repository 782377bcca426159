"""benchmarks/elementwise.py runs and reports every function for NumPy (torch when installed)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "elementwise.py"


def test_elementwise_reports_every_function(tmp_path):
    out = tmp_path / "elementwise.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--size", "1024", "--repeats", "1", "--rounds", "1",
                           "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())["ns_per_element"]["numpy"]
    assert set(figures) == {"exp", "tanh", "sigmoid", "multiply"}
    assert all(value > 0 for value in figures.values())
    assert "exp" in proc.stdout and "multiply" in proc.stdout
