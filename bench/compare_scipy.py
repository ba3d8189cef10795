#!/usr/bin/python3
"""Side-by-side timings: dnn2brain against scipy/numpy on the same shapes, in one run.

Usage (Debian's python3 with python3-scipy; build the benchmarks first, see bench/CMakeLists.txt):
    /usr/bin/python3 bench/compare_scipy.py [build/bench/bench] [--quick]

For each size it times scipy.spatial.distance.pdist(x, 'correlation') and numpy's corrcoef (plus
the upper-triangle extraction an RDM needs), runs bench_rdm on the same shapes and dtypes (values
uniform in [0, 1) in both), and prints medians and our speed-up. Then the same for RDM comparison:
scipy.stats.kendalltau (variant b) and the O(m^2) tau-a loop against ours, and one model against
100k searchlight RDMs (numpy: centre, normalise, one matrix-vector product) against our batched call.
Every timing is a median over repeated runs.
"""
import os
import sys

import numpy as np
import scipy
from scipy.spatial.distance import pdist
from scipy.stats import kendalltau

from side_by_side import median_seconds, run_benchmark


def corrcoef_rdm(x):
    c = np.corrcoef(x)
    return 1.0 - c[np.triu_indices(x.shape[0], 1)]


def main():
    folder = next((a for a in sys.argv[1:] if not a.startswith("--")), "build/bench/bench")
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, scipy {scipy.__version__}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(auto)')}; {os.cpu_count()} cores\n")

    sizes = [(50, 10_000), (50, 100_000), (50, 1_000_000), (92, 10_000), (92, 100_000),
             (92, 1_000_000), (1000, 10_000)]
    if quick:
        sizes = [(50, 100_000), (50, 1_000_000)]
    print("Correlation-distance RDM (1 - Pearson), median ms")
    print(f"{'n':>5} {'p':>9} {'dtype':>7} {'dnn2brain':>10} {'pdist':>10} {'corrcoef':>10} "
          f"{'vs pdist':>9} {'vs corrcoef':>12}")
    for dtype, scalar in ((np.float32, "float"), (np.float64, "double")):
        pattern = "|".join(f"rdm<{scalar}, correlation>/n:{n}/p:{p}/" for n, p in sizes)
        ours = run_benchmark(os.path.join(folder, "bench_rdm"), pattern)
        for n, p in sizes:
            x = rng.random((n, p), dtype=dtype)
            name = f"rdm<{scalar}, correlation>/n:{n}/p:{p}/real_time"
            t_ours = ours[name][0]
            t_pdist = median_seconds(lambda: pdist(x, "correlation"), min_runs=1 if n * p > 5e7 else 3)
            t_corr = median_seconds(lambda: corrcoef_rdm(x))
            print(f"{n:>5} {p:>9} {scalar:>7} {t_ours * 1e3:>10.2f} {t_pdist * 1e3:>10.1f} "
                  f"{t_corr * 1e3:>10.1f} {t_pdist / t_ours:>8.1f}x {t_corr / t_ours:>11.1f}x"
                  f"   ({ours[name][1]['peak_fraction'] * 100:.0f}% of SYRK peak)")
            del x

    print("\nRDM comparison, median")
    ours = run_benchmark(os.path.join(folder, "bench_compare"),
                         "one_pair<measure::kendall_tau_a>|one_pair<measure::kendall_tau_b>|"
                         "kendall_tau_a_quadratic|many_targets<measure::pearson>")
    a, b = rng.random(1225), rng.random(1225)
    t_scipy_tau = median_seconds(lambda: kendalltau(a, b, variant="b"))
    t_ours_tau_b = ours["one_pair<measure::kendall_tau_b>"][0]
    t_ours_tau_a = ours["one_pair<measure::kendall_tau_a>"][0]
    t_quadratic = ours["kendall_tau_a_quadratic"][0]
    print(f"  Kendall tau-b, 1225 entries: dnn2brain {t_ours_tau_b * 1e6:.1f} us, scipy kendalltau "
          f"{t_scipy_tau * 1e6:.1f} us ({t_scipy_tau / t_ours_tau_b:.1f}x)")
    print(f"  Kendall tau-a, 1225 entries: dnn2brain {t_ours_tau_a * 1e6:.1f} us, O(m^2) loop in C++ "
          f"{t_quadratic * 1e6:.1f} us ({t_quadratic / t_ours_tau_a:.1f}x)")
    stack = rng.random((100_000, 1225), dtype=np.float32)  # one searchlight RDM per row
    model = rng.random(1225)

    def numpy_pearson():
        centred = stack - stack.mean(axis=1, keepdims=True)
        m = (model - model.mean()) / np.linalg.norm(model - model.mean())
        return centred @ m / np.linalg.norm(centred, axis=1)

    t_numpy = median_seconds(numpy_pearson)
    name = "one_model_many_targets<measure::pearson>/100000/real_time"
    t_ours = ours[name][0]
    print(f"  Pearson, 1 model vs 100k RDMs (float): dnn2brain {t_ours * 1e3:.1f} ms "
          f"({ours[name][1]['GB/s']:.1f} GB/s, {ours[name][1]['bandwidth_fraction'] * 100:.0f}% of "
          f"read bandwidth), numpy {t_numpy * 1e3:.1f} ms ({t_numpy / t_ours:.1f}x)")


if __name__ == "__main__":
    main()
