// The analysis layer's ROI analyses: model_set, roi_set, roi_analysis, and the top-k and grouped
// variance partitionings. Every number is checked against the building block that computes it
// (fit, compare_columns, the t-tests, permutation_test, bootstrap_conditions, adjust_p_values,
// noise_ceiling) called directly on the same data, the partitionings also against the paper's
// k = 2 and 3 formulas and the selection-adjusted test against a re-selection on every permuted
// RDM; then planted and null data, determinism and bad input.
#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/partition_analysis.hpp>
#include <dnn2brain/analysis/presets.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/compare.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/regression.hpp>
#include <dnn2brain/stats.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "support/test_helpers.hpp"

using namespace dnn2brain;  // NOLINT(google-build-using-namespace): a test file
using Catch::Matchers::Contains;

namespace {

constexpr index_t n_conditions = 14;  // 91 pairs: enough for 3 models × 2 layers, and fast

// count RDMs (pairs × count) of positive dissimilarities.
Eigen::MatrixXd random_rdms(index_t count, unsigned seed, index_t n = n_conditions) {
  return (test::gaussian(condensed_size(n), count, seed).array().abs() + 0.5).matrix();
}

// Models named m0, m1, ... with two correlated layers each, as a DNN's block4 and encoder output.
model_set make_models(index_t count, unsigned seed, index_t n = n_conditions) {
  model_set models{"block4", "encoder_output"};
  for (index_t d = 0; d < count; ++d) {
    Eigen::MatrixXd layers = random_rdms(2, seed + static_cast<unsigned>(d), n);
    layers.col(1) = 0.6 * layers.col(0) + 0.4 * layers.col(1);
    models.add(detail::concat("m", d), rdm_stack<double>::from_columns(layers, n));
  }
  return models;
}

// Subjects' RDMs (pairs × subjects): signal + noise of standard deviation `noise` each.
rdm_stack<double> subjects_of(const Eigen::VectorXd& signal, index_t subjects, double noise,
                              unsigned seed) {
  Eigen::MatrixXd values = test::gaussian(signal.size(), subjects, seed) * noise;
  values.colwise() += signal;
  return rdm_stack<double>::from_columns(values, condensed_conditions(signal.size()));
}

// Three ROIs of 6 subjects: "early" reads model 1 (and some of model 3), "late" model 3's encoder
// output, "noise" nothing.
roi_set make_rois(const model_set& models, unsigned seed) {
  const Eigen::MatrixXd m1 = models.rdms(1).values(), m3 = models.rdms(3).values();
  roi_set rois;
  rois.add("early", subjects_of(m1.col(0) + 0.5 * m3.col(1), 6, 0.8, seed));
  rois.add("late", subjects_of(m3.col(1), 6, 1.0, seed + 1));
  rois.add("noise", subjects_of(random_rdms(1, seed + 1000).col(0), 6, 0.5, seed + 3));
  return rois;
}

// The RDM y with conditions relabelled by permutation b of (seed): y'(i, j) = y(π(i), π(j)), built
// pair by pair (independent of the library's pair maps).
Eigen::VectorXd relabelled(const Eigen::VectorXd& y, index_t n, std::uint64_t seed,
                           std::uint64_t b) {
  const std::vector<index_t> pi = random_permutation(n, seed, b);
  Eigen::VectorXd out(y.size());
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i + 1; j < n; ++j) {
      const auto [lo, hi] =
          std::minmax(pi[static_cast<std::size_t>(i)], pi[static_cast<std::size_t>(j)]);
      out[condensed_index(n, i, j)] = y[condensed_index(n, lo, hi)];
    }
  return out;
}

// Adjusted R² of one design of the given models' layer RDMs side by side.
double joint_r2(const model_set& models, std::vector<index_t> members, const Eigen::VectorXd& y) {
  Eigen::MatrixXd x(models.pairs(), static_cast<index_t>(members.size()) * 2);
  for (std::size_t i = 0; i < members.size(); ++i)
    x.middleCols(static_cast<index_t>(i) * 2, 2) = models.rdms(members[i]).values();
  return fit(design(x), y).adjusted_r_squared(0, 0);
}

const roi_options quick{.permutations = 199, .bootstrap_samples = 99, .seed = 7};

}  // namespace

// --- model_set ----------------------------------------------------------------------------------

TEST_CASE("model_set: models, layers and groups as given", "[analysis][model_set]") {
  const Eigen::MatrixXd a = random_rdms(2, 1), b = random_rdms(2, 2);
  model_set models{"block4", "encoder_output"};
  models.add("a", rdm_stack<double>::from_columns(a, n_conditions));
  models.add_layer("b", "encoder_output", rdm<double>(b.col(1)));
  models.add_layer("b", "block4", rdm<float>(b.col(0).cast<float>().eval()));
  models.add_group("both", {"a", "b"}).add_group("just b", {"b"});

  CHECK(models.size() == 2);
  CHECK(models.conditions() == n_conditions);
  CHECK(models.names() == std::vector<std::string>{"a", "b"});
  CHECK(models.index("b") == 1);
  CHECK(models.rdms(0).values() == a);
  CHECK(models.rdms(1).values().col(1) == b.col(1));
  CHECK(models.rdms(1).values().col(0) == b.col(0).cast<float>().cast<double>());
  CHECK(models.layer("encoder_output").values().col(0) == a.col(1));
  // A group's layer RDMs are its members' means.
  const Eigen::MatrixXd both = (models.rdms(0).values() + models.rdms(1).values()) / 2.0;
  CHECK(test::max_abs_diff(models.group_rdms(0).values(), both) < 1e-15);
  CHECK(models.group_rdms(1).values() == models.rdms(1).values());
  CHECK(test::max_abs_diff(models.group_layer("block4").values().col(0), both.col(0)) < 1e-15);
  CHECK(models.group_names() == std::vector<std::string>{"both", "just b"});
}

TEST_CASE("model_set: designs and partitionings are the hand-built ones", "[analysis][model_set]") {
  const model_set models = make_models(3, 20);
  const Eigen::MatrixXd targets = random_rdms(4, 21);
  std::vector<design> hand;
  for (index_t d = 0; d < 3; ++d) hand.emplace_back(models.rdms(d).values());
  const ols_result expected = fit(design_set<double>(hand), targets);
  const ols_result got = fit(models.designs(), targets);
  CHECK(got.adjusted_r_squared == expected.adjusted_r_squared);
  CHECK(got.r_squared == expected.r_squared);

  const std::vector<index_t> order{2, 0};
  const std::vector<Eigen::MatrixXd> groups{models.rdms(2).values(), models.rdms(0).values()};
  CHECK(fit(models.partitioning(order), targets).fractions ==
        fit(variance_partitioning<double>(groups), targets).fractions);
}

TEST_CASE("model_set: add_activations is compute_rdm", "[analysis][model_set]") {
  const Eigen::MatrixXd block4 = test::gaussian(n_conditions, 30, 3),
                        encoder = test::gaussian(n_conditions, 12, 4);
  const metric::correlation centred{.center_features = true};
  model_set models{"block4", "encoder_output"};
  models.add_activations("net", "block4", block4, centred);
  models.add_activations("net", "encoder_output", encoder);
  CHECK(models.rdms(0).values().col(0) == compute_rdm(block4, centred).values());
  CHECK(models.rdms(0).values().col(1) == compute_rdm(encoder, metric::correlation{}).values());
}

TEST_CASE("model_set: bad input is refused with its name", "[analysis][model_set]") {
  const Eigen::MatrixXd a = random_rdms(2, 5);
  REQUIRE_THROWS_WITH((model_set{"block4", "block4"}), Contains("'block4' twice"));
  REQUIRE_THROWS_WITH(model_set(std::vector<std::string>{}), Contains("at least one layer"));
  model_set models{"block4", "encoder_output"};
  models.add("a", rdm_stack<double>::from_columns(a, n_conditions));
  REQUIRE_THROWS_WITH(models.add("a", rdm_stack<double>::from_columns(a, n_conditions)),
                      Contains("already in the set"));
  REQUIRE_THROWS_WITH(models.add("c", rdm_stack<double>::from_columns(random_rdms(2, 6, 9), 9)),
                      Contains("over the set's 14 conditions, got 9"));
  Eigen::MatrixXd bad = a;
  bad(3, 1) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(models.add("d", rdm_stack<double>::from_columns(bad, n_conditions)),
                      Contains("layer 'encoder_output' of model 'd'"));
  REQUIRE_THROWS_WITH(models.add_layer("e", "fc7", rdm<double>(a.col(0))),
                      Contains("expected one of the layers block4, encoder_output, got 'fc7'"));
  models.add_layer("e", "block4", rdm<double>(a.col(0)));
  REQUIRE_THROWS_WITH(models.designs(), Contains("model 'e' without layer 'encoder_output'"));
  REQUIRE_THROWS_WITH(models.add_group("g", {"a", "zz"}), Contains("'zz' in group 'g'"));
  models.add_group("g", {"a"});
  REQUIRE_THROWS_WITH(models.add_group("g", {"a"}), Contains("already a group"));
  REQUIRE_THROWS_WITH(models.index("zz"), Contains("got 'zz'"));
}

// --- roi_set ------------------------------------------------------------------------------------

TEST_CASE("roi_set: subject means, float or double, and bad input", "[analysis][roi_set]") {
  const Eigen::MatrixXd v1 = random_rdms(4, 30);
  const Eigen::MatrixXf v2 = random_rdms(4, 31).cast<float>();
  roi_set rois;
  rois.add("V1", rdm_stack<double>::from_columns(v1, n_conditions));
  rois.add("V2", rdm_stack<float>::from_columns(v2, n_conditions));
  CHECK(rois.size() == 2);
  CHECK(rois.subjects() == 4);
  CHECK(rois.names() == std::vector<std::string>{"V1", "V2"});
  CHECK(rois.index("V2") == 1);
  CHECK(rois.subject_rdms(1).values() == v2.cast<double>());
  const Eigen::VectorXd mean1 = (((v1.col(0) + v1.col(1)) + v1.col(2)) + v1.col(3)) / 4.0;
  CHECK(rois.mean_rdm(0).values() == mean1);
  CHECK(rois.mean_rdms().values().col(1) == rois.mean_rdm(1).values());

  REQUIRE_THROWS_WITH(rois.add("V1", rdm_stack<double>::from_columns(v1, n_conditions)),
                      Contains("got 'V1', which is already in the set"));
  REQUIRE_THROWS_WITH(rois.add("", rdm_stack<double>::from_columns(v1, n_conditions)),
                      Contains("non-empty ROI name"));
  REQUIRE_THROWS_WITH(rois.add("V3", rdm_stack<double>::from_columns(random_rdms(4, 32, 9), 9)),
                      Contains("over the set's 14 conditions, got 9 for ROI 'V3'"));
  REQUIRE_THROWS_WITH(
      rois.add("V3", rdm_stack<double>::from_columns(random_rdms(3, 32), n_conditions)),
      Contains("the set's 4 subjects, got RDMs of 3 for ROI 'V3'"));
  Eigen::MatrixXd bad = v1;
  bad(5, 2) = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_WITH(rois.add("V3", rdm_stack<double>::from_columns(bad, n_conditions)),
                      Contains("got inf at pair 5 (conditions 0, 6) of subject 2 in ROI 'V3'"));
  bad.col(2).setConstant(0.5);
  REQUIRE_THROWS_WITH(rois.add("V3", rdm_stack<double>::from_columns(bad, n_conditions)),
                      Contains("constant RDM (0.5) for subject 2 in ROI 'V3'"));
  REQUIRE_THROWS_WITH(rois.index("IT"), Contains("one of the 2 ROIs, got 'IT'"));
  REQUIRE_THROWS_WITH(rois.subject_rdms(2), Contains("in [0, 2), got 2"));
}

// --- roi_analysis -------------------------------------------------------------------------------

TEST_CASE("roi_analysis: every number is its building block's", "[analysis][roi]") {
  const model_set models = make_models(4, 40);
  const roi_set rois = make_rois(models, 50);
  const roi_result r = roi_analysis(models, rois, quick);
  const design_set<double> designs = models.designs();
  const rdm_stack<double> means = rois.mean_rdms();
  const index_t d = models.size(), count = rois.size();
  REQUIRE(r.models == models.names());
  REQUIRE(r.rois == rois.names());

  // Scores of the subject-mean RDMs and of every subject.
  CHECK(r.scores == fit(designs, means).adjusted_r_squared);
  for (index_t roi = 0; roi < count; ++roi) {
    const Eigen::MatrixXd subject = fit(designs, rois.subject_rdms(roi)).adjusted_r_squared;
    REQUIRE(r.subject_scores[static_cast<std::size_t>(roi)] == subject);
    const ttest_result t = ttest_one_sample(subject.transpose(), 0.0, alternative::greater);
    CHECK(r.subject_mean.col(roi) == t.estimate);
    CHECK(r.subject_sem.col(roi) == t.sem);
    CHECK(r.subject_t.col(roi) == t.statistic);
    CHECK(r.subject_p.col(roi) == t.p_value);
    for (index_t a = 0; a < d; ++a)
      for (index_t b = 0; b < d; ++b) {
        if (a == b) {
          CHECK(std::isnan(r.subject_p_difference(a, b)[roi]));
          continue;
        }
        const ttest_result paired =
            ttest_paired(subject.row(a).transpose(), subject.row(b).transpose());
        CHECK(r.subject_t_difference(a, b)[roi] == paired.statistic[0]);
        CHECK(r.subject_p_difference(a, b)[roi] == paired.p_value[0]);
      }
  }
  CHECK(r.subject_p_corrected ==
        adjust_p_values(r.subject_p, correction::benjamini_hochberg).reshaped(d, count));

  // The permutation test and the bootstrap of all ROIs at once, called directly.
  const permutation_result p = permutation_test(designs, means, {.permutations = 199, .seed = 7});
  CHECK(r.permutation.observed == r.scores);
  CHECK(r.permutation.p_value == p.p_value);
  CHECK(r.permutation.p_best == p.p_best);
  CHECK(r.permutation.p_fwe == p.p_fwe);
  CHECK(test::max_abs_diff(r.permutation.p_differences, p.p_differences) == 0.0);
  CHECK(r.p_corrected ==
        adjust_p_values(p.p_value, correction::benjamini_hochberg).reshaped(d, count));
  const bootstrap_result boot = bootstrap_conditions(designs, means, {.samples = 99, .seed = 8});
  CHECK(r.bootstrap.standard_error == boot.standard_error);
  CHECK(r.bootstrap.lower == boot.lower);
  CHECK(r.bootstrap.upper == boot.upper);
  CHECK(r.bootstrap.difference(0, 1).standard_error == boot.difference(0, 1).standard_error);

  // Noise ceilings: squared Pearson for adjusted R².
  CHECK(r.ceiling.measure == ceiling_measure::pearson);
  CHECK(r.ceiling.squared == true);
  for (index_t roi = 0; roi < count; ++roi) {
    const noise_ceiling_result nc =
        noise_ceiling(rois.subject_rdms(roi), measure::pearson{}, {.squared = true});
    CHECK(r.ceiling_lower[roi] == nc.lower);
    CHECK(r.ceiling_upper[roi] == nc.upper);
    CHECK(r.ceilings[static_cast<std::size_t>(roi)].lower_per_subject == nc.lower_per_subject);
  }

  // Rankings by descending score.
  for (index_t roi = 0; roi < count; ++roi) {
    const std::vector<index_t> order = r.ranking(roi);
    REQUIRE(order.size() == static_cast<std::size_t>(d));
    for (std::size_t i = 1; i < order.size(); ++i)
      CHECK(r.scores(order[i - 1], roi) >= r.scores(order[i], roi));
    CHECK(r.best(roi) == order.front());
  }
  CHECK(r.best("early") == 1);
  CHECK(r.best("late") == 3);
}

TEST_CASE("roi_analysis: correlation scores of groups", "[analysis][roi]") {
  model_set models = make_models(4, 60);
  models.add_group("first", {"m0", "m1"}).add_group("second", {"m2", "m3"});
  const roi_set rois = make_rois(models, 70);
  const rdm_stack<double> means = rois.mean_rdms();
  const roi_result r =
      roi_analysis(models, rois,
                   {.score = {.score = model_score::spearman, .layer = "encoder_output"},
                    .groups = true,
                    .permutations = 99,
                    .bootstrap_samples = 0,
                    .correction = correction::holm,
                    .seed = 3});
  REQUIRE(r.models == std::vector<std::string>{"first", "second"});
  const rdm_stack<double> layer = models.group_layer("encoder_output");
  for (index_t g = 0; g < 2; ++g)
    CHECK(r.scores.row(g).transpose() ==
          compare_columns(layer.column(g), means.values(), measure::spearman{}));
  const permutation_result p = permutation_test(correlation_statistic<measure::spearman>(layer),
                                                means, {.permutations = 99, .seed = 3});
  CHECK(r.permutation.p_value == p.p_value);
  CHECK(r.p_corrected == adjust_p_values(p.p_value, correction::holm).reshaped(2, 3));
  CHECK(r.bootstrap.standard_error.size() == 0);
  // Spearman ceilings, unsquared, on the scale of the Spearman subject scores.
  CHECK(r.ceiling.measure == ceiling_measure::spearman);
  CHECK(r.ceiling.squared == false);
  CHECK(r.ceiling_upper[1] == noise_ceiling(rois.subject_rdms(1), measure::spearman{}).upper);
  for (index_t roi = 0; roi < 3; ++roi)
    for (index_t g = 0; g < 2; ++g)
      CHECK(r.subject_scores[static_cast<std::size_t>(roi)].row(g).transpose() ==
            compare_columns(layer.column(g), rois.subject_rdms(roi).values(), measure::spearman{}));
}

TEST_CASE("roi_analysis: a planted model wins, noise stays insignificant", "[analysis][roi]") {
  const model_set models = make_models(5, 80, 16);
  roi_set rois;
  rois.add("planted", subjects_of(models.rdms(2).values().col(0), 8, 1.0, 81));
  rois.add("null", subjects_of(random_rdms(1, 1080, 16).col(0), 8, 1.0, 83));
  const roi_result r = roi_analysis(models, rois, {.permutations = 199, .bootstrap_samples = 0});
  const index_t planted = 0, null = 1;
  INFO("planted scores " << r.scores.col(planted).transpose());
  CHECK(r.best(planted) == 2);
  CHECK(r.permutation.p_value(2, planted) <= 0.01);
  CHECK(r.permutation.p_best[planted] <= 0.01);
  CHECK(r.subject_p(2, planted) < 1e-3);
  CHECK(r.p_corrected(2, planted) < 0.05);
  CHECK(r.subject_p_difference(2, r.ranking(planted)[1])[planted] < 0.05);
  // Pure noise: nothing survives the correction (a fixed seed; the threshold leaves room).
  INFO("null p " << r.p_corrected.col(null).transpose() << ", subject p "
                 << r.subject_p_corrected.col(null).transpose());
  CHECK(r.p_corrected.col(null).minCoeff() > 0.05);
  CHECK(r.subject_p_corrected.col(null).minCoeff() > 0.05);
  CHECK(r.ceiling_lower[planted] > r.ceiling_lower[null]);
}

TEST_CASE("roi_analysis: float input, any thread count, progress", "[analysis][roi]") {
  const model_set models = make_models(3, 90);
  const roi_set rois = make_rois(make_models(4, 90), 91);
  roi_set floats;
  for (index_t roi = 0; roi < rois.size(); ++roi)
    floats.add(rois.names()[static_cast<std::size_t>(roi)],
               rdm_stack<float>::from_columns(rois.subject_rdms(roi).values().cast<float>(),
                                              n_conditions));
  roi_set rounded;  // the same values in double
  for (index_t roi = 0; roi < rois.size(); ++roi)
    rounded.add(rois.names()[static_cast<std::size_t>(roi)],
                rdm_stack<double>::from_columns(
                    rois.subject_rdms(roi).values().cast<float>().cast<double>(), n_conditions));
  const roi_result single = [&] {
    const test::thread_count one(1);
    return roi_analysis(models, floats, quick);
  }();
  std::vector<std::string> steps;
  roi_options watched = quick;
  watched.progress = [&](std::string_view step, index_t done, index_t total) {
    if (done == total) steps.emplace_back(step);
  };
  const roi_result two = [&] {
    const test::thread_count threads(2);
    return roi_analysis(models, rounded, watched);
  }();
  CHECK(single.scores == two.scores);
  CHECK(single.permutation.p_value == two.permutation.p_value);
  CHECK(test::max_abs_diff(single.permutation.p_differences, two.permutation.p_differences) == 0.0);
  CHECK(single.bootstrap.standard_error == two.bootstrap.standard_error);
  CHECK(single.subject_p == two.subject_p);
  CHECK(single.ceiling_upper == two.ceiling_upper);
  CHECK(steps == std::vector<std::string>{"scores", "subject scores", "permutations", "bootstrap",
                                          "noise ceilings"});
}

TEST_CASE("roi_analysis: bad input is refused with its name", "[analysis][roi]") {
  const model_set models = make_models(3, 100);
  const roi_set rois = make_rois(make_models(4, 100), 101);
  REQUIRE_THROWS_WITH(roi_analysis(models, roi_set{}),
                      Contains("roi_analysis: expected at least one ROI"));
  roi_set other;
  other.add("V1", rdm_stack<double>::from_columns(random_rdms(3, 102, 10), 10));
  REQUIRE_THROWS_WITH(roi_analysis(models, other),
                      Contains("over the model set's 14 conditions, got 10"));
  model_set incomplete{"block4", "encoder_output"};
  incomplete.add_layer("x", "block4", rdm<double>(random_rdms(1, 103).col(0)));
  REQUIRE_THROWS_WITH(roi_analysis(incomplete, rois),
                      Contains("roi_analysis: expected every model with all 2 layers"));
  REQUIRE_THROWS_WITH(roi_analysis(model_set{"block4"}, rois),
                      Contains("roi_analysis: expected a model set with models"));
  REQUIRE_THROWS_WITH(roi_analysis(models, rois, {.groups = true}),
                      Contains("roi_analysis: expected a model set with groups, got none"));
  roi_set single;
  single.add("V1", rdm_stack<double>::from_columns(random_rdms(1, 104), n_conditions));
  REQUIRE_THROWS_WITH(roi_analysis(models, single),
                      Contains("at least 2 subjects for subject tests and noise ceilings"));
  CHECK_NOTHROW(roi_analysis(models, single,
                             {.subject_tests = false,
                              .permutations = 9,
                              .bootstrap_samples = 9,
                              .ceiling = {.compute = false}}));
  REQUIRE_THROWS_WITH(roi_analysis(models, rois, {.permutations = -1}),
                      Contains("permutations and bootstrap samples >= 0"));
  REQUIRE_THROWS_WITH(roi_analysis(models, rois, {.level = 1.5}),
                      Contains("bootstrap level in (0, 1), got 1.5"));
  REQUIRE_THROWS_WITH(
      roi_analysis(models, rois, {.score = {.score = model_score::pearson}, .permutations = 0}),
      Contains("expected scoring::layer"));
  const roi_result r = roi_analysis(models, rois, {.permutations = 0, .bootstrap_samples = 0});
  REQUIRE_THROWS_WITH(r.ranking(3), Contains("roi_result::ranking: expected an ROI in [0, 3)"));
  REQUIRE_THROWS_WITH(r.roi_index("IT"), Contains("got 'IT'"));
  CHECK(r.permutation.p_value.size() == 0);
  CHECK(r.ceiling.compute);
  CHECK_FALSE(
      roi_analysis(models, rois,
                   {.permutations = 0, .bootstrap_samples = 0, .ceiling = {.compute = false}})
          .ceiling.compute);
}

// --- variance partitioning ----------------------------------------------------------------------

TEST_CASE("top_k_partitioning: the k best models, partitioned as fit() does", "[analysis][vp]") {
  const model_set models = make_models(5, 110);
  roi_set rois = make_rois(models, 111);
  // A fourth ROI, the first one scaled by 2 (the same fits): the two share one bootstrap.
  rois.add("early again",
           rdm_stack<double>::from_columns(2.0 * rois.subject_rdms(0).values(), n_conditions));
  const partition_analysis_options options{
      .permutations = 199, .selection_adjusted = false, .bootstrap_samples = 49, .seed = 5};
  const roi_result ranking =
      roi_analysis(models, rois, {.permutations = 0, .bootstrap_samples = 0});
  const partition_analysis_result r = top_k_partitioning(models, rois, options);
  REQUIRE(r.k == 3);
  REQUIRE(r.fraction_count() == 7);
  REQUIRE(r.members.col(3) == r.members.col(0));
  for (index_t roi = 0; roi < rois.size(); ++roi) {
    const std::vector<index_t> order = ranking.ranking(roi);
    const std::vector<index_t> top(order.begin(), order.begin() + 3);
    for (index_t j = 0; j < 3; ++j) {
      CHECK(r.members(j, roi) == top[static_cast<std::size_t>(j)]);
      CHECK(r.member_scores(j, roi) == ranking.scores(top[static_cast<std::size_t>(j)], roi));
      CHECK(r.name(j, roi) ==
            models.names()[static_cast<std::size_t>(top[static_cast<std::size_t>(j)])]);
    }
    const variance_partitioning<double> vp = models.partitioning(top);
    const rdm<double> mean = rois.mean_rdm(roi);
    const partition_result expected = fit(vp, mean);
    CHECK(r.fractions.col(roi) == expected.fractions.col(0));
    CHECK(r.unions.col(roi) == expected.unions.col(0));

    // The paper's vpart3 formulas from separately fitted designs.
    const Eigen::VectorXd& y = mean.values();
    const index_t a = top[0], b = top[1], c = top[2];
    const double r1 = joint_r2(models, {a}, y), r2 = joint_r2(models, {b}, y),
                 r3 = joint_r2(models, {c}, y), r12 = joint_r2(models, {a, b}, y),
                 r13 = joint_r2(models, {a, c}, y), r23 = joint_r2(models, {b, c}, y),
                 r123 = joint_r2(models, {a, b, c}, y);
    CHECK(std::abs(r.unique(0)[roi] - (r123 - r23)) < 1e-12);
    CHECK(std::abs(r.unique(2)[roi] - (r123 - r12)) < 1e-12);
    CHECK(std::abs(r.fractions(r.subset({0, 1, 2}), roi) -
                   (r1 + r2 + r3 - r12 - r13 - r23 + r123)) < 1e-12);
    CHECK(std::abs(r.total()[roi] - r123) < 1e-12);

    // Permutation test, bootstrap and subject fractions of the same partitioning, called directly.
    const permutation_result p = permutation_test(vp, mean, {.permutations = 199, .seed = 5});
    CHECK(r.permutation.p_value.col(roi) == p.p_value);
    CHECK(test::max_abs_diff(r.permutation.p_differences.col(roi), p.p_differences) == 0.0);
    for (index_t i = 0; i < 3; ++i)
      for (index_t j = 0; j < 3; ++j) {
        if (i == j) continue;
        const double one = p.p_difference(r.subset({i}), r.subset({j}))[0],
                     other = p.p_difference(r.subset({j}), r.subset({i}))[0];
        CHECK(r.p_pair(i, j)[roi] == std::min(1.0, 2.0 * std::min(one, other)));
      }
    const bootstrap_result boot = bootstrap_conditions(vp, mean, {.samples = 49, .seed = 6});
    CHECK(r.bootstrap.standard_error.col(roi) == boot.standard_error);
    CHECK(r.bootstrap.lower.col(roi) == boot.lower);
    const Eigen::MatrixXd subject = fit(vp, rois.subject_rdms(roi)).fractions;
    CHECK(r.subject_fractions[static_cast<std::size_t>(roi)] == subject);
    CHECK(r.subject_p.col(roi) ==
          ttest_one_sample(subject.transpose(), 0.0, alternative::greater).p_value);
  }
  CHECK(r.selection.p_value.size() == 0);

  // Corrections over the unique fractions of every ROI (rows 0, 1, 3), NaN elsewhere.
  Eigen::MatrixXd unique(3, rois.size());
  unique << r.permutation.p_value.row(0), r.permutation.p_value.row(1),
      r.permutation.p_value.row(3);
  const Eigen::MatrixXd adjusted =
      adjust_p_values(unique, correction::benjamini_hochberg).reshaped(3, rois.size());
  CHECK(r.p_corrected.row(0) == adjusted.row(0));
  CHECK(r.p_corrected.row(3) == adjusted.row(2));
  CHECK(r.p_corrected.row(2).array().isNaN().all());

  // The bars of a panel.
  const std::vector<partition_bar> bars = r.bars("late");
  REQUIRE(bars.size() == 3);
  CHECK(bars[0].name == r.name(0, 1));
  CHECK(bars[0].name == "m3");
  CHECK(bars[1].unique == r.unique(1)[1]);
  CHECK(bars[2].standard_error == r.bootstrap.standard_error(3, 1));
  CHECK(bars[2].p_corrected == r.p_corrected(3, 1));
  CHECK(std::isnan(bars[0].p_selection));

  // The same from an roi_result's ranking.
  const partition_analysis_result again = top_k_partitioning(models, rois, ranking, options);
  CHECK(again.members == r.members);
  CHECK(again.fractions == r.fractions);
  CHECK(again.permutation.p_value == r.permutation.p_value);

  // A ranking from other data (here: reversed) selects other models; the selection-adjusted
  // test, which ranks again on these RDMs, refuses it.
  roi_result reversed = ranking;
  reversed.scores = -ranking.scores;
  const partition_analysis_result bottom =
      top_k_partitioning(models, rois, reversed, {.permutations = 0, .bootstrap_samples = 0});
  CHECK(bottom.members(0, 0) == ranking.ranking(0).back());
  REQUIRE_THROWS_WITH(top_k_partitioning(models, rois, reversed, {.permutations = 9}),
                      Contains("got other top models for ROI 'early'"));
}

TEST_CASE("top_k_partitioning: k = 2 and k clamped to the models", "[analysis][vp]") {
  const model_set models = make_models(4, 120);
  const roi_set rois = make_rois(models, 121);
  const partition_analysis_result r =
      top_k_partitioning(models, rois,
                         {.top = 2,
                          .permutations = 0,
                          .bootstrap_samples = 0,
                          .family = partition_family::all_fractions});
  REQUIRE(r.k == 2);
  for (index_t roi = 0; roi < rois.size(); ++roi) {
    const Eigen::VectorXd y = rois.mean_rdm(roi).values();
    const index_t a = r.members(0, roi), b = r.members(1, roi);
    const double r1 = joint_r2(models, {a}, y), r2 = joint_r2(models, {b}, y),
                 r12 = joint_r2(models, {a, b}, y);
    CHECK(std::abs(r.fractions(r.subset({0, 1}), roi) - (r1 + r2 - r12)) < 1e-12);
    CHECK(std::abs(r.unique(0)[roi] - (r12 - r2)) < 1e-12);
    CHECK(std::abs(r.unique(1)[roi] - (r12 - r1)) < 1e-12);
  }
  // All 3 fractions form the family of the subject p-values.
  CHECK(r.subject_p_corrected ==
        adjust_p_values(r.subject_p, correction::benjamini_hochberg).reshaped(3, rois.size()));
  // Ranked by a correlation score: the top 2 by Spearman ρ of block4, re-ranked the same way in
  // the selection-adjusted test.
  const partition_analysis_result by_rho =
      top_k_partitioning(models, rois,
                         {.top = 2,
                          .rank_by = {.score = model_score::spearman, .layer = "block4"},
                          .subject_tests = false,
                          .permutations = 19,
                          .bootstrap_samples = 0});
  const rdm_stack<double> means = rois.mean_rdms(), block4 = models.layer("block4");
  for (index_t roi = 0; roi < rois.size(); ++roi) {
    Eigen::VectorXd rho(4);
    for (index_t d = 0; d < 4; ++d)
      rho[d] = compare_columns(block4.column(d), means.values().col(roi), measure::spearman{})[0];
    const std::vector<index_t> order = detail::descending_order(rho);
    CHECK(by_rho.members(0, roi) == order[0]);
    CHECK(by_rho.members(1, roi) == order[1]);
    CHECK(by_rho.member_scores(0, roi) == rho[order[0]]);
  }
  CHECK(test::max_abs_diff(by_rho.selection.observed, by_rho.fractions) < 1e-12);
  const model_set two = make_models(2, 122);
  CHECK(top_k_partitioning(two, make_rois(make_models(4, 122), 123),
                           {.permutations = 0, .bootstrap_samples = 0})
            .k == 2);
}

TEST_CASE("top_k_partitioning: the selection-adjusted null re-selects on every permutation",
          "[analysis][vp]") {
  const model_set models = make_models(5, 130);
  const roi_set rois = make_rois(models, 131);
  constexpr index_t permutations = 39;
  const partition_analysis_result r = top_k_partitioning(
      models, rois, {.permutations = permutations, .bootstrap_samples = 0, .seed = 11});
  REQUIRE(r.selection.p_value.rows() == 7);
  CHECK(test::max_abs_diff(r.selection.observed, r.fractions) < 1e-12);
  const design_set<double> designs = models.designs();
  for (index_t roi = 0; roi < rois.size(); ++roi) {
    const Eigen::VectorXd y = rois.mean_rdm(roi).values();
    Eigen::VectorXd exceed = Eigen::VectorXd::Zero(7);
    for (index_t b = 0; b < permutations; ++b) {
      const Eigen::VectorXd permuted = relabelled(y, n_conditions, 11, std::uint64_t(b));
      const Eigen::VectorXd scores = fit(designs, permuted).adjusted_r_squared.col(0);
      std::vector<index_t> order(5);
      for (index_t d = 0; d < 5; ++d) order[static_cast<std::size_t>(d)] = d;
      std::stable_sort(order.begin(), order.end(),
                       [&](index_t i, index_t j) { return scores[i] > scores[j]; });
      const std::vector<index_t> top(order.begin(), order.begin() + 3);
      const Eigen::VectorXd null = fit(models.partitioning(top), permuted).fractions.col(0);
      exceed += (null.array() >= r.selection.observed.col(roi).array()).cast<double>().matrix();
    }
    const Eigen::VectorXd expected = (exceed.array() + 1.0) / double(permutations + 1);
    CHECK(r.selection.p_value.col(roi) == expected);
  }
  Eigen::MatrixXd unique(3, rois.size());
  unique << r.selection.p_value.row(0), r.selection.p_value.row(1), r.selection.p_value.row(3);
  const Eigen::MatrixXd adjusted =
      adjust_p_values(unique, correction::benjamini_hochberg).reshaped(3, rois.size());
  CHECK(r.p_selection_corrected.row(1) == adjusted.row(1));
  CHECK(r.bars(2)[0].p_selection_corrected == adjusted(0, 2));
}

TEST_CASE("top_k_partitioning: under the global null only the selection-adjusted test holds α",
          "[analysis][vp]") {
  // 8 correlated models (a shared latent pattern) and 100 ROIs unrelated to all of them; models
  // and data share row effects (condition-specific noise scales), as real RDMs do. n = 12.
  constexpr index_t n = 12, count = 100;
  std::mt19937_64 engine(2024);
  std::normal_distribution<double> normal;
  const auto gaussian = [&](index_t rows, index_t cols) {
    Eigen::MatrixXd x(rows, cols);
    for (auto& v : x.reshaped()) v = normal(engine);
    return x;
  };
  const auto patterns = [&](index_t features) { return gaussian(n, features); };
  const auto graded = [&](Eigen::MatrixXd x) {
    for (index_t i = 0; i < n; ++i) x.row(i) *= std::exp(0.75 * normal(engine));
    return x;
  };
  const Eigen::MatrixXd latent = patterns(20);
  model_set models{"block4", "encoder_output"};
  for (index_t d = 0; d < 8; ++d) {
    const Eigen::MatrixXd x = graded(latent + patterns(20));
    Eigen::MatrixXd layers(condensed_size(n), 2);
    layers.col(0) = compute_rdm(x, metric::correlation{}).values();
    const Eigen::MatrixXd deeper = (x * gaussian(20, 20) / std::sqrt(20.0)).array().tanh();
    layers.col(1) = compute_rdm(deeper, metric::correlation{}).values();
    models.add(detail::concat("m", d), rdm_stack<double>::from_columns(layers, n));
  }
  roi_set rois;
  for (index_t r = 0; r < count; ++r)
    rois.add(detail::concat("null ", r),
             rdm_stack<double>::from_columns(
                 compute_rdm(graded(patterns(30)), metric::correlation{}).values(), n));
  const partition_analysis_result r = top_k_partitioning(
      models, rois,
      {.subject_tests = false, .permutations = 49, .differences = false, .bootstrap_samples = 0});
  const auto rate = [&](const Eigen::MatrixXd& p, index_t row) {
    return (p.row(row).array() <= 0.05).cast<double>().mean();
  };
  // The best model's unique variance, tested as if its selection had not happened, is
  // "significant" far more often than 5 %; the procedure's own null keeps the rate.
  INFO("fixed " << rate(r.permutation.p_value, 0) << ", selection "
                << rate(r.selection.p_value, 0));
  // With 49 permutations a valid p-value is ≤ 0.05 with probability 2/50: over 100 ROIs the rate
  // has a standard deviation of 0.02.
  CHECK(rate(r.permutation.p_value, 0) > 0.12);  // 4 SD above
  for (const index_t row : {0, 1, 3, 6})
    CHECK(rate(r.selection.p_value, row) < 0.11);  // 3.5 SD above
}

TEST_CASE("grouped_partitioning: every group, partitioned as fit() does", "[analysis][vp]") {
  model_set models = make_models(5, 140);
  models.add_group("2D", {"m0", "m1"}).add_group("3D", {"m2", "m3"}).add_group("semantic", {"m4"});
  const roi_set rois = make_rois(models, 141);
  const rdm_stack<double> means = rois.mean_rdms();
  const partition_analysis_result r =
      grouped_partitioning(models, rois, {.permutations = 99, .bootstrap_samples = 49, .seed = 2});
  REQUIRE(r.groups);
  REQUIRE(r.k == 3);
  CHECK(r.names == std::vector<std::string>{"2D", "3D", "semantic"});
  const variance_partitioning<double> vp = models.group_partitioning();
  const partition_result expected = fit(vp, means);
  CHECK(r.fractions == expected.fractions);
  CHECK(r.unions == expected.unions);
  CHECK(r.member_scores == fit(models.group_designs(), means).adjusted_r_squared);
  // One call on all ROIs: the per-ROI runs merge into it.
  const permutation_result p = permutation_test(vp, means, {.permutations = 99, .seed = 2});
  CHECK(r.permutation.p_value == p.p_value);
  CHECK(r.permutation.p_fwe == p.p_fwe);
  const bootstrap_result boot = bootstrap_conditions(vp, means, {.samples = 49, .seed = 3});
  CHECK(r.bootstrap.standard_error == boot.standard_error);
  CHECK(r.bootstrap.upper == boot.upper);
  CHECK(r.selection.p_value.size() == 0);
  const std::vector<partition_bar> bars = r.bars(0);
  CHECK(bars[2].name == "semantic");
  CHECK(bars[1].unique == expected.unique(1)[0]);
}

TEST_CASE("the paper's error bars: 90 % subsamples, summed unions for the partitionings",
          "[analysis][vp][paper]") {
  model_set models = make_models(5, 150);
  models.add_group("2D", {"m0", "m1"}).add_group("3D", {"m2", "m3"}).add_group("semantic", {"m4"});
  const roi_set rois = make_rois(models, 151);
  const rdm_stack<double> means = rois.mean_rdms();
  const index_t keep = n_conditions * 9 / 10;  // 12 of 14
  const bootstrap_options bo{.samples = 49, .seed = 8};
  auto grouped_options = analysis_presets::paper().with(0, 7).grouped;
  grouped_options.bootstrap_samples = 49;
  const partition_analysis_result grouped = grouped_partitioning(models, rois, grouped_options);
  std::vector<Eigen::MatrixXd> group_layers;
  for (index_t g = 0; g < 3; ++g) group_layers.push_back(models.group_rdms(g).values());
  const bootstrap_result expected = subsample_conditions(
      partition_statistic<double>(paper::summed_partitioning(group_layers)), means, keep, bo);
  CHECK(grouped.bootstrap.standard_error == expected.standard_error);
  // The fractions themselves are the analysed (concatenated) unions'.
  CHECK(grouped.fractions == fit(models.group_partitioning(), means).fractions);

  auto top_options = analysis_presets::paper().with(0, 7).top3;
  top_options.bootstrap_samples = 49;
  const partition_analysis_result top = top_k_partitioning(models, rois, top_options);
  CHECK(top.rank_by.score == model_score::multiple_r);
  for (index_t r = 0; r < rois.size(); ++r) {
    std::vector<Eigen::MatrixXd> layers;
    for (index_t j = 0; j < 3; ++j) layers.push_back(models.rdms(top.members(j, r)).values());
    const bootstrap_result one = subsample_conditions(
        partition_statistic<double>(paper::summed_partitioning(layers)), means.column(r), keep, bo);
    CHECK(test::max_abs_diff(top.bootstrap.standard_error.col(r), one.standard_error.col(0)) ==
          0.0);
  }

  auto roi_options = analysis_presets::paper().with(0, 7).rois;
  roi_options.bootstrap_samples = 49;
  const roi_result scored = roi_analysis(models, rois, roi_options);
  const bootstrap_result direct = subsample_conditions(
      regression_statistic<double>(models.designs(), regression_score::multiple_r), means, keep,
      bo);
  CHECK(scored.bootstrap.standard_error == direct.standard_error);
}

TEST_CASE("partitioning: bad input is refused with its name", "[analysis][vp]") {
  model_set models = make_models(4, 150);
  const roi_set rois = make_rois(models, 151);
  REQUIRE_THROWS_WITH(top_k_partitioning(models, rois, {.top = 0}),
                      Contains("top_k_partitioning: expected top in [1, 10], got 0"));
  REQUIRE_THROWS_WITH(top_k_partitioning(models, rois, {.top = 11}), Contains("got 11"));
  REQUIRE_THROWS_WITH(
      top_k_partitioning(models, rois, {.partition = {.score = regression_score::multiple_r}}),
      Contains("top_k_partitioning: expected the score r_squared or adjusted_r_squared"));
  REQUIRE_THROWS_WITH(grouped_partitioning(models, rois),
                      Contains("grouped_partitioning: expected a model set with groups"));
  REQUIRE_THROWS_WITH(top_k_partitioning(models, roi_set{}),
                      Contains("top_k_partitioning: expected at least one ROI"));
  const roi_result other = roi_analysis(make_models(3, 152), rois,
                                        {.subject_tests = false,
                                         .permutations = 0,
                                         .bootstrap_samples = 0,
                                         .ceiling = {.compute = false}});
  REQUIRE_THROWS_WITH(top_k_partitioning(models, rois, other),
                      Contains("expected an roi_result of the set's 4 models on its 3 ROIs, got "
                               "one of 3 models"));
  const model_set many = make_models(30, 153);
  REQUIRE_THROWS_WITH(top_k_partitioning(many, rois, {.top = 5}),
                      Contains("selection_adjusted = false does without"));
}
