// Shared-design OLS: statsmodels numbers, a long-double normal-equations oracle, invariants,
// determinism and bad input.
#include <dnn2brain/regression.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <Eigen/LU>
#include <Eigen/SVD>
#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/reference_impl.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::design;
using dnn2brain::design_set;
using dnn2brain::index_t;
using dnn2brain::test::gaussian;
using dnn2brain::test::max_abs_diff;

namespace {

const dnn2brain::test::row_matrix& regression_reference(const std::string& name) {
  return dnn2brain::test::reference(name, DNN2BRAIN_REGRESSION_REFERENCE_FILE);
}

// Targets that depend on the predictors plus noise, with an RDM-like mean and spread.
Eigen::MatrixXd related_targets(const Eigen::MatrixXd& x, index_t count, unsigned seed) {
  const Eigen::MatrixXd weights = gaussian(x.cols(), count, seed);
  Eigen::MatrixXd y = 0.1 * (x * weights) + gaussian(x.rows(), count, seed + 1);
  return (y.array() * 0.05 + 0.8).matrix();
}

}  // namespace

TEST_CASE("fit agrees with statsmodels OLS to 1e-10", "[regression][reference]") {
  const Eigen::MatrixXd x = regression_reference("random_x");
  const Eigen::MatrixXd y = regression_reference("random_y");
  for (const std::string prefix : {"random", "random_single"}) {
    const index_t p = prefix == "random" ? 3 : 1;
    const design d(x.leftCols(p));
    const auto r = fit(d, y, {.coefficients = true});
    REQUIRE(r.info == dnn2brain::status::success);
    REQUIRE(d.rank() == static_cast<index_t>(regression_reference(prefix + "_df_model")(0, 0)));
    const double d_r2 = max_abs_diff(r.r_squared, regression_reference(prefix + "_r2"));
    const double d_adj = max_abs_diff(r.adjusted_r_squared, regression_reference(prefix + "_adj"));
    const double d_params =
        max_abs_diff(r.coefficients[0], regression_reference(prefix + "_params"));
    INFO(prefix << ": R² " << d_r2 << ", adjusted " << d_adj << ", params " << d_params);
    CHECK(d_r2 <= 1e-10);
    CHECK(d_adj <= 1e-10);
    CHECK(d_params <= 1e-10);
  }
}

TEST_CASE("fit agrees with a long-double normal-equations oracle", "[regression][oracle]") {
  // Sizes from a few pairs above the minimum to a 50-condition RDM, up to 6 predictors; in double
  // the projection's error is a few ε·√m relative to SS_tot, so 1e-12 is loose.
  for (const auto& [m, p] : {std::pair<index_t, index_t>{8, 1}, {10, 3}, {45, 6}, {1225, 2}}) {
    const Eigen::MatrixXd x = gaussian(m, p, unsigned(m + p));
    const Eigen::MatrixXd y = related_targets(x, 5, unsigned(7 * m));
    const auto r = fit(design(x), y);
    for (index_t t = 0; t < y.cols(); ++t) {
      const double expected = dnn2brain::test::naive_r_squared(x, y.col(t));
      INFO("m " << m << ", p " << p << ", target " << t);
      CHECK(std::abs(r.r_squared(0, t) - expected) <= 1e-12);
      const double adjusted = 1.0 - (1.0 - expected) * double(m - 1) / double(m - p - 1);
      CHECK(std::abs(r.adjusted_r_squared(0, t) - adjusted) <= 1e-12 * double(m));
    }
  }
}

TEST_CASE("float targets: projection in float, error from the float model", "[regression][float]") {
  const Eigen::MatrixXd x = gaussian(1225, 2, 11);
  const Eigen::MatrixXd y = related_targets(x, 100, 12);
  const auto exact = fit(design(x), y);
  const Eigen::MatrixXf yf = y.cast<float>();
  const auto r = fit(design(x), yf);
  // Each projection is a sum of m = 1225 float products of centred values: relative error about
  // √m·ε_float ≈ 4e-6 of ‖y − ȳ‖, and R² inherits about twice that (the double reference sees
  // the same rounded targets only up to their float rounding, 6e-8 relative).
  const double worst = max_abs_diff(r.r_squared, exact.r_squared);
  INFO("worst float deviation " << worst);
  CHECK(worst <= 2e-5);
}

TEST_CASE("invariants of the fit", "[regression][invariants]") {
  const Eigen::MatrixXd x = gaussian(300, 3, 21);
  Eigen::MatrixXd y = related_targets(x, 40, 22);

  SECTION("a target equal to a predictor is fitted exactly") {
    y.col(3) = x.col(1);
    y.col(4) = (2.5 - 3.0 * x.col(2).array()).matrix();
    const auto r = fit(design(x), y, {.coefficients = true});
    CHECK(std::abs(r.r_squared(0, 3) - 1.0) <= 1e-14);
    CHECK(std::abs(r.adjusted_r_squared(0, 3) - 1.0) <= 1e-13);
    CHECK(std::abs(r.r_squared(0, 4) - 1.0) <= 1e-14);
    const Eigen::Vector4d planted(2.5, 0.0, 0.0, -3.0);
    CHECK(max_abs_diff(r.coefficients[0].col(4), planted) <= 1e-13);
  }

  SECTION("adding a pure-noise predictor never lowers R²") {
    Eigen::MatrixXd wider(x.rows(), 4);
    wider << x, gaussian(x.rows(), 1, 23);
    const auto narrow_fit = fit(design(x), y), wide_fit = fit(design(wider), y);
    CHECK(((wide_fit.r_squared - narrow_fit.r_squared).array() >= -1e-15).all());
    // ... while the adjusted R² may fall: it charges the extra degree of freedom.
    CHECK(((wide_fit.adjusted_r_squared - narrow_fit.adjusted_r_squared).array() < 0).any());
  }

  SECTION("permuting targets permutes results, bit for bit") {
    std::vector<index_t> order(static_cast<std::size_t>(y.cols()));
    for (index_t t = 0; t < y.cols(); ++t) order[std::size_t(t)] = (t * 17 + 5) % y.cols();
    Eigen::MatrixXd permuted(y.rows(), y.cols());
    for (index_t t = 0; t < y.cols(); ++t) permuted.col(t) = y.col(order[std::size_t(t)]);
    const auto a = fit(design(x), y, {.coefficients = true});
    const auto b = fit(design(x), permuted, {.coefficients = true});
    for (index_t t = 0; t < y.cols(); ++t) {
      REQUIRE(b.r_squared(0, t) == a.r_squared(0, order[std::size_t(t)]));
      REQUIRE(b.coefficients[0].col(t) == a.coefficients[0].col(order[std::size_t(t)]));
    }
  }

  SECTION("R² does not depend on the units or the offset of predictors") {
    // Units from 1e-6 to 1e9 (the AlexNet RDMs of rsa92 span 0.1 to 2e9) and an offset 1000
    // times the spread: the offset alone costs 1e3·ε of the predictor's precision.
    Eigen::MatrixXd rescaled = x;
    rescaled.col(0) *= 1e9;
    rescaled.col(1) *= 1e-6;
    rescaled.col(2) = rescaled.col(2).array() + 1e3;
    const auto a = fit(design(x), y), b = fit(design(rescaled), y);
    CHECK(max_abs_diff(a.r_squared, b.r_squared) <= 1e-12);
  }
}

TEST_CASE("chunked, whole-stack and multi-threaded fits are bit-identical",
          "[regression][determinism]") {
  const Eigen::MatrixXd x = gaussian(1225, 4, 31);
  const Eigen::MatrixXd y = related_targets(x, 203, 32);
  const design_set<double> set(
      std::vector<design>{design(x.leftCols(2)), design(x.rightCols(2)), design(x)});
  const auto whole = fit(set, y, {.coefficients = true});
  const Eigen::MatrixXf yf = y.cast<float>();
  const design_set<float> set_f(std::vector<design>{design(x.leftCols(2)), design(x)});
  const auto whole_f = fit(set_f, yf);
  for (const index_t chunk : {1, 3, 64, 100}) {
    for (const int threads : {1, 2}) {
      const dnn2brain::test::thread_count scope(threads);
      INFO("chunk " << chunk << ", threads " << threads);
      for (index_t j = 0; j < y.cols(); j += chunk) {
        const index_t size = std::min(chunk, y.cols() - j);
        const auto part = fit(set, y.middleCols(j, size), {.coefficients = true});
        REQUIRE(part.r_squared == whole.r_squared.middleCols(j, size));
        REQUIRE(part.adjusted_r_squared == whole.adjusted_r_squared.middleCols(j, size));
        for (std::size_t d = 0; d < 3; ++d)
          REQUIRE(part.coefficients[d] == whole.coefficients[d].middleCols(j, size));
        REQUIRE(fit(set_f, yf.middleCols(j, size)).r_squared ==
                whole_f.r_squared.middleCols(j, size));
      }
    }
  }
  // A row-major copy of the targets is read through a copy, with the same results.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = y;
  CHECK(fit(set, row_major).r_squared == whole.r_squared);
}

TEST_CASE("a design set fits each design as if alone", "[regression][design_set]") {
  const Eigen::MatrixXd x = gaussian(435, 6, 41);
  const Eigen::MatrixXd y = related_targets(x, 30, 42);
  std::vector<design> designs;
  for (index_t d = 0; d < 3; ++d) designs.emplace_back(x.middleCols(2 * d, 2));
  designs.emplace_back(x.leftCols(4));
  designs.emplace_back(x.col(5));
  const design_set<double> set(designs);
  CHECK(set.size() == 5);
  CHECK(set.union_rank() == 6);
  const auto together = fit(set, y, {.coefficients = true});
  for (index_t d = 0; d < set.size(); ++d) {
    const auto alone = fit(set[d], y, {.coefficients = true});
    INFO("design " << d);
    CHECK(max_abs_diff(together.r_squared.row(d), alone.r_squared) <= 1e-14);
    CHECK(max_abs_diff(together.adjusted_r_squared.row(d), alone.adjusted_r_squared) <= 1e-14);
    CHECK(max_abs_diff(together.coefficients[std::size_t(d)], alone.coefficients[0]) <= 1e-12);
  }
  // rdm_stack and rdm targets go through the same path.
  const auto stack = dnn2brain::rdm_stack<double>::from_columns(y, 30);
  CHECK(fit(set, stack).r_squared == together.r_squared);
  CHECK(fit(set, stack.get(7)).r_squared.col(0) == together.r_squared.col(7));
}

TEST_CASE("designs that share no direction fit side by side as if alone",
          "[regression][design_set]") {
  // DNNs of 2 layers, bases side by side: 2·dnns columns. In the native AVX-512 build of this test
  // the widths end in a half vector after 0 to 4 whole vectors (double: 2, 6, 14, 18, 22 DNNs;
  // float: 4, 12, 20, 28, 36), 22 and 36 DNNs take two kernel groups in double, and 19 is the
  // paper's count.
  const Eigen::MatrixXd x = gaussian(300, 72, 71);
  const Eigen::MatrixXd y = related_targets(x, 37, 72);
  const Eigen::MatrixXf yf = y.cast<float>();
  for (const index_t dnns : {2, 4, 6, 12, 14, 18, 19, 20, 22, 28, 36}) {
    std::vector<design> designs;
    for (index_t d = 0; d < dnns; ++d) designs.emplace_back(x.middleCols(2 * d, 2));
    const design_set<double> set(designs);
    const design_set<float> set_f(designs);
    CHECK(set.union_rank() == 2 * dnns);
    const auto together = fit(set, y, {.coefficients = true});
    const auto together_f = fit(set_f, yf);
    for (index_t d = 0; d < dnns; ++d) {
      const auto alone = fit(designs[std::size_t(d)], y, {.coefficients = true});
      INFO(dnns << " DNNs, design " << d);
      CHECK(max_abs_diff(together.r_squared.row(d), alone.r_squared) <= 1e-14);
      CHECK(max_abs_diff(together.adjusted_r_squared.row(d), alone.adjusted_r_squared) <= 1e-14);
      CHECK(max_abs_diff(together.coefficients[std::size_t(d)], alone.coefficients[0]) <= 1e-12);
      // The float error model of the test above, for m = 300.
      CHECK(max_abs_diff(together_f.r_squared.row(d), alone.r_squared) <= 2e-5);
    }
    // Split into chunks of 1 and 7 targets: the same bits.
    for (const index_t chunk : {1, 7})
      for (index_t j = 0; j < y.cols(); j += chunk) {
        const index_t size = std::min(chunk, y.cols() - j);
        INFO(dnns << " DNNs, chunk " << chunk << " at " << j);
        REQUIRE(fit(set, y.middleCols(j, size)).r_squared ==
                together.r_squared.middleCols(j, size));
        REQUIRE(fit(set_f, yf.middleCols(j, size)).r_squared ==
                together_f.r_squared.middleCols(j, size));
      }
  }
}

TEST_CASE("gathered_each fits every gathered copy as gathered alone, bit for bit",
          "[regression][design_set]") {
  const index_t n = 30, m = dnn2brain::condensed_size(n);
  const Eigen::MatrixXd x = gaussian(m, 5, 61);
  const Eigen::MatrixXd y = related_targets(x, 50, 62);
  std::vector<design> designs;
  designs.emplace_back(x.leftCols(2));
  designs.emplace_back(x.middleCols(1, 3));  // overlaps the first: the union is merged
  designs.emplace_back(x.rightCols(2));
  const design_set<double> set(designs);
  // Three relabellings of the conditions as pair source lists.
  std::vector<std::vector<index_t>> sources;
  std::mt19937 engine(63);
  for (int copy = 0; copy < 3; ++copy) {
    std::vector<index_t> pi(std::size_t(n), 0);
    std::iota(pi.begin(), pi.end(), index_t(0));
    std::shuffle(pi.begin(), pi.end(), engine);
    std::vector<index_t> s(std::size_t(m), 0);
    for (index_t i = 0; i < n; ++i)
      for (index_t j = i + 1; j < n; ++j)
        s[std::size_t(dnn2brain::condensed_index(n, i, j))] =
            dnn2brain::condensed_index(n, std::min(pi[i], pi[j]), std::max(pi[i], pi[j]));
    sources.push_back(std::move(s));
  }
  const design_set<double> stacked = set.gathered_each(sources);
  REQUIRE(stacked.size() == 3 * set.size());
  const auto together = fit(stacked, y, {.coefficients = true});
  for (std::size_t q = 0; q < sources.size(); ++q) {
    const auto alone = fit(set.gathered(sources[q]), y, {.coefficients = true});
    INFO("copy " << q);
    CHECK(together.r_squared.middleRows(index_t(q) * set.size(), set.size()) == alone.r_squared);
    CHECK(together.adjusted_r_squared.middleRows(index_t(q) * set.size(), set.size()) ==
          alone.adjusted_r_squared);
    for (index_t d = 0; d < set.size(); ++d)
      CHECK(together.coefficients[q * std::size_t(set.size()) + std::size_t(d)] ==
            alone.coefficients[std::size_t(d)]);
  }
  CHECK_THROWS_WITH(set.gathered_each({}), Catch::Contains("design_set::gathered_each"));
  sources.back().pop_back();
  CHECK_THROWS_WITH(set.gathered_each(sources), Catch::Contains("equal length"));
}

TEST_CASE("rank deficiency is reported, not hidden", "[regression][rank]") {
  const Eigen::MatrixXd x = gaussian(190, 2, 51);
  const Eigen::MatrixXd y = related_targets(x, 6, 52);
  const auto full = fit(design(x), y, {.coefficients = true});

  SECTION("a duplicated predictor") {
    Eigen::MatrixXd dup(x.rows(), 3);
    dup << x, x.col(0) * 4.0 + Eigen::VectorXd::Constant(x.rows(), 1.0);
    const design d(dup);
    CHECK(d.info() == dnn2brain::status::rank_deficient);
    CHECK(d.rank() == 2);
    REQUIRE(d.dependent_predictors().size() == 1);
    const auto r = fit(d, y, {.coefficients = true});
    CHECK(r.info == dnn2brain::status::rank_deficient);
    // R² is the projection onto the same span; the adjusted R² counts the rank (statsmodels'
    // df_model), so both equal the full-rank fit's.
    CHECK(max_abs_diff(r.r_squared, full.r_squared) <= 1e-13);
    CHECK(max_abs_diff(r.adjusted_r_squared, full.adjusted_r_squared) <= 1e-13);
    // Basic solution: the dependent predictor's coefficient is zero, the fitted values agree.
    const index_t dropped = d.dependent_predictors().front();
    CHECK((r.coefficients[0].row(dropped + 1).array() == 0.0).all());
    Eigen::MatrixXd with_ones(x.rows(), 4);
    with_ones << Eigen::VectorXd::Ones(x.rows()), dup;
    Eigen::MatrixXd with_ones_full(x.rows(), 3);
    with_ones_full << Eigen::VectorXd::Ones(x.rows()), x;
    CHECK(max_abs_diff(with_ones * r.coefficients[0], with_ones_full * full.coefficients[0]) <=
          1e-12);
  }

  SECTION("a constant predictor") {
    Eigen::MatrixXd with_constant(x.rows(), 3);
    with_constant << x.col(0), Eigen::VectorXd::Constant(x.rows(), 0.7), x.col(1);
    const design d(with_constant);
    CHECK(d.info() == dnn2brain::status::rank_deficient);
    CHECK(d.dependent_predictors() == std::vector<index_t>{1});
    CHECK(max_abs_diff(fit(d, y).r_squared, full.r_squared) <= 1e-13);
    const design only_constant(Eigen::VectorXd::Constant(x.rows(), -7.3e5));
    CHECK(only_constant.rank() == 0);
    CHECK((fit(only_constant, y).r_squared.array() == 0.0).all());
  }
}

TEST_CASE("a constant target gives NaN scores with a status", "[regression][degenerate]") {
  const Eigen::MatrixXd x = gaussian(105, 2, 61);
  Eigen::MatrixXd y = related_targets(x, 4, 62);
  y.col(2).setConstant(0.1);
  for (const int threads : {1, 2}) {
    const dnn2brain::test::thread_count scope(threads);
    const auto r = fit(design(x), y, {.coefficients = true});
    CHECK(r.info == dnn2brain::status::degenerate_input);
    CHECK(r.degenerate_targets == std::vector<index_t>{2});
    CHECK(std::isnan(r.r_squared(0, 2)));
    CHECK(std::isnan(r.adjusted_r_squared(0, 2)));
    CHECK(r.coefficients[0].col(2).array().isNaN().all());
    CHECK(std::isfinite(r.r_squared(0, 1)));
  }
  Eigen::MatrixXf yf = y.cast<float>();
  yf.col(0).setConstant(-7.3e5f);
  CHECK(fit(design(x), yf).degenerate_targets == std::vector<index_t>{0, 2});
}

TEST_CASE("multiple_r is the paper's clipped square root", "[regression][score]") {
  CHECK(dnn2brain::multiple_r(0.25) == 0.5);
  CHECK(dnn2brain::multiple_r(-0.01) == 0.0);
  const Eigen::Vector3d adjusted(0.36, -0.2, 0.0);
  const Eigen::Vector3d r = dnn2brain::multiple_r(adjusted);
  CHECK(r == Eigen::Vector3d(0.6, 0.0, 0.0));
}

TEST_CASE("bad input to designs and fits gives clear errors", "[regression][errors]") {
  using Catch::Matchers::Contains;
  const Eigen::MatrixXd x = gaussian(10, 2, 71);
  CHECK_THROWS_WITH(design(Eigen::MatrixXd(10, 0)),
                    Contains("dnn2brain::design: expected at least 1 predictor") &&
                        Contains("got 0 predictors and 10 pairs"));
  CHECK_THROWS_WITH(design(gaussian(3, 3, 1)), Contains("got 3 predictors and 3 pairs"));
  Eigen::MatrixXd bad = x;
  bad(4, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(design(bad), dnn2brain::invalid_argument);
  CHECK_THROWS_WITH(design(bad), Contains("got inf at pair 4 of predictor 1"));

  const design d(x);
  CHECK_THROWS_WITH(fit(d, gaussian(9, 3, 2)),
                    Contains("dnn2brain::fit: expected targets with 10 rows") && Contains("got 9"));
  Eigen::MatrixXd y = gaussian(10, 130, 3);
  y(7, 100) = std::numeric_limits<double>::quiet_NaN();
  y(3, 120) = std::numeric_limits<double>::quiet_NaN();
  for (const int threads : {1, 2}) {
    const dnn2brain::test::thread_count scope(threads);
    // 10 pairs are the RDM of 5 conditions; the first bad target in order is named.
    CHECK_THROWS_WITH(fit(d, y), Contains("expected finite target entries, got nan at pair 7 "
                                          "(conditions 2, 3) of target 100"));
  }
  CHECK_THROWS_WITH(design_set<double>(std::vector<design>{}), Contains("got none"));
  CHECK_THROWS_WITH(design_set<double>(std::vector<design>{d, design(gaussian(12, 1, 4))}),
                    Contains("expected designs over 10 pairs, got 12 pairs in design 1"));
}

TEST_CASE("a saturated design gives its coefficients; its adjusted R² is undefined",
          "[regression][design]") {
  // m = p + 1 pairs: the intercept and p predictors interpolate every target exactly.
  const Eigen::MatrixXd x = gaussian(4, 3, 81);
  const Eigen::MatrixXd y = gaussian(4, 5, 82);
  const design saturated(x);
  CHECK(saturated.residual_dof() == 0);
  const auto r = fit(saturated, y, {.coefficients = true});
  // Oracle: the square system [1 X] β = y, solved directly.
  Eigen::MatrixXd full(4, 4);
  full << Eigen::VectorXd::Ones(4), x;
  const Eigen::MatrixXd exact = full.fullPivLu().solve(y);
  // Error model: cond([1 X]) · ε relative to ‖β‖, a few hundred ε for a random 4 × 4 system.
  const double condition =
      full.jacobiSvd().singularValues()(0) / full.jacobiSvd().singularValues()(3);
  const double tolerance = 16.0 * condition * std::numeric_limits<double>::epsilon();
  INFO("worst deviation " << max_abs_diff(r.coefficients[0], exact) << ", tolerance "
                          << tolerance * exact.cwiseAbs().maxCoeff());
  CHECK(max_abs_diff(r.coefficients[0], exact) <= tolerance * exact.cwiseAbs().maxCoeff());
  CHECK((r.r_squared.array() - 1.0).abs().maxCoeff() < 1e-12);
  CHECK(r.adjusted_r_squared.array().isNaN().all());
  CHECK(std::isnan(saturated.adjust(0.5)));
}
