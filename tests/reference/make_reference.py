#!/usr/bin/python3
"""Reference numbers for the dnn2brain tests, computed with numpy/scipy.

Run with Debian's python3 (python3-scipy):  /usr/bin/python3 tests/reference/make_reference.py
It rewrites tests/reference/reference_values.txt. Each block is a header line
"name rows cols" followed by rows*cols values in row-major order (%.17g). Entries already in the
file are kept when the new run agrees with them to rounding (1e-12 of the entry's scale): BLAS
builds differ in the last bits of matrix products, and the file should change only where the
numbers do. A larger difference replaces the entry.
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
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_values.txt")


def read_committed(file):
    """The arrays of an existing reference file, by name (empty when there is none)."""
    arrays = {}
    if os.path.exists(file):
        with open(file) as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("#")]
        for header, values in zip(lines[::2], lines[1::2]):
            name, rows, cols = header.split()
            arrays[name] = np.array([float(v) for v in values.split()]).reshape(int(rows), int(cols))
    return arrays


committed = read_committed(path)


def put(name, a):
    """Stores a reference array and returns what is stored (later entries derive from that)."""
    a = as_reference(a)
    old = committed.get(name)
    scale = np.abs(a).max() if a.size else 0.0
    if old is not None and old.shape == a.shape and np.all(np.abs(old - a) <= 1e-12 * scale):
        a = old
    out[name] = a
    return a


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
precision = put("precision", precision)
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

# --- rsatoolbox's conventions --------------------------------------------------------------------
# rsatoolbox is not installed here: its formulas (rsatoolbox.rdm.calc) are re-implemented below.
# Every one divides by the number of channels p, and its 'euclidean' and 'mahalanobis' are squared.
# No random draws here, so every entry above stays as it was.


def rsa_euclidean(m):
    """calc_rdm_euclidean: (|x_i|^2 + |x_j|^2 - 2 x_i.x_j) / p, upper triangle."""
    sum_sq = np.sum(m**2, axis=1, keepdims=True)
    rdm = sum_sq + sum_sq.T - 2 * m @ m.T
    return rdm[np.triu_indices(m.shape[0], 1)] / m.shape[1]


def rsa_mahalanobis(m, noise):
    """calc_rdm_mahalanobis: K = X noise X'; (K_ii + K_jj - 2 K_ij) / p (squared Mahalanobis)."""
    kernel = m @ noise @ m.T
    rdm = np.diag(kernel)[None, :] + np.diag(kernel)[:, None] - 2 * kernel
    return rdm[np.triu_indices(m.shape[0], 1)] / m.shape[1]


def rsa_crossnobis(runs, noise):
    """calc_rdm_crossnobis with one pattern per condition and run: leave one run out, the mean
    of the other runs against the left-out run (_calc_rdm_crossnobis_single: K = A noise B',
    (K_ii + K_jj - K_ij - K_ji) / p), averaged over the folds."""
    folds = []
    for s in range(runs.shape[0]):
        train = np.delete(runs, s, axis=0).mean(axis=0)
        kernel = train @ noise @ runs[s].T
        rdm = np.diag(kernel)[None, :] + np.diag(kernel)[:, None] - kernel - kernel.T
        folds.append(rdm[np.triu_indices(runs.shape[1], 1)] / runs.shape[2])
    return np.mean(folds, axis=0)


for name in ("x", "x_relu", "x_ties"):
    data = out[name]
    # The kernel form cancels ~p*eps*|x|^2; distances do not change under a common shift, so the
    # oracle runs it on feature-centred data (x_relu has mean 100) and checks it against pdist.
    d = rsa_euclidean(data - data.mean(axis=0))
    np.testing.assert_allclose(d, pdist(data, "sqeuclidean") / data.shape[1], rtol=1e-12)
    put(f"{name}_rsatoolbox_euclidean", d)
d = rsa_mahalanobis(x - x.mean(axis=0), precision)
np.testing.assert_allclose(d, pdist(x, "mahalanobis", VI=precision) ** 2 / x.shape[1], rtol=1e-12)
put("x_rsatoolbox_mahalanobis", d)
for label, noise in (("", precision), ("_identity", np.eye(runs.shape[2]))):
    d = rsa_crossnobis(runs, noise)
    if label == "":  # the same number by the definition above, up to the factor p
        np.testing.assert_allclose(d * runs.shape[2], cn, rtol=1e-12, atol=1e-12 * np.abs(cn).max())
    put(f"runs_rsatoolbox_crossnobis{label}", d)

write_reference(path, out, f"made by make_reference.py with numpy {np.__version__}, scipy {scipy.__version__}")
