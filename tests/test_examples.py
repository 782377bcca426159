"""Every script in examples/ runs to the end and reaches its held-out figure."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# script: (figure printed as "held-out <name>: <value>", the least acceptable value)
THRESHOLDS = {
    "iris_softmax.py": ("accuracy", 0.9),
    "breast_cancer_binary.py": ("accuracy", 0.93),
    "regression.py": ("r2", 0.95),
    "functional_residual.py": ("accuracy", 0.93),
}


@pytest.mark.parametrize("script", sorted(THRESHOLDS))
def test_example_runs_and_reaches_its_threshold(script):
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120,
                            cwd=EXAMPLES.parent)
    assert result.returncode == 0, result.stderr
    figure, threshold = THRESHOLDS[script]
    match = re.search(rf"^held-out {figure}: ([0-9.]+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    assert float(match.group(1)) >= threshold
