#!/usr/bin/python3
"""End-to-end reference of the figure programs under --paper-compat: the paper's formulas
(../shared/reference/paper-spec.md §4-§10) re-implemented in float64 numpy on a small synthetic
dataset in the paper's data.zip layout, to check that fig2_top3_rois, fig3b_grouped_rois,
fig1_functional_map and fig3a_grouped_searchlight reproduce them.

Run with Debian's python3 (python3-numpy, python3-scipy, python3-nibabel):
    /usr/bin/python3 tests/reference/make_paper_compat_reference.py
        rewrites tests/reference/paper_compat_values.txt (format: reference_file.py); the dataset is
        written to a temporary folder and removed.
    /usr/bin/python3 tests/reference/make_paper_compat_reference.py --data-only DIR
        writes only the dataset into DIR (what ctest does) and prints its hash.
Then tests/reference/check_paper_compat.py compares the programs' CSV outputs with the values
(ctest -R paper_compat runs all of it: examples/CMakeLists.txt). Both exit with 77 (ctest's skip)
when numpy, scipy or nibabel are missing.

The dataset (deterministic, numpy seeded; n = 12 conditions, S = 5 subjects):
- RDM_taskonomy_bonner50/: the 19 paper tasks (random included) x layers block4 and
  encoder_output, variable 'rdm' (12 x 12, symmetric, zero diagonal), named in the reader's three
  forms <task>_<layer>.mat, <task>_encoder_<layer>.mat and <task>_feedforward_encoder_<layer>.mat.
  Each task's RDM mixes its group's latent RDM (2D, 3D, semantic), its own and layer noise.
- kastner_ROIs_RDMs_pearson/<roi>.mat ('subject_rdm', 5 x 12 x 12) for V1v, "hV4 " (trailing space),
  VO1 and "V3a " (weak signal), listed in ROIfiles_Labeling.txt (CSV: id, roi); each subject's RDM
  is a mix of a few tasks' RDMs plus subject noise.
- mask.nii: an irregular 10 x 10 x 10 mask; sl_rad=1__max_blk_edge=2/all_sub_slrdms.npy
  (float32, 5 x N_sl x 12 x 12), N_sl the blocks of the paper's get_blocks (BrainIAK's: stride 2,
  outer blocks of edge 4 truncated at the border, kept when their core, the block minus 1 voxel on
  each side, holds a mask voxel; x, then y, then z), each block planted with a 2D, 3D or semantic
  task's RDM or noise only; noise_ceiling_lower.npy / noise_ceiling_upper.npy from the paper's
  Spearman formulas (§7: rho of each subject with the raw mean of the others / of all, averaged
  over subjects; rho of the upper triangles, scipy's average ranks).
The values file's comment line holds data_sha256, a hash of the dataset as read back from its
files (arrays, not file bytes: .mat headers carry a date); the checker recomputes it on the folder
the programs read, so the committed values and the regenerated data cannot drift apart.

The paper's formulas (float64; an RDM is its upper triangle in row-major order, m = 66 entries):
- OLS with an intercept by numpy lstsq, R^2 = SS_reg / SS_tot, adjusted R^2 with p = the number
  of predictor RDMs (2 per DNN or group, 6 for three together), R = sqrt(max(adjusted R^2, 0));
- vpart3 on the concatenated designs (7 regressions; fractions in the library's subset order
  {1}, {2}, {1,2}, {3}, {1,3}, {2,3}, {1,2,3}); the total is the adjusted R^2 of all three;
- top-3 per ROI by R of the subject-mean RDM (NaN -> 0; ties: a stable sort keeps the task order,
  as the library's descending_order; the data have no ties, which the script asserts);
- groups = the mean of the members' RDMs per layer (§10; every member present);
- permutation p-values (§6.2): the 66 entries of the subject-mean RDM permuted, one-sided
  (null >= observed), p = (count + 1) / (N + 1); differences in both orders;
- the paper's FDR within each target (§6.2 step 5): BH over the models, and over the pairs in the
  observed direction (mirrored, diagonal 1 / (N + 1));
- Fig. 1 / 3a second-level FDR (§6.5): per model BH across the searchlights whose lower noise
  ceiling exceeds 0.033 of the within-searchlight BH p; Fig. 3a's best-vs-others rule (the largest
  within-corrected pair p of the best group, BH across those searchlights);
- the error bars (§6.3): SD over subsamples of int(0.9 n) = 10 of the 12 conditions without
  replacement, with the SUMMED joint models in vpart (the paper's bug). With 12 conditions there
  are only C(12, 10) = 66 subsamples, so the reference is exact: the SD over all 66 (ddof 0), the
  limit of the programs' sample SD (ddof 1) over random subsamples;
- ROI noise ceilings: the same Spearman formulas as the searchlights' (the programs compute them).

What the checker compares, and how closely:
- deterministic quantities, to 1e-9 (absolute): ROI R of every model, the ranking and top-3
  members, the 7 fractions and total R^2 of Fig. 2 and 3b, the noise ceilings, searchlight
  centres (the get_blocks order) and argmax, the passed-through searchlight noise ceilings; and
  the p-value logic given the programs' own raw p-values: the paper's FDR within each ROI (Fig. 2,
  3b: bars and pairs), the two-stage FDR of Fig. 1 / 3a (p, p_corrected) and their labels (exact);
- searchlight scores (R per model for Fig. 1, unique variances for Fig. 3a): the programs read
  all_sub_slrdms.npy as float32 and average and fit in float32 (io::searchlight_rdm_input holds
  rdm_stack<float>), so they agree with the float64 formulas to float32 rounding only: tolerance
  2e-5 absolute (the script stores float32-exact data, so the input itself is not rounded);
  argmax compared where the top two differ by more than that;
- permutation p-values, the programs' N_lib (their own Philox permutations) against the script's
  N_ref numpy permutations: |p_lib - p_ref| <= 5 sqrt(p (1 - p) (1/N_lib + 1/N_ref)) + 1/N_lib +
  1/N_ref, p the mean of the two (5 sigma: some 2,000 p-values are compared);
- error bars (SD over subsamples): |sd_lib - sd_ref| <= 5 sqrt((mu4 - sigma^4) / N_lib) / (2 sigma)
  + 1e-9, the sampling SE of a sample SD from the exact 4th moment over the 66 subsamples.
The checker prints each quantity's worst deviation (and the bound's use) and fails naming the
first quantity, row and column outside its tolerance.
"""
import argparse
import hashlib
import itertools
import os
import shutil
import sys
import tempfile

try:
    import numpy as np
    import scipy.io as sio
    import nibabel as nib
    from scipy import stats
except ImportError as e:  # ctest's SKIP_RETURN_CODE
    print(f"SKIP: {e}; install python3-numpy python3-scipy python3-nibabel", file=sys.stderr)
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from reference_file import as_reference, write_reference  # noqa: E402

# --- the paper's constants ---------------------------------------------------------------------
TASKS = ["autoencoder", "class_1000", "class_places", "colorization", "curvature", "denoise",
         "edge2d", "edge3d", "inpainting_whole", "keypoint2d", "keypoint3d", "reshade",
         "rgb2depth", "rgb2mist", "rgb2sfnorm", "segment25d", "segment2d", "segmentsemantic",
         "random"]
LAYERS = ["block4", "encoder_output"]
GROUPS = {"2D": ["autoencoder", "colorization", "denoise", "edge2d", "inpainting_whole",
                 "keypoint2d", "segment2d"],
          "3D": ["curvature", "edge3d", "reshade", "rgb2depth", "rgb2mist", "rgb2sfnorm",
                 "segment25d", "keypoint3d"],
          "semantic": ["class_1000", "class_places", "segmentsemantic"]}
GROUP_NAMES = ["2D", "3D", "semantic"]
NC_THRESHOLD = 0.033
ALPHA = 0.05
N_COND, SUBJECTS = 12, 5
ROIS = ["V1v", "hV4 ", "VO1", "V3a "]
SL_FOLDER = "sl_rad=1__max_blk_edge=2"
SEED = 20211
N_REF = 20000
# Subsets of 3 positions in the library's row order (row s - 1 holds subset s, bit j = position j).
SUBSETS = [(0,), (1,), (0, 1), (2,), (0, 2), (1, 2), (0, 1, 2)]
PAIRS = [(0, 1), (0, 2), (1, 2)]
IU = np.triu_indices(N_COND, 1)
M = len(IU[0])


# --- data --------------------------------------------------------------------------------------
def square(v, dtype=np.float64):
    """The symmetric zero-diagonal matrix of an upper-triangle vector."""
    a = np.zeros((N_COND, N_COND), dtype=dtype)
    a[IU] = v
    return a + a.T


def zs(v):
    return (v - v.mean()) / v.std()


def get_blocks(mask, sl_rad=1, max_blk_edge=2):
    """The paper's searchlight_utils.get_blocks (BrainIAK's decomposition), §8.1."""
    blocks = []
    outer = max_blk_edge + 2 * sl_rad
    for i in range(0, mask.shape[0], max_blk_edge):
        for j in range(0, mask.shape[1], max_blk_edge):
            for k in range(0, mask.shape[2], max_blk_edge):
                shape = mask[i:i + outer, j:j + outer, k:k + outer].shape
                if np.any(mask[i + sl_rad:i + shape[0] - sl_rad, j + sl_rad:j + shape[1] - sl_rad,
                               k + sl_rad:k + shape[2] - sl_rad]):
                    blocks.append(((i, j, k), shape))
    return blocks


def make_dataset():
    """Every array of the dataset, deterministically."""
    rng = np.random.default_rng(SEED)
    latent = {g: zs(rng.standard_normal(M)) for g in GROUP_NAMES}
    models = {}  # task -> (2, M)
    for t in TASKS:
        group = next((g for g in GROUP_NAMES if t in GROUPS[g]), None)
        own = zs(rng.standard_normal(M))
        base = own if group is None else 0.8 * latent[group] + 0.6 * own
        layers = [1.0 + 0.2 * zs(base + 0.5 * rng.standard_normal(M)) for _ in LAYERS]
        models[t] = np.array(layers)

    def mix(weights):
        return sum(w * zs(models[t][layer]) for t, layer, w in weights)

    roi_signal = {
        "V1v": [("edge2d", 1, 1.0), ("denoise", 0, 0.6), ("segment2d", 1, 0.35)],
        "hV4 ": [("keypoint3d", 1, 1.0), ("segment25d", 0, 0.55), ("curvature", 1, 0.3)],
        "VO1": [("segmentsemantic", 1, 1.0), ("class_places", 0, 0.5), ("edge2d", 0, 0.25)],
        "V3a ": [("rgb2depth", 1, 0.45), ("class_1000", 0, 0.3)],
    }
    rois = {}
    for r in ROIS:
        signal = mix(roi_signal[r])
        rois[r] = np.array([1.0 + 0.15 * (signal + 0.9 * rng.standard_normal(M))
                            for _ in range(SUBJECTS)])

    # An irregular mask: an ellipsoid with a few holes and a stray voxel.
    g = np.indices((10, 10, 10)).astype(float)
    mask = (((g[0] - 4.6) / 4.2) ** 2 + ((g[1] - 4.4) / 3.6) ** 2 + ((g[2] - 5.0) / 4.4) ** 2) <= 1
    mask &= rng.random(mask.shape) > 0.1
    mask[0, 0, 9] = True
    mask[1, 8, 1] = True
    mask = mask.astype(np.uint8)
    blocks = get_blocks(mask)
    sl = []
    kinds = []
    for b, ((i, j, k), _) in enumerate(blocks):
        kind = (i // 2 + 2 * (j // 2) + k // 2) % 5  # 0 2D, 1 3D, 2 semantic, 3 and 4 noise
        kinds.append(kind)
        if kind == 0:
            signal = mix([("edge2d", 1, 1.0), ("autoencoder", 0, 0.5), ("keypoint2d", 1, 0.4)])
        elif kind == 1:
            signal = mix([("rgb2depth", 1, 1.0), ("reshade", 0, 0.5), ("edge3d", 1, 0.4)])
        elif kind == 2:
            signal = mix([("class_1000", 1, 1.0), ("segmentsemantic", 0, 0.6)])
        else:
            signal = np.zeros(M)
        scale = 0.5 + 0.5 * rng.random()
        sl.append([scale * signal + (1.2 if kind < 3 else 1.0) * rng.standard_normal(M)
                   for _ in range(SUBJECTS)])
    sl = np.array(sl).transpose(1, 0, 2)  # S x N_sl x M
    sl_square = np.zeros((SUBJECTS, len(blocks), N_COND, N_COND), dtype=np.float32)
    for s in range(SUBJECTS):
        for b in range(len(blocks)):
            sl_square[s, b] = square((1.0 + 0.1 * sl[s, b]).astype(np.float32), np.float32)
    return dict(models=models, rois=rois, mask=mask, blocks=blocks, sl=sl_square, kinds=kinds)


def spearman(a, b):
    return stats.spearmanr(a, b)[0]


def noise_ceiling(stack):
    """The paper's lower and upper bounds (§7) of a (S, M) stack: Spearman rho of each subject with
    the raw mean of the others / of all, averaged over subjects."""
    s = stack.shape[0]
    lower = np.mean([spearman(stack[i], np.delete(stack, i, axis=0).mean(axis=0)) for i in range(s)])
    upper = np.mean([spearman(stack[i], stack.mean(axis=0)) for i in range(s)])
    return lower, upper


def file_stem(task, layer, index):
    """One of the reader's three naming forms."""
    if task.startswith("class_"):
        return f"{task}_feedforward_encoder_{layer}"
    return f"{task}_encoder_{layer}" if index % 2 else f"{task}_{layer}"


def write_dataset(data, folder):
    os.makedirs(folder, exist_ok=True)
    models_dir = os.path.join(folder, "RDM_taskonomy_bonner50")
    rois_dir = os.path.join(folder, "kastner_ROIs_RDMs_pearson")
    sl_dir = os.path.join(folder, SL_FOLDER)
    for d in (models_dir, rois_dir, sl_dir):
        os.makedirs(d, exist_ok=True)
    for index, t in enumerate(TASKS):
        for l, layer in enumerate(LAYERS):
            sio.savemat(os.path.join(models_dir, file_stem(t, layer, index) + ".mat"),
                        {"rdm": square(data["models"][t][l])})
    for r in ROIS:
        sio.savemat(os.path.join(rois_dir, r + ".mat"),
                    {"subject_rdm": np.array([square(v) for v in data["rois"][r]])})
    with open(os.path.join(folder, "ROIfiles_Labeling.txt"), "w") as f:
        f.write("id,roi\n")
        for i, r in enumerate(ROIS):
            f.write(f"{i + 1},{r}\n")
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-10.0, -12.0, -8.0]
    nib.save(nib.Nifti1Image(data["mask"], affine), os.path.join(folder, "mask.nii"))
    np.save(os.path.join(sl_dir, "all_sub_slrdms.npy"), data["sl"])
    stacks = data["sl"].astype(np.float64)[:, :, IU[0], IU[1]]  # S x N_sl x M
    nc = np.array([noise_ceiling(stacks[:, b]) for b in range(stacks.shape[1])])
    np.save(os.path.join(sl_dir, "noise_ceiling_lower.npy"), nc[:, 0])
    np.save(os.path.join(sl_dir, "noise_ceiling_upper.npy"), nc[:, 1])


def read_dataset(folder):
    """The dataset as read back from its files: models (task -> (2, M)), rois (name -> (S, M)),
    mask, searchlight stacks (S, N_sl, M) float64 of the float32 file, noise ceilings (N_sl, 2)."""
    models_dir = os.path.join(folder, "RDM_taskonomy_bonner50")
    models = {}
    for index, t in enumerate(TASKS):
        models[t] = np.array([sio.loadmat(os.path.join(models_dir, file_stem(t, layer, index)
                                                       + ".mat"))["rdm"][IU] for layer in LAYERS])
    rois = {}
    for r in ROIS:
        a = sio.loadmat(os.path.join(folder, "kastner_ROIs_RDMs_pearson", r + ".mat"))["subject_rdm"]
        rois[r] = a[:, IU[0], IU[1]]
    image = nib.load(os.path.join(folder, "mask.nii"))
    mask = np.asarray(image.dataobj)
    sl = np.load(os.path.join(folder, SL_FOLDER, "all_sub_slrdms.npy"))
    nc = np.stack([np.load(os.path.join(folder, SL_FOLDER, f"noise_ceiling_{b}.npy"))
                   for b in ("lower", "upper")], axis=1)
    with open(os.path.join(folder, "ROIfiles_Labeling.txt"), "rb") as f:
        labels = f.read()
    return dict(models=models, rois=rois, mask=mask, affine=image.affine, sl_raw=sl,
                sl=sl.astype(np.float64)[:, :, IU[0], IU[1]], nc=nc, labels=labels)


def dataset_hash(d):
    h = hashlib.sha256()
    for t in TASKS:
        h.update(t.encode() + np.ascontiguousarray(d["models"][t], dtype="<f8").tobytes())
    for r in ROIS:
        h.update(r.encode() + np.ascontiguousarray(d["rois"][r], dtype="<f8").tobytes())
    for a in (d["mask"].astype("<f8"), d["affine"].astype("<f8"), d["sl_raw"].astype("<f4"),
              d["nc"].astype("<f8")):
        h.update(str(a.shape).encode() + np.ascontiguousarray(a).tobytes())
    h.update(d["labels"])
    return h.hexdigest()


# --- the paper's formulas ----------------------------------------------------------------------
def adjusted_r2(x, y):
    """x: (p, m) predictor RDMs (ind_var), y: (m,) or (m, T). OLS with an intercept by lstsq,
    R^2 = SS_reg / SS_tot (the paper's score()), adjusted with p predictors."""
    y2 = y.reshape(len(y), -1)
    m, p = x.shape[1], x.shape[0]
    design = np.column_stack([np.ones(m), x.T])
    beta = np.linalg.lstsq(design, y2, rcond=None)[0]
    fitted = design @ beta
    mean = y2.mean(axis=0)
    r2 = ((fitted - mean) ** 2).sum(axis=0) / ((y2 - mean) ** 2).sum(axis=0)
    adj = 1 - (1 - r2) * (m - 1) / (m - p - 1)
    return adj if y.ndim > 1 else adj[0]


def multiple_r(x, y):
    return np.sqrt(np.maximum(adjusted_r2(x, y), 0.0))


def vpart3(designs, y):
    """designs: three (p_i, m) arrays; the joint designs concatenate them (list concatenation).
    Returns the 7 fractions (library order) and the total R123."""
    r = {}
    for subset in SUBSETS:
        r[subset] = adjusted_r2(np.concatenate([designs[i] for i in subset]), y)
    return vpart3_from(r), r[(0, 1, 2)]


def vpart3_from(r):
    r1, r2, r3 = r[(0,)], r[(1,)], r[(2,)]
    r12, r13, r23, r123 = r[(0, 1)], r[(0, 2)], r[(1, 2)], r[(0, 1, 2)]
    y123 = r1 + r2 + r3 - r12 - r13 - r23 + r123
    y12 = r1 + r2 - r12 - y123
    y13 = r1 + r3 - r13 - y123
    y23 = r2 + r3 - r23 - y123
    y1 = r1 - y12 - y13 - y123
    y2 = r2 - y12 - y23 - y123
    y3 = r3 - y13 - y23 - y123
    return np.array([y1, y2, y12, y3, y13, y23, y123])


def vpart3_summed(designs, y):
    """The paper's bootstrap vpart3 (§6.3 bug): the unions are element-wise SUMS (2 predictors)."""
    r = {s: adjusted_r2(sum(designs[i] for i in s), y) for s in SUBSETS}
    return vpart3_from(r)


def grouped_designs(models):
    return [np.mean([models[t] for t in GROUPS[g]], axis=0) for g in GROUP_NAMES]


def top3(scores):
    """Indices of the 3 best by R (NaN -> 0), stable for ties (task order); the data have no tie
    among the first 4 (many R are 0 on the weak ROI, but below the top 3)."""
    s = np.nan_to_num(scores, nan=0.0)
    order = np.argsort(-s, kind="stable")
    assert np.all(np.diff(s[order[:4]]) < 0), "ties in the top 3"
    return order[:3]


def bh(p):
    """Benjamini-Hochberg adjusted p-values (statsmodels fdrcorrection, method 'indep')."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if q.size == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order] * q.size / np.arange(1, q.size + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty_like(q)
    adjusted[order] = np.minimum(ranked, 1.0)
    out[ok] = adjusted
    return out


def fdr_within(p, observed, p_diff, n_perm):
    """The paper's FDR within one target (§6.2 step 5). p: (k,), observed: (k,), p_diff: (k, k)
    one-sided p of a - b >= observed. Returns BH(p) and the (k, k) pair p-values."""
    k = len(p)
    upper = []
    for a in range(k):
        for b in range(a + 1, k):
            d = observed[a] - observed[b]
            upper.append(p_diff[a, b] if d > 0 else p_diff[b, a] if d < 0 else 1.0 / (n_perm + 1))
    adjusted = bh(upper)
    pairs = np.full((k, k), 1.0 / (n_perm + 1))
    i = 0
    for a in range(k):
        for b in range(a + 1, k):
            pairs[a, b] = pairs[b, a] = adjusted[i]
            i += 1
    return bh(p), pairs


def two_stage(p_raw, lnc, best):
    """Fig. 1 / 3a (§6.5). p_raw: (T, D) raw p; lnc: (T,); best: (T,). Returns per searchlight the
    best's within-corrected p, its twice-corrected p (NaN outside the family) and the label (-1
    where not significant)."""
    t_count, d_count = p_raw.shape
    family = lnc > NC_THRESHOLD
    within = np.full((t_count, d_count), np.nan)
    diff = np.full(t_count, np.nan)
    for t in np.flatnonzero(family):
        within[t] = bh(p_raw[t])
    twice = np.full((t_count, d_count), np.nan)
    for d in range(d_count):
        twice[family, d] = bh(within[family, d])
    p1 = np.array([within[t, best[t]] for t in range(t_count)])
    p2 = np.array([twice[t, best[t]] for t in range(t_count)])
    label = np.where(family & (p2 <= ALPHA), best, -1)
    return p1, p2, label


def fig3a_rule(p_raw, scores, p_diff, lnc, best, n_perm):
    """Fig. 3a's best-vs-others: per searchlight of the family the largest within-corrected pair p
    of the best group (its diagonal 1/(N+1) included), BH across the family."""
    family = lnc > NC_THRESHOLD
    worst = np.full(len(lnc), np.nan)
    for t in np.flatnonzero(family):
        _, pairs = fdr_within(p_raw[t], scores[t], p_diff[t], n_perm)
        worst[t] = pairs[best[t]].max()
    return bh(worst)


# --- permutations ------------------------------------------------------------------------------
def basis(x):
    """Orthonormal basis of the centred predictors x (p, m): (m, rank)."""
    c = x.T - x.T.mean(axis=0)
    q, r = np.linalg.qr(c)
    keep = np.abs(np.diag(r)) > 1e-10 * np.abs(np.diag(r)).max()
    return q[:, keep]


class Scorer:
    """Adjusted R^2 of fixed designs for many targets at once by projections (the same numbers as
    adjusted_r2 up to rounding; used for the permutation nulls)."""

    def __init__(self, designs):
        self.q = [basis(x) for x in designs]
        self.p = [x.shape[0] for x in designs]

    def __call__(self, y):  # y: (m, T) -> (len(designs), T)
        c = y - y.mean(axis=0)
        total = (c ** 2).sum(axis=0)
        out = []
        for q, p in zip(self.q, self.p):
            r2 = ((q.T @ c) ** 2).sum(axis=0) / total
            out.append(1 - (1 - r2) * (M - 1) / (M - p - 1))
        return np.array(out)


def permutation_p(statistic, y, n_perm, rng, batch=500):
    """Entry-permutation p-values (§6.2) of statistic(y) -> (D, T): one-sided per row, and of
    every ordered difference. y: (m, T). Returns observed (D, T), p (D, T), p_diff (D, D, T)."""
    observed = statistic(y)
    count = np.zeros(observed.shape)
    dobs = observed[:, None, :] - observed[None, :, :]
    count_diff = np.zeros(dobs.shape)
    done = 0
    while done < n_perm:
        b = min(batch, n_perm - done)
        perms = np.array([rng.permutation(M) for _ in range(b)])
        yp = y[perms]  # b x m x T
        null = statistic(yp.transpose(1, 0, 2).reshape(M, -1)).reshape(observed.shape[0], b, -1)
        count += (null >= observed[:, None, :]).sum(axis=1)
        dnull = null[:, None] - null[None, :]
        count_diff += (dnull >= dobs[:, :, None, :]).sum(axis=2)
        done += b
    return observed, (count + 1) / (n_perm + 1), (count_diff + 1) / (n_perm + 1)


def partition_statistic(designs, summed=False):
    """The 7 fractions (rows) for many targets."""
    unions = [sum(designs[i] for i in s) if summed else np.concatenate([designs[i] for i in s])
              for s in SUBSETS]
    scorer = Scorer(unions)

    def statistic(y):
        r = scorer(y)
        return vpart3_from({s: r[i] for i, s in enumerate(SUBSETS)})

    return statistic


def subsample_sd(statistic_on_square, target_square, k):
    """The paper's error bars over ALL subsamples of k conditions: the population SD (ddof 0) and
    the unit SE of a sample SD, sqrt(mu4 - sigma^4) / (2 sigma)."""
    draws = np.array([statistic_on_square(np.array(idx))
                      for idx in itertools.combinations(range(N_COND), k)])
    sd = draws.std(axis=0)
    mu4 = ((draws - draws.mean(axis=0)) ** 4).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.sqrt(np.maximum(mu4 - sd ** 4, 0.0)) / (2 * sd)
    return sd, np.nan_to_num(unit)


def sub(v, idx):
    """The upper triangle of the idx x idx sub-block of the RDM whose upper triangle is v."""
    a = square(v)[np.ix_(idx, idx)]
    return a[np.triu_indices(len(idx), 1)]


def adjusted_r2_m(x, y):
    """adjusted_r2 for any number of entries (the subsamples have 45 of 66)."""
    m, p = x.shape[1], x.shape[0]
    design = np.column_stack([np.ones(m), x.T])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    fitted = design @ beta
    r2 = ((fitted - y.mean()) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return 1 - (1 - r2) * (m - 1) / (m - p - 1)


def summed_fractions_sub(designs, y, idx):
    ds = [np.array([sub(layer, idx) for layer in d]) for d in designs]
    ys = sub(y, idx)
    r = {s: adjusted_r2_m(sum(ds[i] for i in s), ys) for s in SUBSETS}
    return vpart3_from(r)


# --- the reference -----------------------------------------------------------------------------
def compute(d, n_ref):
    out = {}
    rng = np.random.default_rng(SEED + 1)
    models = d["models"]
    designs = [models[t] for t in TASKS]
    k_sub = N_COND * 9 // 10
    put = lambda name, a: out.__setitem__(name, as_reference(a))  # noqa: E731

    # ROIs: every DNN (Fig. 2 stage 1).
    means = {r: d["rois"][r].mean(axis=0) for r in ROIS}
    roi_r = np.array([[multiple_r(x, means[r]) for x in designs] for r in ROIS])
    put("roi_R", roi_r)
    scorer = Scorer(designs)
    r_stat = lambda y: np.sqrt(np.maximum(scorer(y), 0.0))  # noqa: E731
    y_rois = np.column_stack([means[r] for r in ROIS])
    obs, p, _ = permutation_p(r_stat, y_rois, n_ref, rng)
    assert np.allclose(obs.T, roi_r, atol=1e-12)
    put("roi_R_p", p.T)
    sds, units = [], []
    for r in ROIS:
        sd, unit = subsample_sd(
            lambda idx: np.array([np.sqrt(max(adjusted_r2_m(np.array([sub(l, idx) for l in x]),
                                                            sub(means[r], idx)), 0.0))
                                  for x in designs]), None, k_sub)
        sds.append(sd)
        units.append(unit)
    put("roi_R_sd", sds)
    put("roi_R_sd_unit", units)
    nc = np.array([noise_ceiling(d["rois"][r]) for r in ROIS])
    put("roi_nc", nc)

    # Fig. 2 stage 2 and Fig. 3b: vpart3 of the top 3 / of the groups.
    for name, chosen in (("top3", [[designs[i] for i in top3(roi_r[j])] for j in range(len(ROIS))]),
                         ("grouped", [grouped_designs(models)] * len(ROIS))):
        fractions, total, p_frac, p_pairs, sd_all, unit_all, unique_fdr, pair_fdr = ([] for _ in
                                                                                     range(8))
        for j, r in enumerate(ROIS):
            f, tv = vpart3(chosen[j], means[r])
            fractions.append(f)
            total.append(tv)
            obs, p, pd = permutation_p(partition_statistic(chosen[j]), means[r][:, None], n_ref,
                                       rng)
            assert np.allclose(obs[:, 0], f, atol=1e-12)
            p_frac.append(p[:, 0])
            unique_rows = [0, 1, 3]
            pu = p[unique_rows, 0]
            pdu = pd[np.ix_(unique_rows, unique_rows)][:, :, 0]
            p_pairs.append([pdu[a, b] for a, b in PAIRS] + [pdu[b, a] for a, b in PAIRS])
            fu, pp = fdr_within(pu, f[unique_rows], pdu, n_ref)
            unique_fdr.append(fu)
            pair_fdr.append([pp[a, b] for a, b in PAIRS])
            sd, unit = subsample_sd(lambda idx: summed_fractions_sub(chosen[j], means[r], idx),
                                    None, k_sub)
            sd_all.append(sd)
            unit_all.append(unit)
        if name == "top3":
            put("top3_members", [top3(roi_r[j]) for j in range(len(ROIS))])
        put(f"{name}_fractions", fractions)
        put(f"{name}_total", total)
        put(f"{name}_fraction_p", p_frac)
        put(f"{name}_pair_p", p_pairs)
        put(f"{name}_unique_fdr", unique_fdr)
        put(f"{name}_pair_fdr", pair_fdr)
        put(f"{name}_fraction_sd", sd_all)
        put(f"{name}_fraction_sd_unit", unit_all)

    # Searchlights (Fig. 1, 3a).
    blocks = get_blocks(d["mask"])
    put("sl_centres", [b[0] for b in blocks])
    y_sl = d["sl"].mean(axis=0).T  # m x N_sl
    lnc = d["nc"][:, 0]
    put("sl_nc", d["nc"])
    sl_r = np.array([multiple_r(x, y_sl) for x in designs]).T  # N_sl x D
    put("sl_R", sl_r)
    obs, p, _ = permutation_p(r_stat, y_sl, n_ref, rng, batch=100)
    assert np.allclose(obs.T, sl_r, atol=1e-12)
    put("sl_R_p", p.T)
    best = np.argmax(sl_r, axis=1)
    put("sl_best", best)
    p1, p2, label = two_stage(p.T, lnc, best)
    put("sl_p_within", p1)
    put("sl_p_twice", p2)
    put("sl_label", label)
    groups = grouped_designs(models)
    unique = np.array([vpart3(groups, y_sl[:, t])[0][[0, 1, 3]] for t in range(y_sl.shape[1])])
    put("gsl_unique", unique)
    stat = partition_statistic(groups)
    obs, p, pd = permutation_p(lambda y: stat(y)[[0, 1, 3]], y_sl, n_ref, rng, batch=100)
    assert np.allclose(obs.T, unique, atol=1e-12)
    put("gsl_p", p.T)
    put("gsl_p_difference", [[pd[a, b, t] for a in range(3) for b in range(3) if a != b]
                             for t in range(y_sl.shape[1])])
    gbest = np.argmax(unique, axis=1)
    put("gsl_best", gbest)
    p1, p2, label = two_stage(p.T, lnc, gbest)
    rule = fig3a_rule(p.T, unique, pd.transpose(2, 0, 1), lnc, gbest, n_ref)
    label = np.where((label >= 0) & (rule <= ALPHA), label, -1)
    put("gsl_p_within", p1)
    put("gsl_p_twice", p2)
    put("gsl_label", label)
    put("meta", [N_COND, SUBJECTS, n_ref, k_sub, len(blocks)])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-only", metavar="DIR", help="write only the dataset into DIR")
    parser.add_argument("--values", default=os.path.join(here, "paper_compat_values.txt"))
    parser.add_argument("--permutations", type=int, default=N_REF)
    args = parser.parse_args()
    data = make_dataset()
    if args.data_only:
        if os.path.isdir(args.data_only):
            shutil.rmtree(args.data_only)
        write_dataset(data, args.data_only)
        print(f"wrote the dataset to {args.data_only}: data_sha256={dataset_hash(read_dataset(args.data_only))}")
        return
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(data, folder)
        d = read_dataset(folder)
    digest = dataset_hash(d)
    print(f"{len(data['blocks'])} searchlights, kinds {np.bincount(data['kinds'])}; computing")
    out = compute(d, args.permutations)
    write_reference(args.values, out,
                    f"make_paper_compat_reference.py (numpy {np.__version__}, scipy "
                    f"{stats.__name__ and __import__('scipy').__version__}); "
                    f"data_sha256={digest}")


if __name__ == "__main__":
    main()
