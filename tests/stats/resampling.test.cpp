// Bootstrap and subsampling over conditions, bootstrap differences, and the paper's p-values.
#include <dnn2brain/compare.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/regression.hpp>
#include <dnn2brain/stats/bootstrap.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/paper.hpp>
#include <dnn2brain/stats/permutation.hpp>
#include <dnn2brain/stats/random.hpp>
#include <dnn2brain/stats/ttest.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "support/test_helpers.hpp"

using dnn2brain::index_t;

namespace {

Eigen::MatrixXd normal_matrix(index_t rows, index_t cols, std::mt19937_64& engine) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(rows, cols);
  for (auto& v : x.reshaped()) v = normal(engine);
  return x;
}

Eigen::VectorXd rdm_of(const Eigen::MatrixXd& patterns) {
  return dnn2brain::compute_rdm(patterns, dnn2brain::metric::correlation{}).values();
}

// A population of conditions: each condition has latent features z; the model sees z through
// one projection, the brain through another plus noise. A data set draws n conditions.
struct dataset {
  Eigen::MatrixXd models;  // m × 2 model RDMs
  Eigen::VectorXd target;
};

dataset draw(index_t n, std::mt19937_64& engine, const Eigen::MatrixXd& model_map,
             const Eigen::MatrixXd& brain_map) {
  const Eigen::MatrixXd z = normal_matrix(n, model_map.rows(), engine);
  dataset d;
  d.models.resize(dnn2brain::condensed_size(n), 2);
  d.models.col(0) = rdm_of(z * model_map);
  d.models.col(1) = rdm_of(normal_matrix(n, 15, engine));  // an unrelated model
  d.target = rdm_of(z * brain_map + 1.5 * normal_matrix(n, brain_map.cols(), engine));
  return d;
}

}  // namespace

TEST_CASE("pairs of drawn conditions drop pairs of two copies", "[stats][bootstrap]") {
  std::vector<index_t> sources(6);
  const std::vector<index_t> drawn{2, 0, 2, 1};
  sources.resize(
      dnn2brain::detail::source_pairs(4, drawn, dnn2brain::detail::repeated_pair::drop, sources));
  // Positions (0,1) (0,2)x (0,3) (1,2) (1,3) (2,3): pairs {0,2} {1,2} {0,2} {0,1} {1,2}.
  const std::vector<index_t> expected{
      dnn2brain::condensed_index(4, 0, 2), dnn2brain::condensed_index(4, 1, 2),
      dnn2brain::condensed_index(4, 0, 2), dnn2brain::condensed_index(4, 0, 1),
      dnn2brain::condensed_index(4, 1, 2)};
  CHECK(sources == expected);
  // Marked instead of dropped: the condition_map convention.
  std::vector<index_t> marked(6);
  CHECK(dnn2brain::detail::source_pairs(4, drawn, dnn2brain::detail::repeated_pair::mark, marked) ==
        6);
  CHECK(marked == dnn2brain::condition_map(4, drawn).sources());
  CHECK(marked[1] == -1);
}

TEST_CASE("subsampling conditions equals refitting the sub-RDMs (the paper's error bars)",
          "[stats][bootstrap][paper]") {
  std::mt19937_64 engine(5);
  const index_t n = 20, keep = 18;
  const Eigen::MatrixXd model_map = normal_matrix(8, 30, engine);
  const Eigen::MatrixXd brain_map = normal_matrix(8, 40, engine);
  const dataset d = draw(n, engine, model_map, brain_map);
  Eigen::MatrixXd predictors(d.models.rows(), 2);
  predictors << d.models.col(0), d.models.col(0).array().square();
  const dnn2brain::regression_statistic<double> statistic(
      dnn2brain::design_set<double>(dnn2brain::design(predictors)),
      dnn2brain::regression_score::multiple_r);
  const auto r =
      dnn2brain::subsample_conditions(statistic, d.target, keep, {.samples = 40, .seed = 3});
  REQUIRE(r.samples() == 40);
  REQUIRE(r.models() == 1);
  REQUIRE(r.targets() == 1);
  const Eigen::VectorXd distribution = r.distribution(0, 0);
  for (index_t b = 0; b < 40; ++b) {
    // Documented draw: the first `keep` of random_permutation(n, seed, b), in ascending order.
    std::vector<index_t> kept = dnn2brain::random_permutation(n, 3, std::uint64_t(b));
    kept.resize(std::size_t(keep));
    std::sort(kept.begin(), kept.end());
    const index_t m = dnn2brain::condensed_size(keep);
    Eigen::MatrixXd x(m, 2);
    Eigen::VectorXd y(m);
    for (index_t i = 0, k = 0; i < keep; ++i)
      for (index_t j = i + 1; j < keep; ++j, ++k) {
        const index_t from =
            dnn2brain::condensed_index(n, kept[std::size_t(i)], kept[std::size_t(j)]);
        x.row(k) = predictors.row(from);
        y[k] = d.target[from];
      }
    const auto fitted = dnn2brain::fit(dnn2brain::design(x), y);
    CHECK(distribution[b] ==
          Approx(dnn2brain::multiple_r(fitted.adjusted_r_squared(0, 0))).epsilon(1e-12));
  }
  // The paper's error bar is the sample standard deviation (ddof 1).
  const double mean = distribution.mean();
  const double sd = std::sqrt((distribution.array() - mean).square().sum() / 39.0);
  CHECK(r.standard_error(0, 0) == Approx(sd).epsilon(1e-12));
  // Keeping every condition reproduces the estimate in every sample.
  const auto all = dnn2brain::subsample_conditions(statistic, d.target, n, {.samples = 5});
  CHECK((all.distribution(0).array() - all.estimate(0, 0)).abs().maxCoeff() < 1e-12);
  CHECK(all.standard_error(0, 0) < 1e-12);
}

TEST_CASE("the bootstrap over conditions estimates the spread over condition sets",
          "[stats][bootstrap]") {
  // The score's standard deviation across independent condition sets from one population is
  // what the bootstrap standard error estimates; with fresh data sets, compare the two.
  std::mt19937_64 engine(17);
  const index_t n = 24;
  const Eigen::MatrixXd model_map = normal_matrix(6, 30, engine);
  const Eigen::MatrixXd brain_map = normal_matrix(6, 40, engine);
  std::vector<double> scores, regression_scores;
  double bootstrap_se = 0.0, regression_se = 0.0;
  constexpr int sets = 300, bootstrapped = 12;
  for (int s = 0; s < sets; ++s) {
    const dataset d = draw(n, engine, model_map, brain_map);
    const dnn2brain::correlation_statistic correlation(d.models.leftCols(1),
                                                       dnn2brain::measure::pearson{});
    const dnn2brain::regression_statistic<double> regression(
        dnn2brain::design_set<double>(dnn2brain::design(d.models)));
    scores.push_back(correlation(d.target)(0, 0));
    regression_scores.push_back(regression(d.target)(0, 0));
    if (s < bootstrapped) {
      bootstrap_se += dnn2brain::bootstrap_conditions(correlation, d.target,
                                                      {.samples = 400, .seed = std::uint64_t(s)})
                          .standard_error(0, 0);
      regression_se += dnn2brain::bootstrap_conditions(regression, d.target,
                                                       {.samples = 400, .seed = std::uint64_t(s)})
                           .standard_error(0, 0);
    }
  }
  const auto sd = [](const std::vector<double>& v) {
    double mean = 0.0, sum = 0.0;
    for (const double x : v) mean += x / double(v.size());
    for (const double x : v) sum += (x - mean) * (x - mean);
    return std::sqrt(sum / double(v.size() - 1));
  };
  const double ratio = bootstrap_se / bootstrapped / sd(scores);
  const double regression_ratio = regression_se / bootstrapped / sd(regression_scores);
  WARN("bootstrap SE / SD over condition sets: correlation " << ratio << ", regression "
                                                             << regression_ratio);
  CHECK(ratio > 0.7);
  CHECK(ratio < 1.5);
  CHECK(regression_ratio > 0.7);
  CHECK(regression_ratio < 1.5);
}

TEST_CASE("bootstraps over conditions: layout, differences, determinism, errors",
          "[stats][bootstrap]") {
  std::mt19937_64 engine(8);
  const index_t n = 16;
  const Eigen::MatrixXd model_map = normal_matrix(6, 30, engine);
  const Eigen::MatrixXd brain_map = normal_matrix(6, 40, engine);
  const dataset d = draw(n, engine, model_map, brain_map);
  Eigen::MatrixXd targets(d.target.size(), 3);
  targets << d.target, draw(n, engine, model_map, brain_map).target,
      rdm_of(normal_matrix(n, 20, engine));
  const dnn2brain::correlation_statistic statistic(d.models, dnn2brain::measure::spearman{});
  const auto r = dnn2brain::bootstrap_conditions(statistic, targets, {.samples = 300, .seed = 1});
  REQUIRE(r.models() == 2);
  REQUIRE(r.targets() == 3);
  const Eigen::MatrixXd observed = statistic(targets);
  CHECK(r.estimate == observed);
  CHECK(r.lower(0, 0) < r.estimate(0, 0));
  CHECK(r.upper(0, 0) > r.estimate(0, 0));
  // One resample is the D × T statistic of that draw.
  CHECK(r.sample(7)(1, 2) == r.distribution(1, 2)[7]);

  const auto one_minus_zero = r.difference(1, 0);
  REQUIRE(one_minus_zero.models() == 1);
  REQUIRE(one_minus_zero.targets() == 3);
  CHECK(r.difference(0, 1).estimate(0, 0) == r.estimate(0, 0) - r.estimate(1, 0));
  CHECK(one_minus_zero.distribution(0, 1) == r.distribution(1, 1) - r.distribution(0, 1));
  CHECK(r.difference(0, 0).standard_error(0, 0) == 0.0);  // a model minus itself
  CHECK(r.difference(0, 1).lower(0, 0) >
        0.0);  // the related model beats the unrelated one on target 0

  for (const int threads : {1, 2}) {
    const dnn2brain::test::thread_count scope(threads);
    const auto again =
        dnn2brain::bootstrap_conditions(statistic, targets, {.samples = 300, .seed = 1});
    for (index_t b = 0; b < 300; ++b) CHECK(again.sample(b) == r.sample(b));
  }
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(dnn2brain::bootstrap_conditions(statistic, targets.topRows(100)),
                    Contains("dnn2brain::bootstrap_conditions: expected target RDMs over the "
                             "models' 120 pairs of at least 4 conditions, got 100 pairs"));
  CHECK_THROWS_WITH(dnn2brain::subsample_conditions(statistic, targets, 17),
                    Contains("expected to keep 3 to 16 of the 16 conditions, got 17"));
  CHECK_THROWS_WITH(dnn2brain::bootstrap_conditions(statistic, targets, {.samples = 0}),
                    Contains("expected at least 1 bootstrap sample, got 0"));
  CHECK_THROWS_WITH(r.difference(0, 2),
                    Contains("expected a model in [0, 2) and a target in [0, 3), got 2 and 0"));
  CHECK_THROWS_WITH(r.distribution(0, 3), Contains("got 0 and 3"));
  CHECK_THROWS_WITH(r.sample(300), Contains("expected a sample in [0, 300), got 300"));
}

TEST_CASE("the paper's p-values: difference direction and FDR within each target",
          "[stats][permutation][paper]") {
  std::mt19937_64 engine(3);
  const index_t n = 12;
  const Eigen::MatrixXd model_map = normal_matrix(6, 30, engine);
  const Eigen::MatrixXd brain_map = normal_matrix(6, 40, engine);
  const dataset d = draw(n, engine, model_map, brain_map);
  Eigen::MatrixXd models(d.models.rows(), 4);
  models << d.models, rdm_of(normal_matrix(n, 10, engine)), rdm_of(normal_matrix(n, 10, engine));
  auto options = dnn2brain::paper::permutation_test_options(9);
  options.permutations = 500;
  CHECK(options.scheme == dnn2brain::permutation_scheme::pairs);
  const dnn2brain::correlation_statistic statistic(models);
  const auto r = dnn2brain::permutation_test(statistic, d.target, options);
  const auto paper = dnn2brain::paper::fdr_within_targets(r);

  // The paper's counts, from the null sequence of one target (max_null).
  const Eigen::VectorXd o = r.observed.col(0);
  std::vector<double> upper;
  for (index_t a = 0; a < 4; ++a)
    for (index_t b = a + 1; b < 4; ++b) {
      const double observed = o[a] - o[b];
      double count = 0.0;
      for (index_t q = 0; q < 500; ++q) {
        const double null = r.max_null(q, a) - r.max_null(q, b);
        count += observed > 0 ? null >= observed : observed < 0 ? null <= observed : 0.0;
      }
      upper.push_back((count + 1.0) / 501.0);
    }
  const Eigen::VectorXd adjusted =
      dnn2brain::adjust_p_values(Eigen::Map<const Eigen::VectorXd>(upper.data(), 6),
                                 dnn2brain::correction::benjamini_hochberg);
  for (index_t a = 0, k = 0; a < 4; ++a) {
    CHECK(paper.p_difference(a, a)[0] == 1.0 / 501.0);
    for (index_t b = a + 1; b < 4; ++b, ++k) {
      CHECK(paper.p_difference(a, b)[0] == Approx(adjusted[k]).epsilon(1e-14));
      CHECK(paper.p_difference(b, a)[0] == paper.p_difference(a, b)[0]);
    }
  }
  const Eigen::VectorXd p = r.p_value.col(0);
  CHECK(dnn2brain::test::max_abs_diff(
            paper.p.col(0),
            dnn2brain::adjust_p_values(p, dnn2brain::correction::benjamini_hochberg)) == 0.0);
  auto without = options;
  without.differences = false;
  CHECK_THROWS_WITH(dnn2brain::paper::fdr_within_targets(
                        dnn2brain::permutation_test(statistic, d.target, without)),
                    Catch::Matchers::Contains("expected a permutation result with differences"));
}

TEST_CASE("a gathered design set scores as its designs refitted on the gathered pairs",
          "[stats][bootstrap]") {
  std::mt19937_64 engine(12);
  const index_t n = 14, m = dnn2brain::condensed_size(n);
  // Three independent designs (their bases go side by side when gathered) and three nested ones
  // (merged).
  const Eigen::MatrixXd x = normal_matrix(m, 6, engine);
  const Eigen::MatrixXd y = normal_matrix(m, 5, engine);
  const std::vector<index_t> drawn{0, 3, 3, 5, 6, 7, 7, 7, 9, 10, 11, 12, 13, 2};
  std::vector<index_t> sources(std::size_t(dnn2brain::condensed_size(index_t(drawn.size()))));
  sources.resize(
      dnn2brain::detail::source_pairs(n, drawn, dnn2brain::detail::repeated_pair::drop, sources));
  Eigen::MatrixXd gathered_y(index_t(sources.size()), 5);
  for (index_t k = 0; k < gathered_y.rows(); ++k)
    gathered_y.row(k) = y.row(sources[std::size_t(k)]);
  for (const bool nested : {false, true}) {
    std::vector<dnn2brain::design> designs, refitted;
    for (index_t d = 0; d < 3; ++d) {
      const Eigen::MatrixXd columns = nested ? x.leftCols(2 * (d + 1)) : x.middleCols(2 * d, 2);
      designs.emplace_back(columns);
      Eigen::MatrixXd rows(index_t(sources.size()), columns.cols());
      for (index_t k = 0; k < rows.rows(); ++k) rows.row(k) = columns.row(sources[std::size_t(k)]);
      refitted.emplace_back(rows);
    }
    const dnn2brain::design_set<double> set(designs);
    const auto expected = dnn2brain::fit(dnn2brain::design_set<double>(refitted), gathered_y);
    const auto got = dnn2brain::fit(set.gathered(sources), gathered_y);
    INFO((nested ? "nested" : "independent"));
    CHECK(dnn2brain::test::max_abs_diff(got.adjusted_r_squared, expected.adjusted_r_squared) <
          1e-13);
    CHECK(set.gathered(sources).union_rank() == 6);
  }
}

TEST_CASE("a resample too small to fit gives NaN, not an error", "[stats][bootstrap]") {
  std::mt19937_64 engine(30);
  const index_t n = 5;
  const Eigen::MatrixXd x = normal_matrix(dnn2brain::condensed_size(n), 2, engine);
  const Eigen::VectorXd y = normal_matrix(dnn2brain::condensed_size(n), 1, engine);
  const dnn2brain::regression_statistic<double> statistic{
      dnn2brain::design_set<double>(dnn2brain::design(x))};
  // Five conditions drawn with replacement often leave fewer than 4 pairs for 2 predictors.
  const auto r = dnn2brain::bootstrap_conditions(statistic, y, {.samples = 200, .seed = 4});
  const auto undefined = r.distribution(0).array().isNaN().count();
  CHECK(undefined > 0);
  CHECK(undefined < 200);
  CHECK(std::isnan(r.standard_error(0, 0)));
  CHECK(std::isfinite(r.estimate(0, 0)));
}

namespace {
// A measure with a parameter: Pearson's r of the model raised to a power.
struct powered_pearson {
  static constexpr const char* name = "powered pearson";
  double power = 1.0;
  [[nodiscard]] dnn2brain::measure::pearson::prepared prepare(const Eigen::VectorXd& model) const {
    return dnn2brain::measure::pearson::prepared(model.array().pow(power).matrix());
  }
};
}  // namespace

TEST_CASE("a correlation statistic keeps its measure object through gathered copies",
          "[stats][measure]") {
  std::mt19937_64 engine(41);
  const index_t n = 10, m = dnn2brain::condensed_size(n);
  const Eigen::MatrixXd models = normal_matrix(m, 2, engine).cwiseAbs();
  const Eigen::MatrixXd targets = normal_matrix(m, 3, engine);
  const dnn2brain::correlation_statistic statistic(models, powered_pearson{.power = 2.0});
  const dnn2brain::correlation_statistic squared(models.array().square().matrix().eval());
  CHECK(statistic(targets) == squared(targets));
  std::vector<index_t> reversed(static_cast<std::size_t>(m));
  for (index_t k = 0; k < m; ++k) reversed[std::size_t(k)] = m - 1 - k;
  const Eigen::MatrixXd flipped = targets.colwise().reverse();
  CHECK(statistic.gathered(reversed)(flipped) == squared.gathered(reversed)(flipped));
  CHECK(statistic.gathered_each(std::vector<std::vector<index_t>>{reversed, reversed})
            .measure()
            .power == 2.0);
}

namespace {
// A row-major xtensor copy of a matrix, as a reader would return it: shape (rows, cols).
xt::xtensor<double, 2> as_array(const Eigen::MatrixXd& m) {
  xt::xtensor<double, 2> a = xt::zeros<double>({std::size_t(m.rows()), std::size_t(m.cols())});
  for (index_t i = 0; i < m.rows(); ++i)
    for (index_t j = 0; j < m.cols(); ++j) a(std::size_t(i), std::size_t(j)) = m(i, j);
  return a;
}
}  // namespace

TEST_CASE("xtensor arrays give what the same Eigen matrices give", "[stats][xtensor]") {
  std::mt19937_64 engine(43);
  const index_t n = 9, m = dnn2brain::condensed_size(n);
  const Eigen::MatrixXd x = normal_matrix(m, 2, engine), y = normal_matrix(m, 4, engine);
  const auto xa = as_array(x), ya = as_array(y);
  const dnn2brain::design design(x);
  CHECK(dnn2brain::design(xa).basis() == design.basis());
  const dnn2brain::design_set<double> set(design);
  CHECK(dnn2brain::fit(set, ya).adjusted_r_squared == dnn2brain::fit(set, y).adjusted_r_squared);
  CHECK(dnn2brain::fit(design, ya).r_squared == dnn2brain::fit(design, y).r_squared);
  const xt::xtensor<double, 1> model = xt::view(xa, xt::all(), 0);
  CHECK(dnn2brain::compare_columns(model, ya, dnn2brain::measure::spearman{}) ==
        dnn2brain::compare_columns(x.col(0), y, dnn2brain::measure::spearman{}));
  CHECK(dnn2brain::compare_vectors(model, model) == Approx(1.0).epsilon(1e-15));
  const dnn2brain::permutation_options options{.permutations = 30, .seed = 2};
  CHECK(dnn2brain::permutation_test(set, ya, options).p_value ==
        dnn2brain::permutation_test(set, y, options).p_value);
  const dnn2brain::correlation_statistic from_array(xa);
  CHECK(from_array(y) == dnn2brain::correlation_statistic(x)(y));
  // Scores of 12 subjects × 3 models: t-tests, the standard error, the subject bootstrap.
  const Eigen::MatrixXd scores = normal_matrix(12, 3, engine),
                        others = normal_matrix(12, 3, engine);
  const auto sa = as_array(scores), oa = as_array(others);
  CHECK(dnn2brain::ttest_one_sample(sa).p_value == dnn2brain::ttest_one_sample(scores).p_value);
  CHECK(dnn2brain::ttest_paired(sa, oa).statistic ==
        dnn2brain::ttest_paired(scores, others).statistic);
  CHECK(dnn2brain::ttest_welch(sa, oa).p_value == dnn2brain::ttest_welch(scores, others).p_value);
  CHECK(dnn2brain::ttest_student(sa, oa).p_value ==
        dnn2brain::ttest_student(scores, others).p_value);
  CHECK(dnn2brain::sem(sa) == dnn2brain::sem(scores));
  CHECK(dnn2brain::bootstrap_subjects(sa, {.samples = 50}).standard_error ==
        dnn2brain::bootstrap_subjects(scores, {.samples = 50}).standard_error);
  const dnn2brain::regression_statistic<double> statistic(set);
  CHECK(dnn2brain::bootstrap_conditions(statistic, ya, {.samples = 20}).standard_error ==
        dnn2brain::bootstrap_conditions(statistic, y, {.samples = 20}).standard_error);
  CHECK(dnn2brain::rank_transform(model) == dnn2brain::rank_transform(x.col(0)));
  const xt::xtensor<double, 2> covariate = xt::view(xa, xt::all(), xt::range(1, 2));
  CHECK(dnn2brain::partial_correlation_columns(model, ya, covariate) ==
        dnn2brain::partial_correlation_columns(x.col(0), y, x.col(1)));
  const xt::xtensor<double, 3> cube = xt::zeros<double>({2, 3, 4});
  CHECK_THROWS_WITH(dnn2brain::fit(set, cube),
                    "dnn2brain::fit: expected a 1-D or 2-D array, got 3 dimension(s)");
}

TEST_CASE("the paper's noise ceiling: Spearman against the raw mean of the others' RDMs",
          "[stats][paper][noise_ceiling]") {
  std::mt19937_64 engine(44);
  const index_t n = 12, m = dnn2brain::condensed_size(n), subjects = 5;
  const Eigen::VectorXd truth = normal_matrix(m, 1, engine);
  Eigen::MatrixXd rdms = normal_matrix(m, subjects, engine);
  for (index_t s = 0; s < subjects; ++s) rdms.col(s) += truth * double(s + 1);  // unequal scales
  const auto stack = dnn2brain::rdm_stack<double>::from_columns(rdms, n);
  const auto ceiling = dnn2brain::noise_ceiling(stack, dnn2brain::measure::spearman{},
                                                dnn2brain::paper::noise_ceiling_options());
  double lower = 0.0, upper = 0.0;
  const Eigen::VectorXd all = rdms.rowwise().mean();
  for (index_t s = 0; s < subjects; ++s) {
    const Eigen::VectorXd others = (rdms.rowwise().sum() - rdms.col(s)) / double(subjects - 1);
    lower += dnn2brain::compare_vectors(rdms.col(s), others, dnn2brain::measure::spearman{});
    upper += dnn2brain::compare_vectors(rdms.col(s), all, dnn2brain::measure::spearman{});
  }
  CHECK(ceiling.lower == Approx(lower / double(subjects)).epsilon(1e-14));
  CHECK(ceiling.upper == Approx(upper / double(subjects)).epsilon(1e-14));
  CHECK(dnn2brain::paper::noise_ceiling_threshold == 0.033);
}

TEST_CASE("unique variance from leave-one-out designs equals the partitioning's unique fractions",
          "[stats][partition]") {
  std::mt19937_64 engine(21);
  const index_t n = 14, m = dnn2brain::condensed_size(n);
  // Four groups of two correlated predictor RDMs; targets mixing three of them.
  std::vector<Eigen::MatrixXd> groups;
  for (int g = 0; g < 4; ++g) {
    const Eigen::MatrixXd z = normal_matrix(n, 8, engine);
    Eigen::MatrixXd x(m, 2);
    x << rdm_of(z), rdm_of(z + 0.5 * normal_matrix(n, 8, engine));
    groups.push_back(x);
  }
  Eigen::MatrixXd targets(m, 3);
  for (index_t t = 0; t < 3; ++t)
    targets.col(t) = groups[0].col(0) + double(t) * groups[2].col(1) + groups[3].col(0) +
                     2.0 * normal_matrix(m, 1, engine);
  const dnn2brain::variance_partitioning<double> vp(groups);
  std::vector<dnn2brain::design> loo;
  Eigen::MatrixXd all(m, 8);
  all << groups[0], groups[1], groups[2], groups[3];
  loo.emplace_back(all);
  for (int g = 0; g < 4; ++g) {
    Eigen::MatrixXd rest(m, 6);
    for (int h = 0, at = 0; h < 4; ++h)
      if (h != g) {
        rest.middleCols(at, 2) = groups[std::size_t(h)];
        at += 2;
      }
    loo.emplace_back(rest);
  }
  const dnn2brain::unique_statistic<double> unique(dnn2brain::design_set<double>(std::move(loo)));
  REQUIRE(unique.size() == 4);
  const Eigen::MatrixXd fractions = dnn2brain::partition_statistic<double>(vp)(targets);
  const Eigen::MatrixXd scores = unique(targets);
  for (index_t g = 0; g < 4; ++g)  // the unique fraction of group g is row 2^g − 1
    CHECK(dnn2brain::test::max_abs_diff(scores.row(g), fractions.row((index_t(1) << g) - 1)) <
          1e-12);
  // Gathered copies score as the copies' own statistics (the permutation tests stack them).
  const std::vector<std::vector<index_t>> lists{
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
      {30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50}};
  const auto stacked = unique.gathered_each(lists);
  REQUIRE(stacked.size() == 8);
  const Eigen::MatrixXd part = targets.topRows(21);
  CHECK(dnn2brain::test::max_abs_diff(stacked(part).topRows(4), unique.gathered(lists[0])(part)) <
        1e-12);
  CHECK(dnn2brain::test::max_abs_diff(stacked(part).bottomRows(4),
                                      unique.gathered(lists[1])(part)) < 1e-12);
  CHECK_THROWS_WITH(
      dnn2brain::unique_statistic<double>(dnn2brain::design_set<double>(
          std::vector<dnn2brain::design>{dnn2brain::design(all), dnn2brain::design(groups[0])})),
      Catch::Matchers::Contains("D + 1 >= 3 designs"));
}

TEST_CASE("the paper's summed unions, and its p-values of a subset of rows",
          "[stats][partition][paper]") {
  std::mt19937_64 engine(22);
  const index_t n = 12, m = dnn2brain::condensed_size(n);
  std::vector<Eigen::MatrixXd> groups;
  for (int g = 0; g < 3; ++g) {
    Eigen::MatrixXd x(m, 2);
    x << rdm_of(normal_matrix(n, 6, engine)), rdm_of(normal_matrix(n, 6, engine));
    groups.push_back(x);
  }
  const Eigen::VectorXd target = groups[0].col(0) + groups[1].col(1) + normal_matrix(m, 1, engine);
  // The paper's vpart3 on summed models: R12 is the fit of [b4_1 + b4_2, out_1 + out_2].
  const auto summed = dnn2brain::paper::summed_partitioning(groups);
  const auto r2 = [&](const Eigen::MatrixXd& x) {
    return dnn2brain::fit(dnn2brain::design(x), target).adjusted_r_squared(0, 0);
  };
  const double r12 = r2(groups[0] + groups[1]), r23 = r2(groups[1] + groups[2]),
               r123 = r2(groups[0] + groups[1] + groups[2]);
  const auto fitted = dnn2brain::fit(summed, target);
  CHECK(std::abs(fitted.unions(summed.subset({0, 1}), 0) - r12) < 1e-12);
  CHECK(std::abs(fitted.fractions(summed.subset({0}), 0) - (r123 - r23)) < 1e-12);
  CHECK_THROWS_WITH(dnn2brain::paper::summed_partitioning(
                        std::vector<Eigen::MatrixXd>{groups[0], groups[1].leftCols(1)}),
                    Catch::Matchers::Contains("groups of one shape"));

  // fdr_within_targets over the unique rows (0, 1, 3) equals it on a result of those rows only.
  auto options = dnn2brain::paper::permutation_test_options(4);
  options.permutations = 200;
  const dnn2brain::partition_statistic<double> statistic{
      dnn2brain::variance_partitioning<double>(groups)};
  const auto r = dnn2brain::permutation_test(statistic, target, options);
  const std::vector<index_t> rows{0, 1, 3};
  const auto within = dnn2brain::paper::fdr_within_targets(r, rows);
  REQUIRE(within.p.rows() == 3);
  REQUIRE(within.p_differences.rows() == 9);
  Eigen::VectorXd p(3);
  for (index_t a = 0; a < 3; ++a) p[a] = r.p_value(rows[std::size_t(a)], 0);
  CHECK(dnn2brain::test::max_abs_diff(
            within.p.col(0),
            dnn2brain::adjust_p_values(p, dnn2brain::correction::benjamini_hochberg)) == 0.0);
  const double d01 = r.observed(0, 0) - r.observed(1, 0);
  const double raw01 = d01 > 0 ? r.p_difference(0, 1)[0] : r.p_difference(1, 0)[0];
  CHECK(within.p_differences(0 * 3 + 1, 0) >= raw01);
  CHECK(within.p_differences(1 * 3 + 0, 0) == within.p_differences(0 * 3 + 1, 0));
  CHECK(within.p_differences(2 * 3 + 2, 0) == 1.0 / 201.0);
  CHECK_THROWS_WITH(dnn2brain::paper::fdr_within_targets(r, std::vector<index_t>{0, 7}),
                    Catch::Matchers::Contains("rows in [0, 7), got 7"));
  CHECK_THROWS_WITH(dnn2brain::paper::fdr_within_targets(r, std::vector<index_t>{1, 1}),
                    Catch::Matchers::Contains("got 1 twice"));
}
