"""Timing helpers shared by the side-by-side comparison scripts in bench/."""
import json
import subprocess
import time

import numpy as np


def median_seconds(fn, min_runs=3, min_total=1.0, max_runs=50):
    """Median wall time of fn over at least min_runs runs and about min_total seconds."""
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_total and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run_benchmark(binary, pattern):
    """Medians of a Google Benchmark program's runs matching pattern, by run name without its
    repetition count: {name: (seconds, the run's JSON record)}."""
    out = subprocess.run([binary, f"--benchmark_filter={pattern}", "--benchmark_repetitions=5",
                          "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            name = "/".join(part for part in b["run_name"].split("/") if not part.startswith("repeats:"))
            medians[name] = (b["real_time"] * unit, b)
    return medians
