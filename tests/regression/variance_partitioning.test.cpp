// Variance partitioning: the paper's closed forms for k = 2 and 3, a brute-force recomputation for
// k = 4, the sum rule, and bad input.
#include <dnn2brain/regression.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "support/reference_impl.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::index_t;
using dnn2brain::test::gaussian;
using dnn2brain::test::max_abs_diff;

namespace {

// k groups of 2 predictors over m pairs, sharing a common component (so shared fractions are
// substantial), and targets driven by all of them.
struct problem {
  std::vector<Eigen::MatrixXd> groups;
  Eigen::MatrixXd targets;
};

problem make_problem(index_t k, index_t m, index_t count, unsigned seed) {
  problem p;
  const Eigen::MatrixXd common = gaussian(m, 1, seed);
  for (index_t g = 0; g < k; ++g) {
    Eigen::MatrixXd x = gaussian(m, 2, seed + 1 + unsigned(g));
    x.col(0) += 0.8 * common.col(0);
    p.groups.push_back(x);
  }
  p.targets = gaussian(m, count, seed + 100) * 2.0;
  p.targets.colwise() += 2.0 * common.col(0);
  for (index_t g = 0; g < k; ++g)
    p.targets += p.groups[std::size_t(g)] * gaussian(2, count, seed + 200 + unsigned(g));
  return p;
}

// Predictors of the union of the groups in subset s.
Eigen::MatrixXd union_of(const std::vector<Eigen::MatrixXd>& groups, std::uint32_t s) {
  Eigen::MatrixXd x(groups.front().rows(), 0);
  for (std::size_t g = 0; g < groups.size(); ++g)
    if (s >> g & 1) {
      Eigen::MatrixXd wider(x.rows(), x.cols() + groups[g].cols());
      wider << x, groups[g];
      x = wider;
    }
  return x;
}

}  // namespace

TEST_CASE("k = 2 and 3 equal the paper's vpart2 / vpart3 formulas", "[regression][vpart]") {
  for (const bool adjusted : {true, false}) {
    INFO((adjusted ? "adjusted" : "plain") << " R²");
    {
      const problem p = make_problem(2, 1225, 20, 1);
      const dnn2brain::variance_partitioning<double> vp(p.groups);
      const auto r = fit(vp, p.targets,
                         {.score = adjusted ? dnn2brain::regression_score::adjusted_r_squared
                                            : dnn2brain::regression_score::r_squared});
      const auto R1 = r.unions.row(0), R2 = r.unions.row(1), R12 = r.unions.row(2);
      // Each fraction is a signed sum of at most 4 R² values below 1: a few ε apart at most.
      CHECK(max_abs_diff(r.shared({0, 1}), R1 + R2 - R12) <= 4e-16 * 4);
      CHECK(max_abs_diff(r.unique(0), R12 - R2) <= 4e-16 * 4);
      CHECK(max_abs_diff(r.unique(1), R12 - R1) <= 4e-16 * 4);
    }
    const problem p = make_problem(3, 1225, 20, 2);
    const dnn2brain::variance_partitioning<double> vp(p.groups);
    const auto r = fit(vp, p.targets,
                       {.score = adjusted ? dnn2brain::regression_score::adjusted_r_squared
                                          : dnn2brain::regression_score::r_squared});
    const Eigen::MatrixXd& u = r.unions;
    const auto R1 = u.row(0), R2 = u.row(1), R12 = u.row(2), R3 = u.row(3), R13 = u.row(4),
               R23 = u.row(5), R123 = u.row(6);
    const Eigen::RowVectorXd y123 = R1 + R2 + R3 - R12 - R13 - R23 + R123;
    const double tol = 16 * 2.2e-16;
    CHECK(max_abs_diff(r.shared({0, 1, 2}), y123) <= tol);
    CHECK(max_abs_diff(r.shared({0, 1}), R1 + R2 - R12 - y123) <= tol);
    CHECK(max_abs_diff(r.shared({0, 2}), R1 + R3 - R13 - y123) <= tol);
    CHECK(max_abs_diff(r.shared({1, 2}), R2 + R3 - R23 - y123) <= tol);
    CHECK(max_abs_diff(r.unique(0), R123 - R23) <= tol);
    CHECK(max_abs_diff(r.unique(1), R123 - R13) <= tol);
    CHECK(max_abs_diff(r.unique(2), R123 - R12) <= tol);
    // The common component makes the three-way share positive on average (single targets may
    // show negative shares: suppression, which is kept).
    INFO("three-way shares " << r.shared({0, 1, 2}));
    CHECK(r.shared({0, 1, 2}).mean() > 0.01);
    CHECK((r.shared({0, 1, 2}).array() < 0).any());
  }
}

TEST_CASE("k = 4 against a brute-force recomputation", "[regression][vpart]") {
  const index_t k = 4;
  const problem p = make_problem(k, 300, 6, 3);
  const dnn2brain::variance_partitioning<double> vp(p.groups);
  const auto r = fit(vp, p.targets);
  const std::uint32_t all = (1u << k) - 1;
  const double m = 300.0;
  for (index_t t = 0; t < p.targets.cols(); ++t) {
    // Adjusted R² of every union, from the long-double oracle, each fitted on its own.
    std::vector<double> R(all + 1, 0.0);
    for (std::uint32_t s = 1; s <= all; ++s) {
      const Eigen::MatrixXd x = union_of(p.groups, s);
      const double r2 = dnn2brain::test::naive_r_squared(x, p.targets.col(t));
      R[s] = 1.0 - (1.0 - r2) * (m - 1.0) / (m - double(x.cols()) - 1.0);
      CHECK(std::abs(r.unions(s - 1, t) - R[s]) <= 1e-12);
    }
    // Commonality by its definition, summed term by term.
    for (std::uint32_t s = 1; s <= all; ++s) {
      double f = 0.0;
      for (std::uint32_t b = s;; b = (b - 1) & s) {  // every subset b of s
        if (b != 0) {
          const int sign = (std::popcount(s) - std::popcount(b)) % 2 == 0 ? 1 : -1;
          f += sign * (R[all] - R[all & ~b]);
        }
        if (b == 0) break;
      }
      INFO("target " << t << ", subset " << s);
      CHECK(std::abs(r.fractions(s - 1, t) - f) <= 1e-11);
    }
    for (index_t g = 0; g < k; ++g)
      CHECK(std::abs(r.unique(g)(t) - (R[all] - R[all & ~(1u << g)])) <= 1e-12);
  }
}

TEST_CASE("fractions sum to the total R², for up to 8 groups", "[regression][vpart]") {
  for (const index_t k : {1, 2, 5, 8}) {
    const problem p = make_problem(k, 1225, 5, 4 + unsigned(k));
    const dnn2brain::variance_partitioning<double> vp(p.groups);
    CHECK(vp.groups() == k);
    CHECK(vp.unions().size() == (index_t(1) << k) - 1);
    CHECK(vp.unions().union_rank() == 2 * k);
    for (const bool adjusted : {true, false}) {
      const auto r = fit(vp, p.targets,
                         {.score = adjusted ? dnn2brain::regression_score::adjusted_r_squared
                                            : dnn2brain::regression_score::r_squared});
      INFO("k " << k << (adjusted ? " adjusted" : " plain"));
      CHECK(max_abs_diff(r.fractions.colwise().sum(), r.total()) <= 1e-13 * double(1 << k));
    }
  }
}

TEST_CASE("variance partitioning in float and on rdm_stacks", "[regression][vpart]") {
  const problem p = make_problem(3, 435, 10, 5);
  std::vector<dnn2brain::rdm_stack<float>> groups;
  for (const auto& g : p.groups)
    groups.push_back(dnn2brain::rdm_stack<float>::from_columns(g.cast<float>(), 30));
  const dnn2brain::variance_partitioning<float> vp(groups);
  const auto r = fit(vp, dnn2brain::rdm_stack<float>::from_columns(p.targets.cast<float>(), 30));
  const auto exact = fit(dnn2brain::variance_partitioning<double>(p.groups), p.targets);
  // Inputs rounded to float (6e-8 relative) and float projections (√m·ε_float): 1e-5 absolute.
  CHECK(max_abs_diff(r.fractions, exact.fractions) <= 1e-5);
}

TEST_CASE("a constant target and bad groups", "[regression][vpart][errors]") {
  using Catch::Matchers::Contains;
  problem p = make_problem(2, 45, 3, 6);
  p.targets.col(1).setConstant(0.4);
  const auto r = fit(dnn2brain::variance_partitioning<double>(p.groups), p.targets);
  CHECK(r.info == dnn2brain::status::degenerate_input);
  CHECK(r.degenerate_targets == std::vector<index_t>{1});
  CHECK(r.fractions.col(1).array().isNaN().all());
  CHECK(r.fractions.col(0).allFinite());

  CHECK_THROWS_WITH(dnn2brain::variance_partitioning<double>(std::vector<Eigen::MatrixXd>{}),
                    Contains("expected 1 to 10 groups, got 0"));
  const std::vector<Eigen::MatrixXd> eleven(11, gaussian(100, 1, 7));
  CHECK_THROWS_WITH(dnn2brain::variance_partitioning<double>(eleven), Contains("got 11"));
  const std::vector<Eigen::MatrixXd> uneven{gaussian(45, 2, 8), gaussian(44, 2, 9)};
  CHECK_THROWS_WITH(dnn2brain::variance_partitioning<double>(uneven),
                    Contains("expected every group over 45 pairs, got 44 in group 1"));
}
