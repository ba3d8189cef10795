// Condition-label permutation test: calibration under the null (the test that matters most),
// the paper's entry permutation shown anti-conservative on the same data, power, determinism and
// bad input. Simulation: scenario c3 "graded / graded" of ../shared/reference/calibration.md.
#include <dnn2brain/compare.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/regression.hpp>
#include <dnn2brain/stats/permutation.hpp>
#include <dnn2brain/stats/random.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "support/test_helpers.hpp"

using dnn2brain::index_t;

namespace {

// Patterns with a shared component and condition-specific noise levels σ_i = exp(0.75 z_i):
// conditions differ in their average dissimilarity to all others (row effects), as real RDMs do.
Eigen::MatrixXd graded_patterns(index_t n, index_t features, std::mt19937_64& engine) {
  std::normal_distribution<double> normal;
  Eigen::RowVectorXd shared(features);
  for (auto& v : shared) v = normal(engine);
  Eigen::MatrixXd x(n, features);
  for (index_t i = 0; i < n; ++i) {
    const double sigma = std::exp(0.75 * normal(engine));
    for (index_t f = 0; f < features; ++f) x(i, f) = shared[f] + sigma * normal(engine);
  }
  return x;
}

Eigen::VectorXd rdm_of(const Eigen::MatrixXd& patterns) {
  return dnn2brain::compute_rdm(patterns, dnn2brain::metric::correlation{}).values();
}

// A two-layer model: layer 1 graded patterns, layer 2 = tanh(F1·W/√p) + 0.5·noise.
Eigen::MatrixXd model_layers(index_t n, std::mt19937_64& engine,
                             Eigen::MatrixXd* layer1 = nullptr) {
  constexpr index_t features = 20;
  std::normal_distribution<double> normal;
  const Eigen::MatrixXd f1 = graded_patterns(n, features, engine);
  Eigen::MatrixXd w(features, features), noise(n, features);
  for (auto& v : w.reshaped()) v = normal(engine);
  for (auto& v : noise.reshaped()) v = normal(engine);
  const Eigen::MatrixXd f2 =
      (f1 * w / std::sqrt(double(features))).array().tanh().matrix() + 0.5 * noise;
  if (layer1) *layer1 = f1;
  Eigen::MatrixXd x(dnn2brain::condensed_size(n), 2);
  x << rdm_of(f1), rdm_of(f2);
  return x;
}

// Target t with the conditions relabelled by permutation b: y'(i, j) = y(π(i), π(j)), built
// pair by pair (an oracle independent of the library's pair maps).
Eigen::MatrixXd relabelled(const Eigen::MatrixXd& y, index_t n, std::uint64_t seed,
                           std::uint64_t b) {
  const std::vector<index_t> pi = dnn2brain::random_permutation(n, seed, b);
  Eigen::MatrixXd out(y.rows(), y.cols());
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i + 1; j < n; ++j) {
      const index_t a = std::min(pi[i], pi[j]), c = std::max(pi[i], pi[j]);
      out.row(dnn2brain::condensed_index(n, i, j)) = y.row(dnn2brain::condensed_index(n, a, c));
    }
  return out;
}

// The permutation p-values of a statistic one permutation and one target at a time: D × T, and
// the best-model p-values as an extra last row.
template <typename Score>
Eigen::MatrixXd naive_p_values(const Score& score, const Eigen::MatrixXd& y, index_t n,
                               std::uint64_t seed, index_t permutations) {
  const Eigen::MatrixXd observed = score(y);
  const index_t models = observed.rows();
  Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(models + 1, y.cols());
  for (index_t b = 0; b < permutations; ++b) {
    const Eigen::MatrixXd null = score(relabelled(y, n, seed, std::uint64_t(b)));
    for (index_t t = 0; t < y.cols(); ++t) {
      for (index_t d = 0; d < models; ++d) counts(d, t) += null(d, t) >= observed(d, t);
      counts(models, t) += null.col(t).maxCoeff() >= observed.col(t).maxCoeff();
    }
  }
  return (counts.array() + 1.0) / double(permutations + 1);
}

struct rates {
  double false_positive, ks_distance;
};

// R null repetitions, each with fresh data and model: the rejection rate at 0.05 and the KS
// distance of the p-values from the uniform distribution.
rates null_rates(dnn2brain::permutation_scheme scheme, index_t n, int repetitions,
                 index_t permutations) {
  std::mt19937_64 engine(20261126);
  std::vector<double> p;
  for (int r = 0; r < repetitions; ++r) {
    const dnn2brain::design_set<double> model(dnn2brain::design(model_layers(n, engine)));
    const Eigen::VectorXd data = rdm_of(graded_patterns(n, 20, engine));
    const auto result = dnn2brain::permutation_test(model, data,
                                                    {.permutations = permutations,
                                                     .seed = std::uint64_t(r),
                                                     .scheme = scheme,
                                                     .differences = false});
    p.push_back(result.p_value(0, 0));
  }
  std::sort(p.begin(), p.end());
  double rejected = 0.0, ks = 0.0;
  const double count = double(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    rejected += p[i] <= 0.05;
    ks = std::max({ks, std::abs(double(i + 1) / count - p[i]), std::abs(p[i] - double(i) / count)});
  }
  return {rejected / count, ks};
}

}  // namespace

TEST_CASE("the condition-label test is calibrated; the paper's entry permutation is not",
          "[stats][permutation][calibration]") {
  // n = 12 conditions, 1000 null repetitions, 199 permutations each. Under the null the rejection
  // count is Binomial(1000, 0.05): its 99 % interval is [0.033, 0.068]. KS: the 0.1 % critical
  // distance 1.95/√1000 = 0.062, plus the p-value grid 1/200.
  const rates label = null_rates(dnn2brain::permutation_scheme::conditions, 12, 1000, 199);
  const rates entry = null_rates(dnn2brain::permutation_scheme::pairs, 12, 1000, 199);
  WARN("null FPR at alpha = 0.05 (n = 12, 1000 repetitions, 199 permutations): condition labels "
       << label.false_positive << " (KS distance " << label.ks_distance
       << "), paper's entry permutation " << entry.false_positive << " (KS distance "
       << entry.ks_distance << ")");
  CHECK(label.false_positive >= 0.033);
  CHECK(label.false_positive <= 0.068);
  CHECK(label.ks_distance <= 0.062 + 0.005);
  CHECK(entry.false_positive > 0.2);  // calibration.md: 0.28–0.40 over seeds at this size
}

TEST_CASE("a planted effect is detected", "[stats][permutation][power]") {
  std::mt19937_64 engine(7);
  std::normal_distribution<double> normal;
  int detected = 0;
  for (int r = 0; r < 40; ++r) {
    Eigen::MatrixXd layer1;
    const dnn2brain::design_set<double> model(dnn2brain::design(model_layers(16, engine, &layer1)));
    // The data read the model's first layer out through a random projection, plus noise.
    Eigen::MatrixXd readout(20, 30), noise(16, 30);
    for (auto& v : readout.reshaped()) v = normal(engine);
    for (auto& v : noise.reshaped()) v = normal(engine);
    const Eigen::VectorXd data = rdm_of(layer1 * readout / std::sqrt(20.0) + 0.5 * noise);
    const auto result = dnn2brain::permutation_test(model, data, {.permutations = 199, .seed = 3});
    detected += result.p_value(0, 0) <= 0.05;
  }
  INFO("detected in " << detected << " of 40");
  CHECK(detected >= 36);
}

TEST_CASE("permutation results: every output, deterministic for threads and batches",
          "[stats][permutation][determinism]") {
  std::mt19937_64 engine(11);
  const index_t n = 14;
  std::vector<dnn2brain::design> designs;
  Eigen::MatrixXd layer1;
  designs.emplace_back(model_layers(n, engine, &layer1));
  designs.emplace_back(model_layers(n, engine));
  designs.emplace_back(model_layers(n, engine));
  const dnn2brain::design_set<double> models(designs);
  // 9 targets: 4 related to model 0, 5 unrelated; one constant.
  Eigen::MatrixXd targets(dnn2brain::condensed_size(n), 9);
  std::normal_distribution<double> normal;
  for (index_t t = 0; t < 9; ++t) {
    Eigen::MatrixXd readout(20, 25), noise(n, 25);
    for (auto& v : readout.reshaped()) v = normal(engine);
    for (auto& v : noise.reshaped()) v = normal(engine);
    targets.col(t) = t < 4 ? rdm_of(layer1 * readout / std::sqrt(20.0) + 0.4 * noise)
                           : rdm_of(graded_patterns(n, 20, engine));
  }
  targets.col(8).setConstant(0.5);

  const auto reference =
      dnn2brain::permutation_test(models, targets, {.permutations = 300, .seed = 5});
  REQUIRE(reference.p_value.rows() == 3);
  REQUIRE(reference.p_value.cols() == 9);
  REQUIRE(reference.p_differences.rows() == 9);
  REQUIRE(reference.max_null.rows() == 300);
  for (index_t t = 0; t < 4; ++t) {
    CHECK(reference.p_value(0, t) <= 0.01);
    CHECK(reference.p_fwe(0, t) <= 0.05);
    CHECK(reference.p_difference(0, 1)[t] <= 0.05);  // model 0 beats model 1
    CHECK(reference.p_difference(1, 0)[t] >= 0.5);   // and not the other way round
  }
  CHECK(std::isnan(reference.p_value(0, 8)));
  CHECK(std::isnan(reference.p_difference(1, 1)[0]));  // the diagonal
  // p-values are on the grid k/301 and FWE p-values are never below the uncorrected ones.
  for (index_t t = 0; t < 8; ++t)
    for (index_t d = 0; d < 3; ++d) {
      const double k = reference.p_value(d, t) * 301.0;
      CHECK(std::abs(k - std::round(k)) < 1e-9);
      CHECK(reference.p_fwe(d, t) >= reference.p_value(d, t));
    }

  for (const int threads : {1, 2})
    for (const index_t batch : {1, 7, 512}) {
      const dnn2brain::test::thread_count scope(threads);
      INFO("threads " << threads << ", batch " << batch);
      const auto r = dnn2brain::permutation_test(models, targets,
                                                 {.permutations = 300, .seed = 5, .batch = batch});
      CHECK(dnn2brain::test::max_abs_diff(r.p_value, reference.p_value) == 0.0);
      CHECK(dnn2brain::test::max_abs_diff(r.p_fwe, reference.p_fwe) == 0.0);
      CHECK(dnn2brain::test::max_abs_diff(r.p_differences, reference.p_differences) == 0.0);
      CHECK(dnn2brain::test::max_abs_diff(r.max_null, reference.max_null) == 0.0);
    }
  const auto reseeded =
      dnn2brain::permutation_test(models, targets, {.permutations = 300, .seed = 6});
  CHECK(reseeded.max_null != reference.max_null);
}

TEST_CASE("permutation test: bad input", "[stats][permutation][errors]") {
  using Catch::Matchers::Contains;
  const dnn2brain::design_set<double> three(dnn2brain::design(dnn2brain::test::gaussian(3, 1, 1)));
  CHECK_THROWS_WITH(dnn2brain::permutation_test(three, dnn2brain::test::gaussian(3, 1, 2)),
                    Contains("dnn2brain::permutation_test: expected target RDMs of at least 4 "
                             "conditions (6 pairs), got 3 pairs"));
  const dnn2brain::design_set<double> six(dnn2brain::design(dnn2brain::test::gaussian(6, 1, 1)));
  CHECK_THROWS_WITH(
      dnn2brain::permutation_test(six, dnn2brain::test::gaussian(6, 1, 2), {.permutations = 0}),
      Contains("expected at least 1 permutation, a batch of at least 1 and stop_after >= 0, got 0, "
               "512 and 0"));
  CHECK_THROWS_WITH(dnn2brain::permutation_test(six, dnn2brain::test::gaussian(7, 1, 2)),
                    Contains("got 7 pairs"));
}

TEST_CASE("a permutation's pair map is the condition_map gather of that permutation",
          "[stats][permutation]") {
  std::vector<index_t> labels, sources(dnn2brain::condensed_size(9));
  for (std::uint64_t b = 0; b < 20; ++b) {
    dnn2brain::detail::permuted_pairs(9, dnn2brain::permutation_scheme::conditions, 3, b, labels,
                                      sources);
    CHECK(sources ==
          dnn2brain::condition_map::permutation(dnn2brain::random_permutation(9, 3, b)).sources());
  }
}

namespace {

// Three two-layer models and nine targets over n conditions: four read out from model 0's first
// layer, five unrelated.
struct scenario {
  std::vector<Eigen::MatrixXd> layers;
  Eigen::MatrixXd targets;
};

scenario make_scenario(index_t n, index_t count, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  scenario s;
  Eigen::MatrixXd layer1;
  s.layers.push_back(model_layers(n, engine, &layer1));
  s.layers.push_back(model_layers(n, engine));
  s.layers.push_back(model_layers(n, engine));
  s.targets.resize(dnn2brain::condensed_size(n), count);
  for (index_t t = 0; t < count; ++t) {
    Eigen::MatrixXd readout(20, 25), noise(n, 25);
    for (auto& v : readout.reshaped()) v = normal(engine);
    for (auto& v : noise.reshaped()) v = normal(engine);
    s.targets.col(t) = t % 9 < 4 ? rdm_of(layer1 * readout / std::sqrt(20.0) + 0.6 * noise)
                                 : rdm_of(graded_patterns(n, 20, engine));
  }
  return s;
}

dnn2brain::design_set<double> designs_of(const scenario& s) {
  std::vector<dnn2brain::design> designs;
  for (const auto& x : s.layers) designs.emplace_back(x);
  return dnn2brain::design_set<double>(designs);
}

}  // namespace

TEST_CASE("permutation p-values of every statistic equal a one-at-a-time oracle",
          "[stats][permutation]") {
  const index_t n = 12, permutations = 150;
  const scenario s = make_scenario(n, 9, 21);
  const dnn2brain::permutation_options options{.permutations = permutations, .seed = 8};
  const auto check = [&](const auto& statistic) {
    const auto r = dnn2brain::permutation_test(statistic, s.targets, options);
    const Eigen::MatrixXd expected = naive_p_values(
        [&](const Eigen::MatrixXd& y) {
          Eigen::MatrixXd scores(statistic.size(), y.cols());
          for (index_t t = 0; t < y.cols(); ++t) scores.col(t) = statistic(y.col(t));
          return scores;
        },
        s.targets, n, 8, permutations);
    CHECK(dnn2brain::test::max_abs_diff(r.p_value, expected.topRows(statistic.size())) == 0.0);
    CHECK(dnn2brain::test::max_abs_diff(r.p_best.transpose(), expected.bottomRows(1)) == 0.0);
  };
  SECTION("regression, each score") {
    for (const auto score :
         {dnn2brain::regression_score::r_squared, dnn2brain::regression_score::adjusted_r_squared,
          dnn2brain::regression_score::multiple_r})
      check(dnn2brain::regression_statistic<double>(designs_of(s), score));
  }
  SECTION("variance partitioning fractions") {
    check(dnn2brain::partition_statistic<double>(dnn2brain::variance_partitioning<double>(
        std::vector<Eigen::MatrixXd>{s.layers[0], s.layers[1], s.layers[2]})));
  }
  SECTION("RDM correlations") {
    Eigen::MatrixXd models(s.targets.rows(), 3);
    for (index_t d = 0; d < 3; ++d) models.col(d) = s.layers[std::size_t(d)].col(0);
    check(dnn2brain::correlation_statistic(models, dnn2brain::measure::pearson{}));
    check(dnn2brain::correlation_statistic(models, dnn2brain::measure::spearman{}));
    check(dnn2brain::correlation_statistic(models, dnn2brain::measure::kendall_tau_a{}));
  }
}

TEST_CASE("many targets: the permutation moved onto the models gives the same p-values",
          "[stats][permutation]") {
  // 1030 targets take the relabelled-models path; halves of 515 permute the targets.
  const index_t n = 10, count = 1030;
  const scenario s = make_scenario(n, count, 4);
  const dnn2brain::permutation_options options{.permutations = 120, .seed = 2};
  for (const char* kind : {"regression", "partition", "correlation"}) {
    INFO(kind);
    const auto test = [&](const Eigen::MatrixXd& y) {
      if (kind == std::string("regression"))
        return dnn2brain::permutation_test(designs_of(s), y, options);
      if (kind == std::string("partition"))
        return dnn2brain::permutation_test(
            dnn2brain::variance_partitioning<double>(
                std::vector<Eigen::MatrixXd>{s.layers[0], s.layers[1]}),
            y, options);
      Eigen::MatrixXd models(y.rows(), 3);
      for (index_t d = 0; d < 3; ++d) models.col(d) = s.layers[std::size_t(d)].col(1);
      return dnn2brain::permutation_test(dnn2brain::correlation_statistic(models), y, options);
    };
    const auto whole = test(s.targets);
    const auto left = test(s.targets.leftCols(count / 2));
    const auto right = test(s.targets.rightCols(count / 2));
    Eigen::MatrixXd p(whole.p_value.rows(), count), diff(whole.p_differences.rows(), count);
    p << left.p_value, right.p_value;
    diff << left.p_differences, right.p_differences;
    CHECK(dnn2brain::test::max_abs_diff(whole.p_value, p) == 0.0);
    CHECK(dnn2brain::test::max_abs_diff(whole.p_differences, diff) == 0.0);
    CHECK(whole.p_best.head(count / 2) == left.p_best);
    // Relabelled scores differ from gathered ones by rounding only.
    CHECK(dnn2brain::test::max_abs_diff(whole.max_null, left.max_null.cwiseMax(right.max_null)) <
          1e-12);
  }
}

TEST_CASE("chunks of targets merge into the whole run, bit for bit with a pinned strategy",
          "[stats][permutation][chunks]") {
  const index_t n = 10, count = 300;
  const scenario s = make_scenario(n, count, 6);
  for (const auto strategy : {dnn2brain::permutation_strategy::permute_targets,
                              dnn2brain::permutation_strategy::relabel_models}) {
    INFO("strategy " << int(strategy));
    const dnn2brain::permutation_options options{
        .permutations = 60, .seed = 5, .strategy = strategy};
    const auto models = designs_of(s);
    const auto whole = dnn2brain::permutation_test(models, s.targets, options);
    dnn2brain::permutation_result merged;
    const std::array<std::pair<index_t, index_t>, 3> chunks{{{0, 7}, {7, 200}, {207, 93}}};
    for (const auto& [first, size] : chunks)
      merged.append(
          dnn2brain::permutation_test(models, s.targets.middleCols(first, size), options));
    CHECK(merged.observed == whole.observed);
    CHECK(merged.p_value == whole.p_value);
    CHECK(merged.p_differences.cwiseEqual(whole.p_differences).count() ==
          whole.p_differences.size() - whole.models() * count);  // all but the NaN diagonal
    CHECK(merged.p_best == whole.p_best);
    CHECK(merged.max_null == whole.max_null);
    CHECK(merged.p_fwe == whole.p_fwe);
    CHECK(merged.evaluated == whole.evaluated);
  }
  // Chunks of different tests do not merge.
  auto one =
      dnn2brain::permutation_test(designs_of(s), s.targets.leftCols(5), {.permutations = 20});
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(one.append(dnn2brain::permutation_test(designs_of(s), s.targets.leftCols(5),
                                                           {.permutations = 30})),
                    Contains("expected a chunk of the same"));
  CHECK_THROWS_WITH(one.append(dnn2brain::permutation_test(designs_of(s), s.targets.leftCols(5),
                                                           {.permutations = 20, .stop_after = 3})),
                    Contains("sequential stopping"));
}

namespace {

// A statistic without gathered_each: the relabelled-models path scores it one permutation per
// pass.
struct one_at_a_time {
  dnn2brain::regression_statistic<double> inner;
  [[nodiscard]] index_t size() const { return inner.size(); }
  [[nodiscard]] index_t pairs() const { return inner.pairs(); }
  [[nodiscard]] index_t min_pairs() const { return inner.min_pairs(); }
  template <typename Derived>
  [[nodiscard]] Eigen::MatrixXd operator()(const Eigen::MatrixBase<Derived>& targets) const {
    return inner(targets);
  }
  [[nodiscard]] one_at_a_time gathered(std::span<const index_t> sources) const {
    return {inner.gathered(sources)};
  }
};
static_assert(dnn2brain::resampling_statistic<one_at_a_time>);
static_assert(!dnn2brain::stacking_statistic<one_at_a_time>);
static_assert(dnn2brain::stacking_statistic<dnn2brain::regression_statistic<float>>);

}  // namespace

TEST_CASE("many targets: stacked permutations in slices, partial rounds, sequential stops",
          "[stats][permutation][sequential]") {
  // 1030 targets run the relabelled-models path (8 permutations per pass); the halves of 515
  // permute the targets. 29 permutations end on a partial round; 40 correlation models make
  // slices of 819 targets, so the 1030 are counted in two slices.
  const index_t n = 10, count = 1030;
  const scenario s = make_scenario(n, count, 9);
  Eigen::MatrixXd many(s.targets.rows(), 40);
  std::mt19937_64 engine(3);
  for (index_t d = 0; d < many.cols(); ++d) many.col(d) = model_layers(n, engine).col(d % 2);
  const auto check = [&](const auto& statistic, const dnn2brain::permutation_options& options,
                         bool layouts = false) {
    const auto whole = dnn2brain::permutation_test(statistic, s.targets, options);
    const auto left = dnn2brain::permutation_test(statistic, s.targets.leftCols(515), options);
    const auto right = dnn2brain::permutation_test(statistic, s.targets.rightCols(515), options);
    Eigen::MatrixXd p(whole.p_value.rows(), count);
    p << left.p_value, right.p_value;
    CHECK(dnn2brain::test::max_abs_diff(whole.p_value, p) == 0.0);
    Eigen::MatrixXd best(1, count);
    best << left.p_best.transpose(), right.p_best.transpose();
    CHECK(dnn2brain::test::max_abs_diff(whole.p_best.transpose(), best) == 0.0);
    Eigen::Matrix<index_t, Eigen::Dynamic, Eigen::Dynamic> evaluated(whole.evaluated.rows(), count);
    evaluated << left.evaluated, right.evaluated;
    CHECK(whole.evaluated == evaluated);
    // With 3 models, enough targets stop within two rounds to be dropped from the pass (with 40,
    // a target waits for all 41 of its p-values).
    if (options.stop_after > 0 && statistic.size() <= 3) {
      const auto stopped_by = whole.evaluated.colwise().maxCoeff().array();
      CHECK((stopped_by <= 16).count() >= count / 8);
    }
    if (options.stop_after == 0)
      CHECK(dnn2brain::test::max_abs_diff(whole.max_null, left.max_null.cwiseMax(right.max_null)) <
            1e-12);
    // The same on one thread as on the default team (two in CI).
    {
      const dnn2brain::test::thread_count scope(1);
      const auto again = dnn2brain::permutation_test(statistic, s.targets, options);
      CHECK(dnn2brain::test::max_abs_diff(again.p_value, whole.p_value) == 0.0);
      CHECK(again.evaluated == whole.evaluated);
    }
    if (!layouts) return;
    // Targets read in place from a block of a taller matrix, and copied from row-major storage.
    Eigen::MatrixXd taller(s.targets.rows() + 3, count);
    taller.topRows(s.targets.rows()) = s.targets;
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major =
        s.targets;
    for (const auto& r :
         {dnn2brain::permutation_test(statistic, taller.topRows(s.targets.rows()), options),
          dnn2brain::permutation_test(statistic, row_major, options)})
      CHECK(dnn2brain::test::max_abs_diff(r.p_value, whole.p_value) == 0.0);
  };
  // Each statistic with and without sequential stopping (the loop inside the section: Catch
  // runs a section once per test run).
  const auto both = [&](const auto& statistic, bool layouts) {
    for (const index_t stop_after : {index_t(0), index_t(3)}) {
      INFO("stop_after " << stop_after);
      check(statistic,
            {.permutations = 29, .seed = 4, .differences = false, .stop_after = stop_after},
            layouts && stop_after == 0);
    }
  };
  SECTION("regression") {
    both(dnn2brain::regression_statistic<double>(designs_of(s)), true);
  }
  SECTION("40 correlation models") {
    both(dnn2brain::correlation_statistic(many), false);
  }
  SECTION("a statistic without gathered_each") {
    both(one_at_a_time{dnn2brain::regression_statistic<double>(designs_of(s))}, false);
  }
}

TEST_CASE("gathered_each refuses no lists and lists of different lengths", "[stats][errors]") {
  const scenario s = make_scenario(10, 2, 6);
  const std::vector<std::vector<index_t>> none;
  std::vector<std::vector<index_t>> uneven(2, std::vector<index_t>(45));
  std::iota(uneven[0].begin(), uneven[0].end(), index_t(0));
  std::iota(uneven[1].begin(), uneven[1].end(), index_t(0));
  uneven[1].pop_back();
  const dnn2brain::regression_statistic<double> regression(designs_of(s));
  const dnn2brain::partition_statistic<double> partition(dnn2brain::variance_partitioning<double>(
      std::vector<Eigen::MatrixXd>{s.layers[0], s.layers[1]}));
  const dnn2brain::correlation_statistic correlation(s.layers[0]);
  CHECK_THROWS_WITH(regression.gathered_each(none), Catch::Contains("at least one list"));
  CHECK_THROWS_WITH(partition.gathered_each(none), Catch::Contains("at least one list"));
  CHECK_THROWS_WITH(correlation.gathered_each(none),
                    Catch::Contains("correlation_statistic::gathered_each") &&
                        Catch::Contains("at least one list"));
  CHECK_THROWS_WITH(regression.gathered_each(uneven), Catch::Contains("equal length"));
  CHECK_THROWS_WITH(correlation.gathered_each(uneven), Catch::Contains("equal length"));
  uneven[1].push_back(45);  // out of range
  CHECK_THROWS_WITH(
      correlation.gathered_each(uneven),
      Catch::Contains("correlation_statistic::gathered_each") && Catch::Contains("[0, 45)"));
}

TEST_CASE("gathered_each scores every source list as gathered does, bit for bit",
          "[stats][permutation]") {
  // What lets the relabelled-models path score several permutations per pass.
  const index_t n = 10;
  const scenario s = make_scenario(n, 12, 5);
  std::vector<std::vector<index_t>> lists;
  for (std::uint64_t b = 0; b < 3; ++b) {
    std::vector<index_t> sources(std::size_t(s.targets.rows())), labels;
    dnn2brain::detail::permuted_pairs(n, dnn2brain::permutation_scheme::conditions, 7, b, labels,
                                      sources);
    lists.push_back(std::move(sources));
  }
  const auto check = [&](const auto& statistic) {
    const Eigen::MatrixXd together = statistic.gathered_each(lists)(s.targets);
    const index_t d = statistic.size();
    REQUIRE(together.rows() == 3 * d);
    for (std::size_t q = 0; q < lists.size(); ++q)
      CHECK(together.middleRows(index_t(q) * d, d) == statistic.gathered(lists[q])(s.targets));
  };
  check(dnn2brain::regression_statistic<double>(designs_of(s)));
  check(dnn2brain::partition_statistic<double>(dnn2brain::variance_partitioning<double>(
      std::vector<Eigen::MatrixXd>{s.layers[0], s.layers[1], s.layers[2]})));
  Eigen::MatrixXd models(s.targets.rows(), 2);
  models << s.layers[0].col(0), s.layers[2].col(1);
  check(dnn2brain::correlation_statistic(models, dnn2brain::measure::spearman{}));
}

TEST_CASE("Besag-Clifford sequential stopping: exact stops, valid p-values, deterministic",
          "[stats][permutation][sequential]") {
  const index_t n = 12, permutations = 400, h = 10;
  const scenario s = make_scenario(n, 9, 33);
  const auto models = designs_of(s);
  const dnn2brain::permutation_options full{.permutations = permutations, .seed = 4};
  auto sequential = full;
  sequential.stop_after = h;
  const auto r = dnn2brain::permutation_test(models, s.targets, sequential);
  CHECK(r.p_fwe.size() == 0);
  CHECK(r.max_null.size() == 0);
  index_t stopped = 0;
  for (index_t t = 0; t < 9; ++t) {
    // One target's max_null is its null sequence: the oracle of where each p-value stops.
    const auto one = dnn2brain::permutation_test(models, s.targets.col(t), full);
    for (index_t d = 0; d < 3; ++d) {
      index_t count = 0, at = 0;
      for (index_t q = 0; q < permutations && at == 0; ++q)
        if (one.max_null(q, d) >= one.observed(d, 0) && ++count == h) at = q + 1;
      const double expected =
          at > 0 ? double(h) / double(at) : double(count + 1) / double(permutations + 1);
      INFO("target " << t << ", model " << d);
      CHECK(r.p_value(d, t) == expected);
      CHECK(r.evaluated(d, t) == (at > 0 ? at : permutations));
      if (at == 0) CHECK(r.p_value(d, t) == one.p_value(d, 0));
      stopped += at > 0;
    }
  }
  CHECK(stopped >= 10);                                // unrelated models stop early
  CHECK(r.p_value.row(0).head(4).maxCoeff() <= 0.01);  // related ones run to the end
  for (const int threads : {1, 2})
    for (const index_t batch : {1, 5, 512}) {
      const dnn2brain::test::thread_count scope(threads);
      auto options = sequential;
      options.batch = batch;
      const auto again = dnn2brain::permutation_test(models, s.targets, options);
      CHECK(dnn2brain::test::max_abs_diff(again.p_value, r.p_value) == 0.0);
      CHECK(dnn2brain::test::max_abs_diff(again.p_differences, r.p_differences) == 0.0);
      CHECK(again.evaluated == r.evaluated);
    }
}

TEST_CASE("sequential p-values are calibrated", "[stats][permutation][sequential][calibration]") {
  std::mt19937_64 engine(99);
  std::vector<double> p;
  double evaluated = 0.0;
  for (int r = 0; r < 1000; ++r) {
    const dnn2brain::design_set<double> model(dnn2brain::design(model_layers(12, engine)));
    const Eigen::VectorXd data = rdm_of(graded_patterns(12, 20, engine));
    const auto result = dnn2brain::permutation_test(
        model, data,
        {.permutations = 999, .seed = std::uint64_t(r), .differences = false, .stop_after = 10});
    p.push_back(result.p_value(0, 0));
    evaluated += double(result.evaluated(0, 0));
  }
  const double rejected =
      double(std::count_if(p.begin(), p.end(), [](double v) { return v <= 0.05; })) / 1000.0;
  WARN("sequential stopping (h = 10, N = 999): FPR " << rejected << ", mean permutations "
                                                     << evaluated / 1000.0);
  CHECK(rejected >= 0.033);
  CHECK(rejected <= 0.068);
  CHECK(evaluated / 1000.0 < 100.0);  // ~ h / p: most null tests stop within a few dozen
}
