#!/usr/bin/python3
"""Reference numbers for the ROI analyses (analysis/roi_analysis.hpp, partition_analysis.hpp) on
real public data, computed independently with numpy, scipy and statsmodels.

Run with Debian's python3 (python3-statsmodels, python3-scipy):
    /usr/bin/python3 tests/reference/make_analysis_real_data_reference.py [path/to/shared/data]
It rewrites tests/reference/analysis_real_data_values.txt (format: reference_file.py). The data
themselves are not written; tests/data/analysis_real_data.test.cpp reads them in place.

rsa92 (Kriegeskorte et al. 2008; rsatoolbox): one ROI, hIT, of 4 subjects, each the mean of its 2
sessions (float32 RDMs converted to float64, then averaged). Nine models, the AlexNet layers
conv1 ... conv5, fc6, fc7, fc8, prob of modelRDMs_A2020.mat, each with all its variants as
predictors (11 for conv, 2 for fc and prob; in file order). Computed: every model's adjusted R^2
(statsmodels OLS with an intercept), R = sqrt(max(adjusted R^2, 0)) and R^2 on the subject-mean
RDM and on each subject's RDM; one-sample t-tests of the subjects' adjusted R^2 (greater than 0);
the paired t-test (two-sided) of the best model against the runner-up; the top 3 models and the
7 fractions of their commonality analysis (the paper's vpart3 formulas), on the mean RDM and on
each subject's, with one-sample t-tests of the subject fractions; and the noise ceilings as
roi_analysis computes them by default (Nili et al. 2014 with rsatoolbox's pooling: Pearson r of
each subject with the mean of the z-scored subject RDMs, lower bound leaving the subject out;
squared per subject for the R^2 scores, not squared for R).

n2b78 (Net2Brain): two ROIs, EVC and IT, of 15 subjects; three models, the ResNet-18 and
ResNet-50 layer RDMs case1_* and case2_*, each one RDM. Computed as an RSA user would: Spearman
(scipy.stats.spearmanr, average ranks) and Pearson correlations of each model with each ROI's
subject-mean RDM and with each subject's RDM, the one-sample t-tests (greater) over subjects, the
paired t-test of the best model against the runner-up, and the noise ceilings (rsatoolbox's:
ranks pooled for Spearman, z-scores for Pearson; not squared).

RDMs are taken as their upper triangles in row-major (pdist) order.
"""
import os
import sys

import numpy as np
import scipy
import scipy.io as sio
import statsmodels
import statsmodels.api as sm
from scipy import stats

from reference_file import as_reference, write_reference

here = os.path.dirname(os.path.abspath(__file__))
data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data")
out = {}


def put(name, a):
    out[name] = as_reference(a)


def ols(x, y):
    """statsmodels OLS of y on [1, x]: (R^2, adjusted R^2, rank).

    statsmodels solves through a pseudo-inverse (SVD), which is not invariant to column scaling,
    and the AlexNet RDMs range from 0.02 to 6e10; each predictor is divided by its standard
    deviation first (an exact reparametrisation: R^2 and the rank are unchanged)."""
    fit = sm.OLS(y, sm.add_constant(x / x.std(axis=0), has_constant="add")).fit()
    return fit.rsquared, fit.rsquared_adj, int(fit.df_model)


def vpart3(r):
    """The paper's vpart3: the 7 fractions from the adjusted R^2 of the 7 unions, keyed '1', '12',
    ..., returned in the library's subset order {1}, {2}, {1,2}, {3}, {1,3}, {2,3}, {1,2,3}."""
    y123 = r["1"] + r["2"] + r["3"] - r["12"] - r["13"] - r["23"] + r["123"]
    y12 = r["1"] + r["2"] - r["12"] - y123
    y13 = r["1"] + r["3"] - r["13"] - y123
    y23 = r["2"] + r["3"] - r["23"] - y123
    y1 = r["1"] - y12 - y13 - y123
    y2 = r["2"] - y12 - y23 - y123
    y3 = r["3"] - y13 - y23 - y123
    return [y1, y2, y12, y3, y13, y23, y123]


# Subsets of 3 positions in the library's row order (row s - 1 holds subset s, bit j = position j).
subset_keys = ["1", "2", "12", "3", "13", "23", "123"]


def ranking(scores):
    """Indices by descending score, ties in index order (roi_result::ranking)."""
    return sorted(range(len(scores)), key=lambda d: -scores[d])


def ceilings(subjects, pool, corr, squared):
    """Noise ceiling per subject (Nili et al. 2014): each subject against the mean of the pooled
    RDMs of all subjects (upper) and of the others (lower)."""
    pooled = np.array([pool(v) for v in subjects])
    upper = np.array([corr(subjects[s], pooled.mean(axis=0)) for s in range(len(subjects))])
    lower = np.array([corr(subjects[s], np.delete(pooled, s, axis=0).mean(axis=0))
                      for s in range(len(subjects))])
    if squared:
        upper, lower = upper ** 2, lower ** 2
    return lower, upper


def zscore(v):
    return (v - v.mean()) / v.std()  # population SD, as rsatoolbox's pool_rdm


def pearson(x, y):
    return stats.pearsonr(x, y)[0]


def spearman(x, y):
    return stats.spearmanr(x, y)[0]


def subject_tests(prefix, per_subject, mean_scores):
    """per_subject: D x S. One-sample t (greater) per model; paired t of best vs runner-up."""
    t = stats.ttest_1samp(per_subject, 0.0, axis=1, alternative="greater")
    put(prefix + "_subject_mean", per_subject.mean(axis=1))
    put(prefix + "_subject_sem", stats.sem(per_subject, axis=1))
    put(prefix + "_subject_t", t.statistic)
    put(prefix + "_subject_p", t.pvalue)
    order = ranking(mean_scores)
    paired = stats.ttest_rel(per_subject[order[0]], per_subject[order[1]])
    put(prefix + "_ranking", order)
    put(prefix + "_best_vs_runner_up", [paired.statistic, paired.pvalue])


# --- rsa92: hIT on the AlexNet layers, every variant a predictor ---------------------------------
rsa92 = os.path.join(data_dir, "rsa92")
iu92 = np.triu_indices(92, 1)
brain = sio.loadmat(os.path.join(rsa92, "92_brainRDMs.mat"))["RDMs"]
assert brain.shape == (1, 4, 2)
hit = np.array([(brain[0, s, 0]["RDM"].astype(np.float64) + brain[0, s, 1]["RDM"].astype(np.float64))
                [iu92] / 2.0 for s in range(4)])  # 4 x 4186
hit_mean = hit.mean(axis=0)
entries = sio.loadmat(os.path.join(rsa92, "modelRDMs_A2020.mat"))["modelRDMs"][0]
layer_names = [str(e["reprName"][0]) for e in entries]
rdms = np.array([e["RDM"].astype(np.float64).ravel() for e in entries]).T  # 4186 x 63
alexnet = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8", "prob"]
columns = {m: [i for i, n in enumerate(layer_names) if n == m] for m in alexnet}
assert [len(columns[m]) for m in alexnet] == [11] * 5 + [2] * 4

fits = np.array([[ols(rdms[:, columns[m]], y) for y in [hit_mean, *hit]] for m in alexnet])  # D x (1+S) x 3
r2, adj, rank = fits[:, :, 0], fits[:, :, 1], fits[:, :, 2]
put("rsa92_hIT_r2", r2[:, 0])
put("rsa92_hIT_adjusted_r2", adj[:, 0])
put("rsa92_hIT_multiple_r", np.sqrt(np.maximum(adj[:, 0], 0.0)))
put("rsa92_hIT_rank", rank[:, 0])
put("rsa92_hIT_subject_adjusted_r2", adj[:, 1:])  # D x S
put("rsa92_hIT_subject_multiple_r", np.sqrt(np.maximum(adj[:, 1:], 0.0)))
subject_tests("rsa92_hIT", adj[:, 1:], adj[:, 0])

top = ranking(adj[:, 0])[:3]
put("rsa92_hIT_top3", top)
unions = {k: np.array([ols(rdms[:, sum((columns[alexnet[top[int(c) - 1]]] for c in k), [])], y)
                       for y in [hit_mean, *hit]]) for k in subset_keys}
put("rsa92_hIT_top3_unions", [unions[k][0, 1] for k in subset_keys])
put("rsa92_hIT_top3_union_rank", [unions[k][0, 2] for k in subset_keys])
fractions = np.array(vpart3({k: unions[k][:, 1] for k in subset_keys}))  # 7 x (1+S)
put("rsa92_hIT_top3_fractions", fractions[:, 0])
put("rsa92_hIT_top3_subject_fractions", fractions[:, 1:])
t = stats.ttest_1samp(fractions[:, 1:], 0.0, axis=1, alternative="greater")
put("rsa92_hIT_top3_subject_t", t.statistic)
put("rsa92_hIT_top3_subject_p", t.pvalue)

for name, squared in (("squared", True), ("unsquared", False)):
    lower, upper = ceilings(hit, zscore, pearson, squared)
    put(f"rsa92_hIT_ceiling_pearson_{name}_lower", lower)
    put(f"rsa92_hIT_ceiling_pearson_{name}_upper", upper)

# --- n2b78: EVC and IT on three DNN layer RDMs, classic RSA ---------------------------------------
n2b78 = os.path.join(data_dir, "n2b78")
iu78 = np.triu_indices(78, 1)
model_files = ["case1_ResNet18_rdm_layer3.1.conv2", "case1_ResNet18_rdm_layer4.1.bn2",
               "case2_RN50_rdm_visual.layer4"]
models = [np.load(os.path.join(n2b78, f + ".npz"))["arr_0"][iu78] for f in model_files]
for region in ("EVC", "IT"):
    subjects = np.array([r[iu78] for r in np.load(os.path.join(n2b78, f"fmri_{region}_RDMs.npz"))["arr_0"]])
    mean = subjects.mean(axis=0)
    for score, corr, pool in (("spearman", spearman, stats.rankdata), ("pearson", pearson, zscore)):
        prefix = f"n2b78_{region}_{score}"
        on_mean = np.array([corr(m, mean) for m in models])
        per_subject = np.array([[corr(m, v) for v in subjects] for m in models])  # D x S
        put(prefix, on_mean)
        put(prefix + "_subject", per_subject)
        subject_tests(prefix, per_subject, on_mean)
        lower, upper = ceilings(subjects, pool, corr, False)
        put(prefix + "_ceiling_lower", lower)
        put(prefix + "_ceiling_upper", upper)

write_reference(os.path.join(here, "analysis_real_data_values.txt"), out,
                f"made by make_analysis_real_data_reference.py with numpy {np.__version__}, scipy "
                f"{scipy.__version__}, statsmodels {statsmodels.__version__}")
