#!/usr/bin/python3
"""Reference numbers for the dnn2brain statistics tests: scipy t-tests, statsmodels multiple-
comparison corrections, and noise ceilings of the n2b78 fMRI RDMs computed independently.

Run with Debian's python3 (python3-scipy, python3-statsmodels):
    /usr/bin/python3 tests/reference/make_stats_reference.py [path/to/shared/data]
It rewrites tests/reference/stats_values.txt in the format of reference_values.txt.

Noise ceiling (Nili et al. 2014, as rsatoolbox pools RDMs): for Spearman each subject's condensed
RDM is rank-transformed before averaging; upper bound = subject vs mean of all, lower bound =
subject vs mean of the others (scipy.stats.spearmanr on the raw subject RDM); for Pearson the
RDMs are z-scored before averaging (scipy.stats.pearsonr).
"""
import os
import sys

import numpy as np
import scipy
import statsmodels
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

path = os.path.join(here, "stats_values.txt")
write_reference(path, out, f"made by make_stats_reference.py with numpy {np.__version__}, scipy "
                           f"{scipy.__version__}, statsmodels {statsmodels.__version__}")
