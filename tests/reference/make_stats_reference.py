#!/usr/bin/python3
"""Reference numbers for the dnn2brain statistics tests: scipy t-tests, statsmodels multiple-
comparison corrections, noise ceilings of the n2b78 fMRI RDMs computed independently, partial
correlations (statsmodels OLS residuals, checked against the precision-matrix formula) and average
ranks (scipy.stats.rankdata).

Run with Debian's python3 (python3-scipy, python3-statsmodels):
    /usr/bin/python3 tests/reference/make_stats_reference.py [path/to/shared/data]
It rewrites tests/reference/stats_values.txt in the format of reference_values.txt.

Noise ceiling (Nili et al. 2014, as rsatoolbox pools RDMs): for Spearman each subject's condensed
RDM is rank-transformed before averaging; upper bound = subject vs mean of all, lower bound =
subject vs mean of the others (scipy.stats.spearmanr on the raw subject RDM); for Pearson the
RDMs are z-scored before averaging (scipy.stats.pearsonr). Net2Brain's procedure (its
NoiseCeiling class, Dwivedi et al. 2021) averages the raw RDMs and squares each subject's Spearman
r before averaging over subjects; its per-subject values are written too.

Partial correlation of x and y given covariates Z: the Pearson correlation of the residuals of x
and of y after an OLS fit on [1, Z] (statsmodels); Spearman: the same of the average ranks of every
variable (pingouin's partial_corr, ppcor). Each value is checked against -P_xy / sqrt(P_xx P_yy) of
the inverse correlation matrix P of (x, y, Z).

New arrays use their own generators, so adding them leaves every earlier array unchanged. numpy's
SIMD sums differ between processors: on another machine the z-scored (Pearson) ceilings may move
by ~1e-15 (the tests allow 1e-12).
"""
import os
import sys

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from reference_file import as_reference, write_reference

here = os.path.dirname(os.path.abspath(__file__))
data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data")
out = {}


def put(name, a):
    out[name] = as_reference(a)


rng = np.random.default_rng(4)
# --- t-tests: 12 subjects x 6 tests; the last test has a huge effect (p ~ 1e-13) -----------------
a = rng.standard_normal((12, 6)) * 0.5 + np.array([0.0, 0.2, 0.5, -0.3, 1.0, 0.0])
a[:, 5] = 3.0 + rng.standard_normal(12) * 0.2
b = a + rng.standard_normal((12, 6)) * 0.3 - 0.1
c = rng.standard_normal((9, 6)) * 1.5 + 0.4
put("t_a", a)
put("t_b", b)
put("t_c", c)
for alt in ("two-sided", "greater", "less"):
    key = alt.replace("-", "_")
    r = stats.ttest_1samp(a, 0.1, alternative=alt)
    put(f"t_one_{key}", [r.statistic, r.pvalue])
    r = stats.ttest_rel(a, b, alternative=alt)
    put(f"t_paired_{key}", [r.statistic, r.pvalue])
    r = stats.ttest_ind(a, c, equal_var=False, alternative=alt)
    put(f"t_welch_{key}", [r.statistic, r.pvalue])
    r = stats.ttest_ind(a, c, equal_var=True, alternative=alt)
    put(f"t_student_{key}", [r.statistic, r.pvalue])
va, vc = a.var(axis=0, ddof=1) / 12, c.var(axis=0, ddof=1) / 9
put("t_welch_dof", (va + vc) ** 2 / (va ** 2 / 11 + vc ** 2 / 8))
put("t_sem", stats.sem(a))

# --- multiple comparisons: 300 p-values, a third from real effects, some ties --------------------
p = np.concatenate([rng.uniform(size=200), rng.uniform(size=100) * 1e-3])
p[10] = p[11] = p[12]  # ties
p[20] = 1.0
p[21] = 0.0
rng.shuffle(p)
put("p_values", p)
for method in ("bonferroni", "holm", "fdr_bh", "fdr_by"):
    reject, corrected, _, _ = multipletests(p, alpha=0.05, method=method)
    put(f"p_{method}", corrected)
    put(f"p_{method}_reject", reject.astype(float))

# --- noise ceilings on n2b78 ---------------------------------------------------------------------
iu = np.triu_indices(78, 1)
for region in ("EVC", "IT"):
    rdms = np.load(os.path.join(data_dir, "n2b78", f"fmri_{region}_RDMs.npz"))["arr_0"]
    subjects = np.array([r[iu] for r in rdms])  # 15 x 3003
    for name, pool, corr in (("spearman", lambda v: stats.rankdata(v), lambda x, y: stats.spearmanr(x, y)[0]),
                             ("pearson", lambda v: (v - v.mean()) / v.std(), lambda x, y: stats.pearsonr(x, y)[0])):
        pooled = np.array([pool(v) for v in subjects])
        upper = [corr(subjects[s], pooled.mean(axis=0)) for s in range(len(subjects))]
        lower = [corr(subjects[s], np.delete(pooled, s, axis=0).mean(axis=0)) for s in range(len(subjects))]
        put(f"nc_{region}_{name}_upper", upper)
        put(f"nc_{region}_{name}_lower", lower)
    # Net2Brain: raw mean RDMs, squared Spearman r per subject.
    mean_all = subjects.mean(axis=0)
    put(f"nc_{region}_net2brain_upper", [stats.spearmanr(v, mean_all)[0] ** 2 for v in subjects])
    put(f"nc_{region}_net2brain_lower",
        [stats.spearmanr(subjects[s], np.delete(subjects, s, axis=0).mean(axis=0))[0] ** 2
         for s in range(len(subjects))])

# --- partial correlation: 20 conditions (190 pairs), 2 covariates, 5 targets ---------------------
rng = np.random.default_rng(7)
m = 190
model = rng.standard_normal(m)
covariates = rng.standard_normal((m, 2)) + 0.5 * model[:, None]
targets = (0.4 * model[:, None] + covariates @ rng.standard_normal((2, 5))
           + rng.standard_normal((m, 5)))
targets[:, 1] = np.round(targets[:, 1], 1)  # ties for the ranks
targets[:, 2] = np.round(targets[:, 2] * 2) / 2  # many ties
targets[:, 3] += 100.0  # far from zero
targets[:, 4] = -covariates[:, 0] + 0.01 * rng.standard_normal(m)  # nearly in the covariates' span
covariates[:, 1] = np.round(covariates[:, 1], 1)
put("partial_model", model)
put("partial_covariates", covariates.T)
put("partial_targets", targets.T)


def partial_ols(x, y, z):
    design = sm.add_constant(z, has_constant="add")
    ex = sm.OLS(x, design).fit().resid
    ey = sm.OLS(y, design).fit().resid
    return stats.pearsonr(ex, ey)[0]


def partial_precision(x, y, z):
    p = np.linalg.inv(np.corrcoef(np.column_stack([x, y, z]), rowvar=False))
    return -p[0, 1] / np.sqrt(p[0, 0] * p[1, 1])


def ranked(v):
    return stats.rankdata(v, axis=0)


for k in (0, 1, 2):
    z = covariates[:, :k]
    for name, f in (("pearson", lambda v: v), ("spearman", ranked)):
        values = []
        for t in range(targets.shape[1]):
            x, y, zz = f(model), f(targets[:, t]), f(z) if k else z
            r = partial_ols(x, y, zz) if k else stats.pearsonr(x, y)[0]
            if k:
                assert abs(r - partial_precision(x, y, zz)) < 1e-12, (k, name, t)
            values.append(r)
        put(f"partial_{name}_k{k}", values)

# --- average ranks: ties, NaN, a stack of 3 RDMs of 6 conditions --------------------------------
rng = np.random.default_rng(11)
v = np.round(rng.standard_normal(40), 1)
v[[3, 17]] = v[5]
put("rank_values", v)
put("rank_average", stats.rankdata(v))
v_nan = v.copy()
v_nan[[0, 9, 33]] = np.nan
put("rank_values_nan", v_nan)
put("rank_omit", stats.rankdata(v_nan, nan_policy="omit"))
stack = np.round(rng.uniform(size=(15, 3)) * 4) / 4
put("rank_stack", stack.T)
put("rank_stack_ranks", stats.rankdata(stack, axis=0).T)

path = os.path.join(here, "stats_values.txt")
write_reference(path, out, f"made by make_stats_reference.py with numpy {np.__version__}, scipy "
                           f"{scipy.__version__}, statsmodels {statsmodels.__version__}")
