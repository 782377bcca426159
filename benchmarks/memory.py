#!/usr/bin/env python
"""Case m: peak memory of one numnet training epoch of case (a), in a process of its own
(no torch there). Prints one JSON object: peak RSS (``VmHWM``) minus the RSS after imports,
against the target "dataset size + 100 MB", and tracemalloc's peak of the numpy
allocations made during ``fit`` (what numnet adds over the dataset).

    python benchmarks/memory.py [SAMPLES [BATCH]]
"""

from __future__ import annotations

import json
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def _status_mb(field: str) -> float:
    # /proc/self/status is per address space: VmHWM (peak RSS) starts afresh at exec.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _peak_mb() -> float:
    try:
        return _status_mb("VmHWM")
    except OSError:  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def measure(n: int, batch_size: int) -> dict:
    import impl_numnet

    base_rss = _status_mb("VmRSS")
    x, y = common.make_data(n)
    data_mb = (x.nbytes + y.nbytes) / 2**20
    model = impl_numnet.mlp(common.mlp_sizes("a"))
    after_data = _status_mb("VmRSS")
    tracemalloc.start()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=True)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = _peak_mb()
    return {
        "n_samples": n,
        "batch_size": batch_size,
        "dataset_mb": data_mb,
        "rss_after_imports_mb": base_rss,
        "rss_after_data_mb": after_data,
        "peak_rss_mb": peak,
        "peak_over_imports_mb": peak - base_rss,
        "peak_over_imports_minus_dataset_mb": peak - base_rss - data_mb,
        "tracemalloc_peak_during_fit_mb": traced_peak / 2**20,
        "target_mb": data_mb + 100,
        "pass": (peak - base_rss) < data_mb + 100,
        "numnet_path": os.path.dirname(impl_numnet.numnet.__file__),
    }


if __name__ == "__main__":
    argv = [int(v) for v in sys.argv[1:]]
    print(json.dumps(measure(argv[0] if argv else 60_000, argv[1] if len(argv) > 1 else 128)))
