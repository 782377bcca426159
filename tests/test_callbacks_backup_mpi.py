"""BackupAndRestore under DataParallel (mpiexec -n 2): process 0 writes the backups, every
process resumes from them, and each ends with the weights of an uninterrupted one-process run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np

import numnet

SCRIPTS = os.path.join(os.path.dirname(__file__), "mpi_scripts")
sys.path.insert(0, SCRIPTS)

import backup_resume  # noqa: E402  (the scripts' directory is on the path only now)


def test_resume_under_data_parallel_equals_an_uninterrupted_run(tmp_path):
    x, y = backup_resume.data()
    reference = backup_resume.make()
    reference.fit(x, y, epochs=5, batch_size=8, verbose=0)
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = beside if os.path.exists(beside) else shutil.which("mpiexec")
    assert mpiexec, "mpiexec not found: pip install mpich (the test extra installs it)"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(numnet.__file__)) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([mpiexec, "-n", "2", sys.executable, os.path.join(SCRIPTS, "backup_resume.py"),
                             str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for rank in (0, 1):
        with np.load(tmp_path / f"rank{rank}.npz", allow_pickle=False) as saved:
            assert bool(saved["gone"])  # deleted by process 0 once the fit completed
            weights = [saved[f"arr_{i}"] for i in range(len(reference.get_weights()))]
        # Under DataParallel the gradient is summed in another order: equal to rounding.
        for got, want in zip(weights, reference.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
