#!/usr/bin/python3
"""Reference numbers for the dnn2brain regression tests, computed with statsmodels OLS.

Run with Debian's python3 (python3-statsmodels, python3-scipy):
    /usr/bin/python3 tests/reference/make_regression_reference.py [path/to/shared/data]
It rewrites tests/reference/regression_values.txt in the format of reference_values.txt: a
header line "name rows cols", then rows*cols values in row-major order (%.17g).

Real data: the hIT fMRI RDMs of rsa92/92_brainRDMs.mat (4 subjects x 2 sessions) are the targets,
and the AlexNet layer RDMs of rsa92/modelRDMs_A2020.mat, grouped by layer, are the predictors.
The data themselves are not written; the C++ test reads them through matio.

statsmodels solves least squares through a pseudo-inverse (SVD), which is not invariant to
column scaling, and the AlexNet RDMs range from 0.1 to 2e9. So each predictor is divided by its
standard deviation before fitting (an exact reparametrisation: R^2 is unchanged and the slopes
are divided back), which keeps the reference accurate to rounding.
"""
import os
import sys

import numpy as np
import scipy
import scipy.io as sio
import statsmodels
import statsmodels.api as sm

from reference_file import as_reference, write_reference

here = os.path.dirname(os.path.abspath(__file__))
data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data")
out = {}


def put(name, a):
    out[name] = as_reference(a)


def ols(x, y):
    """statsmodels OLS of y on [1, x]: (rsquared, rsquared_adj, params) with scaled predictors."""
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    fit = sm.OLS(y, sm.add_constant(x / scale, has_constant="add")).fit()
    params = fit.params.copy()
    params[1:] /= scale
    return fit.rsquared, fit.rsquared_adj, params, int(fit.df_model)


def fit_all(prefix, x, targets):
    r2, adj, params = [], [], []
    for y in targets.T:
        a, b, c, dof = ols(x, y)
        r2.append(a), adj.append(b), params.append(c)
    put(prefix + "_r2", r2)
    put(prefix + "_adj", adj)
    put(prefix + "_params", np.array(params).T)  # (p + 1) x T
    put(prefix + "_df_model", [dof])


# --- random data: 20 conditions (190 pairs), 3 predictors, 6 targets ------------------------------
rng = np.random.default_rng(3)
m = 190
x = rng.standard_normal((m, 3)) + np.array([1.0, -2.0, 50.0])
targets = 0.3 * x @ np.array([[1.0], [0.5], [-0.2]]) + rng.standard_normal((m, 6))
targets[:, 5] = rng.standard_normal(m)  # unrelated target
put("random_x", x)
put("random_y", targets)
fit_all("random", x, targets)
fit_all("random_single", x[:, :1], targets)

# --- real data ------------------------------------------------------------------------------------
rsa92 = os.path.join(data_dir, "rsa92")
brain = sio.loadmat(os.path.join(rsa92, "92_brainRDMs.mat"))["RDMs"]
iu = np.triu_indices(92, 1)
hit = np.array([brain[0, s, r]["RDM"].astype(np.float64)[iu]
                for r in range(brain.shape[2]) for s in range(brain.shape[1])]).T  # 4186 x 8
models = sio.loadmat(os.path.join(rsa92, "modelRDMs_A2020.mat"))["modelRDMs"][0]
layers = [str(e["reprName"][0]) for e in models]
rdms = np.array([e["RDM"].astype(np.float64).ravel() for e in models]).T  # 4186 x 63
order = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8", "prob"]
for layer in order:
    columns = [i for i, name in enumerate(layers) if name == layer]
    fit_all("alexnet_" + layer, rdms[:, columns], hit)
# A full-rank mixed design: the 'complete' RDM of conv1, conv5 and fc7.
mixed = [layers.index("conv1"), layers.index("conv5"), layers.index("fc7")]
fit_all("alexnet_mixed", rdms[:, mixed], hit)

# Variance partitioning of fc6, fc7, fc8 (2 RDMs each), with the paper's vpart3 formulas.
groups = {g: [i for i, name in enumerate(layers) if name == g] for g in ("fc6", "fc7", "fc8")}
R = {}
for key in ("1", "2", "3", "12", "13", "23", "123"):
    columns = sum((groups[("fc6", "fc7", "fc8")[int(c) - 1]] for c in key), [])
    R[key] = np.array([ols(rdms[:, columns], y)[1] for y in hit.T])
y123 = R["1"] + R["2"] + R["3"] - R["12"] - R["13"] - R["23"] + R["123"]
y12 = R["1"] + R["2"] - R["12"] - y123
y13 = R["1"] + R["3"] - R["13"] - y123
y23 = R["2"] + R["3"] - R["23"] - y123
y1 = R["1"] - y12 - y13 - y123
y2 = R["2"] - y12 - y23 - y123
y3 = R["3"] - y13 - y23 - y123
# rows in the library's subset order: {1}, {2}, {1,2}, {3}, {1,3}, {2,3}, {1,2,3}
put("vpart_fc_fractions", [y1, y2, y12, y3, y13, y23, y123])
put("vpart_fc_unions", [R["1"], R["2"], R["12"], R["3"], R["13"], R["23"], R["123"]])

path = os.path.join(here, "regression_values.txt")
write_reference(path, out, f"made by make_regression_reference.py with numpy {np.__version__}, scipy "
                           f"{scipy.__version__}, statsmodels {statsmodels.__version__}")
