#!/usr/bin/python3
"""Reference numbers for the task-similarity tests (tests/analysis/task_similarity.test.cpp,
include/dnn2brain/analysis/task_similarity.hpp), computed with numpy and scipy only.

Run with Debian's python3 (python3-numpy, python3-scipy; the first python3 on PATH may lack them):
    /usr/bin/python3 tests/reference/make_task_similarity_reference.py [path/to/shared/data]
It rewrites tests/reference/task_similarity_values.txt in the format of reference_values.txt
(reference_file.py). Every input is generated here from fixed seeds and written into that file,
so the C++ test reads the same inputs rather than regenerating them:

- sim_rdms: 36 pairs (9 conditions) x 10 columns, model d's layer l in column 2d + l (5 models
  m0..m4, 2 layers), rounded to 0.1 so that the rank measures meet ties. For each measure
  (spearman: scipy.stats.spearmanr; pearson: scipy.stats.pearsonr; kendall_tau_a: the O(m^2)
  definition, (concordant - discordant) / (m(m - 1)/2)) the 5 x 5 matrices of layer 0 and layer 1,
  their mean (over layers) and the measure of the concatenated layer RDMs, each z-scored with the
  population sd (concat).
- cka_x0..cka_x3: 12 conditions x 5, 40, 120 and 40 features (the last with feature means near 50,
  built from cka_x2 so that it shares structure); cka_matrix: linear CKA of every pair by the
  feature-space formula ||Yc'Xc||_F^2 / (||Xc'Xc||_F ||Yc'Yc||_F), features centred.
- link<c>_d: square dissimilarity matrices; link<c>_z: scipy.cluster.hierarchy.linkage(
  squareform(d), method='average'); link<c>_leaves: leaves_list(Z), asserted equal to
  dendrogram(Z, no_plot=True)['leaves']; link<c>_fcluster: row k - 1 holds the flat clusters for
  k = 1..D (maxclust). Cases: 0 random; 1 points on a line (|i - j|, many tied distances); 2 all
  distances equal; 3 random integers 1..3 (ties at every level); 4 three interleaved blocks
  (link4_blocks gives each input's block); 5 one minus sim_spearman_mean.
  maxclust: scipy before the fix of gh-12651 (PR #21121) has a binary search that can never pick
  the lowest merge height and so may return fewer clusters than possible (Debian's scipy 1.10.1
  does). This script applies the fixed definition with scipy's own labelling:
  k >= D gives labels 1..D; otherwise the cut height t is the smallest value of maxdists(Z) whose
  fcluster(Z, t, 'distance') has at most k clusters, and the labels are that fcluster's (the
  'distance' criterion and 'maxclust' share cluster_monocrit's labelling).
- Taskonomy: aff_triples holds the first-order rows (order == 1) of
  shared/data/taskonomy/taskonomy_all_affinities.csv as (source, target, affinity), task names as
  indices into the "# affinity_tasks:" comment line (in order of first appearance, source then
  target); aff_similarity is a random symmetric 19 x 19 similarity over the names of the
  "# model_names:" line (the paper's 19 networks, analysis/paper_tasks.hpp). For each direction
  rule (both: the mean where both directions exist; either: the mean of those that exist)
  aff_<rule> = [Spearman rho (scipy.stats.spearmanr), number of pairs] over the pairs i < j of
  names that are tasks, and aff_<rule>_status gives per name 0 (no such task), 1 (in a pair) or
  2 (a task, but in no pair).
"""
import csv
import os
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.cluster.hierarchy import dendrogram, fcluster, leaves_list, linkage, maxdists
from scipy.spatial.distance import squareform

from reference_file import as_reference, write_reference

here = os.path.dirname(os.path.abspath(__file__))
data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data")
out = {}


def put(name, a):
    out[name] = as_reference(a)


def tau_a(x, y):
    m = len(x)
    s = 0.0
    for i in range(m - 1):
        s += np.sum(np.sign(x[i] - x[i + 1:]) * np.sign(y[i] - y[i + 1:]))
    return s / (m * (m - 1) / 2)


def matrix_of(columns, measure):
    d = columns.shape[1]
    s = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            s[a, b] = measure(columns[:, a], columns[:, b])
    return s


measures = {
    "spearman": lambda x, y: stats.spearmanr(x, y).correlation,
    "pearson": lambda x, y: stats.pearsonr(x, y)[0],
    "kendall_tau_a": tau_a,
}

# --- model x model similarity of layer RDMs -------------------------------------------------------
rng = np.random.default_rng(21)
n_models, n_layers, n_pairs = 5, 2, 36
latent = rng.standard_normal((n_pairs, 2))
rdms = np.empty((n_pairs, n_models * n_layers))
for d in range(n_models):
    w = rng.standard_normal(2)
    for l in range(n_layers):
        v = latent @ w + 0.8 * rng.standard_normal(n_pairs) + 1.5 * l
        rdms[:, d * n_layers + l] = np.round(np.abs(v) + 0.5, 1)
put("sim_rdms", rdms)
for name, f in measures.items():
    per_layer = [matrix_of(rdms[:, l::n_layers], f) for l in range(n_layers)]
    for l in range(n_layers):
        put(f"sim_{name}_layer{l}", per_layer[l])
    put(f"sim_{name}_mean", sum(per_layer) / n_layers)
    z = np.vstack([(rdms[:, l::n_layers] - rdms[:, l::n_layers].mean(0)) / rdms[:, l::n_layers].std(0)
                   for l in range(n_layers)])
    put(f"sim_{name}_concat", matrix_of(z, f))

# --- linear CKA -----------------------------------------------------------------------------------
rng = np.random.default_rng(22)
n = 12
xs = [rng.standard_normal((n, 5)), rng.standard_normal((n, 40)), rng.standard_normal((n, 120))]
xs[1][:, :5] += 2.0 * xs[0]  # shared structure, so CKA values spread over (0, 1)
xs.append(xs[2][:, :40] @ rng.standard_normal((40, 40)) * 0.1 + 50.0 + rng.standard_normal(40))
for k, x in enumerate(xs):
    put(f"cka_x{k}", x)


def cka(x, y):
    xc = x - x.mean(0)
    yc = y - y.mean(0)
    return np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))


put("cka_matrix", [[cka(a, b) for b in xs] for a in xs])

# --- average linkage, leaves, maxclust --------------------------------------------------------------
def maxclust(z, k):
    d = z.shape[0] + 1
    if k >= d:
        return np.arange(1, d + 1)
    for t in np.sort(maxdists(z)):
        labels = fcluster(z, t, criterion="distance")
        if labels.max() <= k:
            return labels
    raise AssertionError("the root's height always gives one cluster")


def symmetric(a):
    a = np.triu(a, 1)
    return a + a.T


rng = np.random.default_rng(23)
cases = [
    symmetric(rng.uniform(0.1, 1.0, (8, 8))),
    np.abs(np.subtract.outer(np.arange(7.0), np.arange(7.0))),
    symmetric(np.ones((5, 5))),
    symmetric(rng.integers(1, 4, (9, 9)).astype(float)),
]
blocks = np.array([0, 1, 2, 0, 1, 2, 2, 0, 1])
block_d = np.where(np.equal.outer(blocks, blocks), 0.1, 0.8) + symmetric(rng.uniform(0, 0.1, (9, 9)))
np.fill_diagonal(block_d, 0.0)
cases.append(block_d)
put("link4_blocks", blocks)
spearman_d = 1.0 - out["sim_spearman_mean"]
np.fill_diagonal(spearman_d, 0.0)
cases.append(spearman_d)
for c, d in enumerate(cases):
    z = linkage(squareform(d), method="average")
    leaves = leaves_list(z)
    assert list(leaves) == dendrogram(z, no_plot=True)["leaves"]
    put(f"link{c}_d", d)
    put(f"link{c}_z", z)
    put(f"link{c}_leaves", leaves)
    put(f"link{c}_fcluster", [maxclust(z, k) for k in range(1, d.shape[0] + 1)])
# The blocks are recovered: three clusters, one per block.
assert len({(a, b) for a, b in zip(out["link4_fcluster"][2].astype(int), blocks)}) == 3

# --- Taskonomy transfer affinities --------------------------------------------------------------------
model_names = ["autoencoder", "class_1000", "class_places", "colorization", "curvature", "denoise",
               "edge2d", "edge3d", "inpainting_whole", "keypoint2d", "keypoint3d", "reshade",
               "rgb2depth", "rgb2mist", "rgb2sfnorm", "segment25d", "segment2d", "segmentsemantic",
               "random"]
tasks, triples = [], []
with open(os.path.join(data_dir, "taskonomy", "taskonomy_all_affinities.csv")) as f:
    for row in csv.DictReader(f):
        if row["order"] != "1":
            continue
        for t in (row["sources"], row["target"]):
            if t not in tasks:
                tasks.append(t)
        triples.append((tasks.index(row["sources"]), tasks.index(row["target"]), float(row["affinity"])))
put("aff_triples", triples)
affinity = {(tasks[s], tasks[t]): v for s, t, v in triples}
assert len(affinity) == len(triples)
similarity = symmetric(rng.uniform(-0.2, 0.9, (19, 19)))
np.fill_diagonal(similarity, 1.0)
put("aff_similarity", similarity)
for rule in ("both", "either"):
    s, v = [], []
    used = set()
    for i in range(19):
        for j in range(i + 1, 19):
            a = affinity.get((model_names[i], model_names[j]))
            b = affinity.get((model_names[j], model_names[i]))
            known = [x for x in (a, b) if x is not None]
            if len(known) == 2:
                value = (a + b) / 2.0
            elif len(known) == 1 and rule == "either":
                value = known[0]
            else:
                continue
            s.append(similarity[i, j])
            v.append(value)
            used |= {i, j}
    put(f"aff_{rule}", [stats.spearmanr(s, v).correlation, len(s)])
    put(f"aff_{rule}_status",
        [1 if i in used else 2 if model_names[i] in tasks else 0 for i in range(19)])

comment = (f"made by make_task_similarity_reference.py with numpy {np.__version__}, "
           f"scipy {scipy.__version__}\n"
           f"# affinity_tasks: {' '.join(tasks)}\n"
           f"# model_names: {' '.join(model_names)}")
write_reference(os.path.join(here, "task_similarity_values.txt"), out, comment)
