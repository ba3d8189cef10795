#!/usr/bin/python3
"""Compares the figure programs' outputs under --paper-compat with the paper's formulas
(tests/reference/paper_compat_values.txt, made by make_paper_compat_reference.py, whose docstring
says what is compared and how closely).

    /usr/bin/python3 tests/reference/check_paper_compat.py DATA OUT PERMUTATIONS
DATA: the dataset folder the programs read (its hash must be the values file's data_sha256);
OUT: the folder holding fig1/, fig2/, fig3a/ and fig3b/ (each program's --out); PERMUTATIONS:
the programs' --permutations. Prints each quantity's worst deviation; exits 1 naming the first
quantity outside its tolerance, 77 (ctest's skip) without numpy, scipy or nibabel.
"""
import csv
import math
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import make_paper_compat_reference as ref  # noqa: E402  (exits 77 without numpy/scipy/nibabel)

np = ref.np
EXACT = 1e-9
FLOAT32 = 2e-5
SIGMAS = 5.0


def read_values(path):
    with open(path) as f:
        lines = f.read().split("\n")
    comment = lines[0]
    values = {}
    i = 1
    while i + 1 < len(lines) and lines[i]:
        name, rows, cols = lines[i].split()
        values[name] = np.array(lines[i + 1].split(), dtype=float).reshape(int(rows), int(cols))
        i += 2
    digest = comment.split("data_sha256=")[1].split()[0] if "data_sha256=" in comment else None
    return values, digest


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"FAIL: {path} has no rows")
    return rows


def num(rows, column):
    return np.array([float(r[column]) for r in rows])


class Checker:
    def __init__(self):
        self.failures = []

    def report(self, quantity, deviation, bound_text, ok, where=""):
        status = "ok" if ok else "FAIL"
        print(f"{status:4} {quantity:58} worst {deviation:.3g} ({bound_text}){' at ' + where if where and not ok else ''}")
        if not ok:
            self.failures.append(f"{quantity}: deviation {deviation:.3g} outside {bound_text}{' at ' + where if where else ''}")

    def close(self, quantity, got, expected, tol, labels=None):
        got, expected = np.asarray(got, float), np.asarray(expected, float)
        if got.shape != expected.shape:
            self.report(quantity, math.inf, f"shape {got.shape} vs expected {expected.shape}", False)
            return
        both_nan = np.isnan(got) & np.isnan(expected)
        dev = np.where(both_nan, 0.0, np.abs(got - expected))
        dev = np.where(np.isnan(dev), np.inf, dev)
        worst = np.unravel_index(np.argmax(dev), dev.shape) if dev.size else ()
        w = float(dev[worst]) if dev.size else 0.0
        where = "" if not dev.size else (labels(worst) if labels else f"index {tuple(int(i) for i in worst)}")
        self.report(quantity, w, f"tolerance {tol:g}", w <= tol,
                    f"{where}: got {got[worst]!r}, expected {expected[worst]!r}" if dev.size else "")

    def equal(self, quantity, got, expected, labels=None):
        got, expected = np.asarray(got), np.asarray(expected)
        if got.shape != expected.shape:
            self.report(quantity, math.inf, f"shape {got.shape} vs expected {expected.shape}", False)
            return
        bad = np.flatnonzero(got.ravel() != expected.ravel())
        where = ""
        if bad.size:
            idx = np.unravel_index(bad[0], got.shape)
            where = f"{labels(idx) if labels else idx}: got {got[idx]!r}, expected {expected[idx]!r}"
        self.report(quantity, float(bad.size), "mismatches, must be 0", bad.size == 0, where)

    def monte_carlo_p(self, quantity, p_lib, p_ref, n_lib, n_ref, labels=None):
        p_lib, p_ref = np.asarray(p_lib, float), np.asarray(p_ref, float)
        p = np.clip((p_lib + p_ref) / 2, 0, 1)
        bound = SIGMAS * np.sqrt(p * (1 - p) * (1 / n_lib + 1 / n_ref)) + 1 / n_lib + 1 / n_ref
        ratio = np.abs(p_lib - p_ref) / bound
        worst = np.unravel_index(np.argmax(ratio), ratio.shape)
        self.report(quantity, float(np.abs(p_lib - p_ref).max()),
                    f"Monte-Carlo bound; worst |dp|/bound {ratio[worst]:.2f}", ratio[worst] <= 1,
                    f"{labels(worst) if labels else worst}: p_lib {p_lib[worst]}, p_ref {p_ref[worst]}, bound {bound[worst]:.3g}")

    def monte_carlo_sd(self, quantity, sd_lib, sd_ref, unit, n_lib, labels=None):
        sd_lib, sd_ref = np.asarray(sd_lib, float), np.asarray(sd_ref, float)
        bound = SIGMAS * unit / math.sqrt(n_lib) + 1e-9
        ratio = np.abs(sd_lib - sd_ref) / bound
        worst = np.unravel_index(np.argmax(ratio), ratio.shape)
        self.report(quantity, float(np.abs(sd_lib - sd_ref).max()),
                    f"sampling bound; worst |dsd|/bound {ratio[worst]:.2f}", ratio[worst] <= 1,
                    f"{labels(worst) if labels else worst}: sd_lib {sd_lib[worst]}, sd_ref {sd_ref[worst]}, bound {bound[worst]:.3g}")


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    data, out, n_lib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    values, digest = read_values(os.path.join(here, "paper_compat_values.txt"))
    n_ref = int(values["meta"][0, 2])
    c = Checker()

    # 0. The data the programs read are those the values were made from.
    got_digest = ref.dataset_hash(ref.read_dataset(data))
    c.equal("dataset hash (regenerated data = committed values' data)", np.array([got_digest]),
            np.array([digest]))
    print(f"programs: {n_lib} permutations / subsamples; reference: {n_ref} permutations, all "
          f"{math.comb(ref.N_COND, int(values['meta'][0, 3]))} subsamples")

    rois = [r.strip() for r in ref.ROIS]
    tasks = ref.TASKS

    # 1. Fig. 2: every DNN on every ROI.
    rows = read_csv(os.path.join(out, "fig2", "rankings.csv"))
    score, sd, p = (np.full((len(rois), len(tasks)), np.nan) for _ in range(3))
    rank = np.full((len(rois), len(tasks)), -1)
    nc = np.full((len(rois), 2), np.nan)
    for row in rows:
        i, d = rois.index(row["roi"]), tasks.index(row["model"])
        score[i, d] = float(row["multiple_r"])
        sd[i, d] = float(row["subsample_sd"])
        p[i, d] = float(row["p"])
        rank[i, d] = int(row["rank"])
        nc[i] = float(row["noise_ceiling_lower"]), float(row["noise_ceiling_upper"])
    roi_model = lambda w: f"ROI {rois[w[0]]}, model {tasks[w[1]]}"  # noqa: E731
    c.close("fig2 R of every DNN on every ROI", score, values["roi_R"], EXACT, roi_model)
    expected_rank = np.array([np.argsort(np.argsort(-v, kind="stable"), kind="stable") + 1
                              for v in values["roi_R"]])
    top4 = np.argsort(-values["roi_R"], axis=1, kind="stable")[:, :4]
    c.equal("fig2 ranking (first 4 ranks; below, R = 0 ties)",
            np.take_along_axis(rank, top4, 1), np.take_along_axis(expected_rank, top4, 1))
    c.close("fig2 ROI noise ceilings (Spearman, raw mean)", nc, values["roi_nc"], EXACT,
            lambda w: f"ROI {rois[w[0]]}, {'lower upper'.split()[w[1]]}")
    c.monte_carlo_p("fig2 permutation p of every DNN (entry permutations)", p, values["roi_R_p"],
                    n_lib, n_ref, roi_model)
    c.monte_carlo_sd("fig2 subsample SD of R", sd, values["roi_R_sd"], values["roi_R_sd_unit"],
                     n_lib, roi_model)

    # 2. Fig. 2 top 3 and Fig. 3b groups: the partitions.
    for fig, name, bars_file, column in (("fig2", "top3", "top3.csv", "model"),
                                         ("fig3b", "grouped", "groups.csv", "group")):
        bars = read_csv(os.path.join(out, fig, bars_file))
        names = np.full((len(rois), 3), "", dtype=object)
        unique, bar_sd, p_fdr, total = (np.full((len(rois), 3), np.nan) for _ in range(4))
        for row in bars:
            i, j = rois.index(row["roi"]), int(row["position"]) - 1
            names[i, j] = row[column]
            unique[i, j] = float(row["unique_variance"])
            bar_sd[i, j] = float(row["subsample_sd"])
            p_fdr[i, j] = float(row["p_fdr_within_roi"])
            total[i, j] = float(row["total_r_squared"])
        if name == "top3":
            expected_names = np.array([[tasks[int(d)] for d in m] for m in values["top3_members"]],
                                      dtype=object)
        else:
            expected_names = np.array([ref.GROUP_NAMES] * len(rois), dtype=object)
        c.equal(f"{fig} {'top-3 members (rank order)' if name == 'top3' else 'group order'}",
                names, expected_names, lambda w: f"ROI {rois[w[0]]}, position {w[1] + 1}")
        frac_rows = read_csv(os.path.join(out, fig, "fractions.csv"))
        fractions, frac_sd, frac_p = (np.full((len(rois), 7), np.nan) for _ in range(3))
        per_roi = {r: 0 for r in rois}
        for row in frac_rows:
            i = rois.index(row["roi"])
            s = per_roi[row["roi"]]
            per_roi[row["roi"]] += 1
            fractions[i, s] = float(row["variance"])
            frac_sd[i, s] = float(row["se"])
            frac_p[i, s] = float(row["p"])
        roi_fraction = lambda w: f"ROI {rois[w[0]]}, fraction {ref.SUBSETS[w[1]]}"  # noqa: E731
        roi_position = lambda w: f"ROI {rois[w[0]]}, position {w[1] + 1}"  # noqa: E731
        unique_rows = [0, 1, 3]
        c.close(f"{fig} the 7 fractions (vpart3, concatenated designs)", fractions,
                values[f"{name}_fractions"], EXACT, roi_fraction)
        c.close(f"{fig} unique variances of the bars", unique,
                values[f"{name}_fractions"][:, unique_rows], EXACT, roi_position)
        c.close(f"{fig} total R² (adjusted, 6 predictors)", total,
                np.repeat(values[f"{name}_total"].T, 3, axis=1), EXACT, roi_position)
        c.monte_carlo_p(f"{fig} permutation p of the 7 fractions", frac_p,
                        values[f"{name}_fraction_p"], n_lib, n_ref, roi_fraction)
        c.monte_carlo_sd(f"{fig} subsample SD of the 7 fractions (summed unions)", frac_sd,
                         values[f"{name}_fraction_sd"], values[f"{name}_fraction_sd_unit"], n_lib,
                         roi_fraction)
        c.close(f"{fig} subsample SD of the bars = fractions' SD", bar_sd, frac_sd[:, unique_rows],
                EXACT, roi_position)
        pairs = read_csv(os.path.join(out, fig, "pairs.csv"))
        raw = np.full((len(rois), 6), np.nan)
        shown = np.full((len(rois), 3), np.nan)
        for row in pairs:
            i = rois.index(row["roi"])
            q = ref.PAIRS.index((int(row["position_a"]) - 1, int(row["position_b"]) - 1))
            raw[i, q], raw[i, q + 3] = float(row["p_a_minus_b"]), float(row["p_b_minus_a"])
            shown[i, q] = float(row["p_shown"])
        c.monte_carlo_p(f"{fig} permutation p of the unique differences (both orders)", raw,
                        values[f"{name}_pair_p"], n_lib, n_ref,
                        lambda w: f"ROI {rois[w[0]]}, pair {w[1]}")
        # The paper's FDR within each ROI, from the program's own raw p-values.
        expected_fdr, expected_pairs = [], []
        for i in range(len(rois)):
            p_diff = np.full((3, 3), np.nan)
            for q, (a, b) in enumerate(ref.PAIRS):
                p_diff[a, b], p_diff[b, a] = raw[i, q], raw[i, q + 3]
            fu, pp = ref.fdr_within(frac_p[i, unique_rows], fractions[i, unique_rows], p_diff, n_lib)
            expected_fdr.append(fu)
            expected_pairs.append([pp[a, b] for a, b in ref.PAIRS])
        c.close(f"{fig} p of the bars: BH within the ROI (of the programs' raw p)", p_fdr,
                expected_fdr, EXACT, roi_position)
        c.close(f"{fig} p of the pairs: BH within the ROI, observed direction", shown,
                expected_pairs, EXACT, lambda w: f"ROI {rois[w[0]]}, pair {ref.PAIRS[w[1]]}")
        c.monte_carlo_p(f"{fig} p of the bars against the reference's BH", p_fdr,
                        values[f"{name}_unique_fdr"], n_lib, n_ref, roi_position)

    # 3. Fig. 1 and 3a: the searchlights.
    centres = values["sl_centres"].astype(int)
    nc = values["sl_nc"]
    lnc = nc[:, 0]
    for fig, prefix, models in (("fig1", "sl", tasks), ("fig3a", "gsl", ref.GROUP_NAMES)):
        table = read_csv(os.path.join(out, fig, "searchlights.csv"))
        full = read_csv(os.path.join(out, fig, "searchlight_models.csv"))
        where = lambda w: f"searchlight {w[0]} {tuple(centres[w[0]])}"  # noqa: E731
        got_centres = np.array([[int(r[a]) for a in "ijk"] for r in table])
        c.equal(f"{fig} searchlight centres (get_blocks order)", got_centres, centres, where)
        c.equal(f"{fig} searchlight model table centres", np.array([[int(r[a]) for a in "ijk"] for r in full]),
                centres, where)
        c.close(f"{fig} noise ceilings passed through", np.column_stack(
            [num(table, "noise_ceiling_lower"), num(table, "noise_ceiling_upper")]), nc, EXACT, where)
        scores = np.column_stack([num(full, f"score_{m}") for m in models])
        raw_p = np.column_stack([num(full, f"p_{m}") for m in models])
        expected_scores = values["sl_R"] if prefix == "sl" else values["gsl_unique"]
        what = "R of every DNN" if prefix == "sl" else "unique variance of every group"
        c.close(f"{fig} {what} (float32 searchlight RDMs)", scores, expected_scores, FLOAT32,
                lambda w: f"searchlight {w[0]}, {models[w[1]]}")
        top_two = np.sort(expected_scores, axis=1)[:, -2:]
        clear = top_two[:, 1] - top_two[:, 0] > 2 * FLOAT32
        best = np.array([models.index(r["best"]) for r in table])
        expected_best = values[f"{prefix}_best"][0].astype(int)
        c.equal(f"{fig} argmax ({clear.sum()} of {len(clear)} with a clear margin)", best[clear],
                expected_best[clear])
        c.close(f"{fig} best_score = its score", num(table, "best_score"),
                scores[np.arange(len(best)), best], EXACT)
        c.monte_carlo_p(f"{fig} permutation p of every {'DNN' if prefix == 'sl' else 'group'}",
                        raw_p, values[f"{prefix}_R_p" if prefix == "sl" else "gsl_p"], n_lib, n_ref,
                        lambda w: f"searchlight {w[0]}, {models[w[1]]}")
        # The two-stage FDR and the labels, from the program's own raw p-values and argmax.
        p1, p2, label = ref.two_stage(raw_p, lnc, best)
        if prefix == "gsl":
            p_diff = np.full((len(best), 3, 3), np.nan)
            q = 0
            for a in range(3):
                for b in range(3):
                    if a != b:
                        p_diff[:, a, b] = num(full, f"p_difference_{models[a]}_{models[b]}")
                        q += 1
            c.monte_carlo_p("fig3a permutation p of the group differences (ordered)",
                            np.column_stack([p_diff[:, a, b] for a in range(3) for b in range(3)
                                             if a != b]),
                            values["gsl_p_difference"], n_lib, n_ref)
            rule = ref.fig3a_rule(raw_p, scores, p_diff, lnc, best, n_lib)
            label = np.where((label >= 0) & (rule <= ref.ALPHA), label, -1)
        c.close(f"{fig} p: BH within the searchlight (programs' raw p)", num(table, "p"), p1, EXACT,
                where)
        c.close(f"{fig} p_corrected: then BH across lnc > 0.033", num(table, "p_corrected"), p2,
                EXACT, where)
        got_label = np.array([models.index(r["label"]) if r["label"] else -1 for r in table])
        c.equal(f"{fig} labels (the paper's rule{', with best vs others' if prefix == 'gsl' else ''})",
                got_label, label, where)
        expected_label = values[f"{prefix}_label"][0].astype(int)
        agree = np.mean(got_label == expected_label)
        print(f"info {fig}: labels from the reference's own p-values agree on {100 * agree:.1f} % "
              f"of the searchlights ({(got_label >= 0).sum()} labelled by the program, "
              f"{(expected_label >= 0).sum()} by the reference)")

    if c.failures:
        print(f"\nFAILED: {len(c.failures)} quantit{'y' if len(c.failures) == 1 else 'ies'} outside "
              f"tolerance; first: {c.failures[0]}", file=sys.stderr)
        sys.exit(1)
    print("\nall quantities within tolerance")


if __name__ == "__main__":
    main()
