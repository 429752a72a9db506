"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def cold_start_ms(statement: str, runs: int = 5) -> float:
    """Median wall time of a fresh interpreter running `statement`, minus an empty one's."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    empty = statistics.median(run("pass") for _ in range(runs))
    return (statistics.median(run(statement) for _ in range(runs)) - empty) * 1e3
