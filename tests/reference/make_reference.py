#!/usr/bin/python3
"""Reference numbers for the dnn2brain tests, computed with numpy/scipy.

Run with Debian's python3 (python3-scipy):  /usr/bin/python3 tests/reference/make_reference.py
It rewrites tests/reference/reference_values.txt. Each block is a header line
"name rows cols" followed by rows*cols values in row-major order (%.17g).
"""
import itertools
import os

import numpy as np
import scipy
from scipy.spatial.distance import pdist
from scipy.stats import kendalltau, pearsonr, rankdata, spearmanr

from reference_file import as_reference, write_reference

rng = np.random.default_rng(20261126)
out = {}


def put(name, a):
    out[name] = as_reference(a)


# --- distance metrics ----------------------------------------------------------------------------
x = rng.standard_normal((12, 30))
x_relu = np.abs(rng.standard_normal((10, 50))) * 0.1 + 100.0   # large mean, small spread
x_ties = np.round(rng.standard_normal((8, 25)), 1)              # many ties for spearman
put("x", x)
put("x_relu", x_relu)
put("x_ties", x_ties)
for name, data in (("x", x), ("x_relu", x_relu), ("x_ties", x_ties)):
    put(f"{name}_correlation", pdist(data, "correlation"))
    put(f"{name}_correlation_centered", pdist(data - data.mean(axis=0), "correlation"))
    put(f"{name}_euclidean", pdist(data, "euclidean"))
    put(f"{name}_sqeuclidean", pdist(data, "sqeuclidean"))
    put(f"{name}_cosine", pdist(data, "cosine"))
    rho = spearmanr(data, axis=1).correlation
    put(f"{name}_spearman", (1.0 - rho)[np.triu_indices(data.shape[0], 1)])

a = rng.standard_normal((30, 30))
precision = a @ a.T / 30 + np.eye(30)
put("precision", precision)
put("x_mahalanobis", pdist(x, "mahalanobis", VI=precision))

# crossnobis by its definition: mean over ordered pairs of distinct runs of d_r' P d_s
runs = rng.standard_normal((3, 6, 30))
put("runs", runs.reshape(3 * 6, 30))
n = runs.shape[1]
cn = []
for i, j in itertools.combinations(range(n), 2):
    acc = 0.0
    for r, s in itertools.permutations(range(runs.shape[0]), 2):
        acc += (runs[r, i] - runs[r, j]) @ precision @ (runs[s, i] - runs[s, j])
    cn.append(acc / (runs.shape[0] * (runs.shape[0] - 1)))
put("runs_crossnobis", cn)

# --- RDM comparison ------------------------------------------------------------------------------
m = 45  # 10 conditions
u = rng.standard_normal(m)
v = 0.6 * u + rng.standard_normal(m)
u_ties = np.round(u, 0)              # heavy ties
v_ties = np.round(v * 2, 0) / 2
categorical = (rng.integers(0, 3, size=m) > 0).astype(float)  # two-valued model RDM
put("u", u)
put("v", v)
put("u_ties", u_ties)
put("v_ties", v_ties)
put("categorical", categorical)


def tau_a(p, q):
    s = 0
    for i in range(len(p)):
        for j in range(i + 1, len(p)):
            s += np.sign(p[i] - p[j]) * np.sign(q[i] - q[j])
    return s / (len(p) * (len(p) - 1) / 2)


for a_name, b_name in (("u", "v"), ("u_ties", "v_ties"), ("categorical", "v"), ("categorical", "v_ties")):
    p, q = out[a_name].ravel(), out[b_name].ravel()
    key = f"{a_name}__{b_name}"
    put(f"{key}_pearson", pearsonr(p, q)[0])
    put(f"{key}_spearman", spearmanr(p, q).correlation)
    put(f"{key}_kendall_tau_b", kendalltau(p, q, variant="b").correlation)
    put(f"{key}_kendall_tau_a", tau_a(p, q))
    put(f"{key}_cosine", p @ q / np.linalg.norm(p) / np.linalg.norm(q))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_values.txt")
write_reference(path, out, f"made by make_reference.py with numpy {np.__version__}, scipy {scipy.__version__}")
