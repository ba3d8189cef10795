#!/usr/bin/python3
"""Side-by-side timings of shared-design OLS: dnn2brain against the paper's approach and numpy.

Usage (Debian's python3 with python3-torch and python3-scipy; build the benchmarks first, see
bench/CMakeLists.txt):
    /usr/bin/python3 bench/compare_regression.py [build/bench/bench] [--full]

Workload: 1225 pairs (50 conditions), 19 DNNs of 2 layer RDMs + intercept each, T targets
(10k, 50k, 230k), values uniform in [0, 1). Adjusted R² of every DNN for every target.
  paper  The paper's OLS_pytorch, re-implemented from its description on the CPU (torch float32):
         per DNN, XᵀX formed once and replicated T times, Xᵀy batched, a batched solve, then
         ŷ = Xβ and R² = SS_reg / SS_tot. 230k targets only with --full (about a minute).
  lstsq  numpy.linalg.lstsq per DNN with all targets as right-hand sides (float64).
  proj   A numpy projection that factors once: the QR bases of the 19 centred designs stacked,
         one GEMM Qᵀ(Y − ȳ), R² per DNN from its rows (float64 and float32): the best a numpy
         user would write.
bench_regression runs the same shapes in this run; every timing is a median over repeated runs.
"""
import os
import sys

import numpy as np

from side_by_side import median_seconds, run_benchmark

M, DNNS, LAYERS = 1225, 19, 2


def adjusted(r2, p):
    return 1.0 - (1.0 - r2) * (M - 1) / (M - p - 1)


def paper_approach(torch, x, y_t):
    """y_t: T × m float32 tensor. Returns DNNs × T adjusted R²."""
    out = []
    for d in range(DNNS):
        xd = torch.cat([torch.ones(M, 1), x[:, d * LAYERS:(d + 1) * LAYERS]], dim=1)  # m × 3
        xtx = xd.T @ xd
        xty = (y_t @ xd).unsqueeze(2)                          # T × 3 × 1
        a = xtx.unsqueeze(0).repeat_interleave(y_t.shape[0], dim=0)  # T × 3 × 3
        beta = torch.linalg.solve(a, xty)                       # T × 3 × 1
        fitted = (beta.squeeze(2) @ xd.T)                       # T × m
        mean = y_t.mean(dim=1, keepdim=True)
        r2 = ((fitted - mean) ** 2).sum(1) / ((y_t - mean) ** 2).sum(1)
        out.append(adjusted(r2, LAYERS))
    return torch.stack(out)


def lstsq_approach(x, y):
    out = []
    tss = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    for d in range(DNNS):
        xd = np.column_stack([np.ones(M), x[:, d * LAYERS:(d + 1) * LAYERS]])
        _, ssr, _, _ = np.linalg.lstsq(xd, y, rcond=None)
        out.append(adjusted(1.0 - ssr / tss, LAYERS))
    return np.array(out)


def projection_basis(x, dtype):
    bases = [np.linalg.qr(x[:, d * LAYERS:(d + 1) * LAYERS] - x[:, d * LAYERS:(d + 1) * LAYERS].mean(0))[0]
             for d in range(DNNS)]
    return np.hstack(bases).T.astype(dtype)  # 38 × m


def projection_approach(q, y):
    centred = y - y.mean(axis=0)
    z = q @ centred
    tss = np.einsum("ij,ij->j", centred, centred)
    explained = (z.reshape(DNNS, LAYERS, -1) ** 2).sum(axis=1)
    return adjusted(explained / tss, LAYERS)


def main():
    folder = next((a for a in sys.argv[1:] if not a.startswith("--")), "build/bench/bench")
    full = "--full" in sys.argv
    import torch
    torch.set_num_threads(os.cpu_count())
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}; {os.cpu_count()} cores\n")
    counts = [10_000, 50_000, 230_000]
    ours = run_benchmark(os.path.join(folder, "bench_regression"),
                         "fit_19_dnns|fit_one_dnn|variance_partitioning")
    x = rng.random((M, DNNS * LAYERS))
    q64, q32 = projection_basis(x, np.float64), projection_basis(x, np.float32)

    print("19 DNNs (2 layers + intercept) x T targets of 1225 pairs: adjusted R², median ms")
    print(f"{'T':>8} {'dtype':>7} {'dnn2brain':>10} {'paper':>10} {'lstsq':>10} {'proj':>10} "
          f"{'vs paper':>9} {'vs lstsq':>9} {'vs proj':>8}")
    for count in counts:
        y64 = rng.random((M, count))
        y32 = y64.astype(np.float32)
        for dtype, y, q in (("double", y64, q64), ("float", y32, q32)):
            name = f"fit_19_dnns<{dtype}>/{count}/real_time"
            t_ours, info = ours[name]
            t_proj = median_seconds(lambda: projection_approach(q, y))
            t_lstsq = median_seconds(lambda: lstsq_approach(x, y), min_runs=1, min_total=0) \
                if dtype == "double" else float("nan")
            t_paper = float("nan")
            if dtype == "float" and (count <= 50_000 or full):
                x_t = torch.from_numpy(x.astype(np.float32))
                y_t = torch.from_numpy(np.ascontiguousarray(y.T))
                t_paper = median_seconds(lambda: paper_approach(torch, x_t, y_t), min_runs=1,
                                         min_total=0)
            ratio = lambda t: f"{t / t_ours:>8.1f}x" if t == t else f"{'-':>9}"
            show = lambda t: f"{t * 1e3:>10.0f}" if t == t else f"{'-':>10}"
            print(f"{count:>8} {dtype:>7} {t_ours * 1e3:>10.1f} {show(t_paper)} {show(t_lstsq)} "
                  f"{t_proj * 1e3:>10.1f} {ratio(t_paper)} {ratio(t_lstsq)} {ratio(t_proj)}"
                  f"   ({info['GFLOP/s']:.1f} GFLOP/s, {info['gemm_fraction'] * 100:.0f}% of GEMM peak)")
        del y64, y32

    print("\nOne DNN and variance partitioning (dnn2brain only), median ms")
    for name, (t, info) in sorted(ours.items()):
        if name.startswith("fit_one_dnn") or name.startswith("variance_partitioning"):
            print(f"  {name:<55} {t * 1e3:>9.2f}   {info['items_per_second'] / 1e6:.2f} M targets/s")


if __name__ == "__main__":
    main()
