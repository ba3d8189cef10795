#include <dnn2brain/metrics/crossnobis.hpp>
#include <dnn2brain/rdm/crossnobis.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Cholesky>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::index_t;
using Matrix = Eigen::MatrixXd;

namespace {
std::vector<Matrix> reference_runs() {
  const Matrix all = dnn2brain::test::reference("runs");  // (3·6) × 30
  std::vector<Matrix> runs;
  for (index_t r = 0; r < 3; ++r) runs.push_back(all.middleRows(6 * r, 6));
  return runs;
}
}  // namespace

TEST_CASE("crossnobis matches its definition computed with numpy", "[rdm][crossnobis][scipy]") {
  const auto runs = reference_runs();
  const Eigen::VectorXd ref = dnn2brain::test::reference_vector("runs_crossnobis");
  const dnn2brain::metric::crossnobis metric(dnn2brain::test::reference("precision"));
  const auto r = dnn2brain::compute_crossnobis_rdm(runs, metric);
  const double dev = dnn2brain::test::max_abs_diff(r.values(), ref);
  INFO("worst deviation " << dev << " (values up to " << ref.cwiseAbs().maxCoeff() << ")");
  CHECK(dev <= 1e-12 * ref.cwiseAbs().maxCoeff());
  CHECK((ref.array() < 0).any());  // the estimate is unbiased, so it goes negative

  // Any random-access range of Eigen matrices or Maps, e.g. views into one stacked buffer.
  const Matrix stacked = dnn2brain::test::reference("runs");
  std::vector<Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>> views;
  for (index_t run = 0; run < 3; ++run)
    views.emplace_back(stacked.data() + 6 * run, 6, 30, Eigen::OuterStride<>(18));
  CHECK(dnn2brain::test::max_abs_diff(dnn2brain::compute_crossnobis_rdm(views, metric).values(),
                                      ref) <= 1e-12 * ref.cwiseAbs().maxCoeff());

  // The same data as a runs × conditions × features xtensor array.
  xt::xtensor<double, 3> cube = xt::zeros<double>({3, 6, 30});
  for (std::size_t run = 0; run < 3; ++run)
    for (std::size_t i = 0; i < 6; ++i)
      for (std::size_t f = 0; f < 30; ++f) cube(run, i, f) = runs[run](index_t(i), index_t(f));
  CHECK(dnn2brain::test::max_abs_diff(dnn2brain::compute_crossnobis_rdm(cube, metric).values(),
                                      ref) <= 1e-12 * ref.cwiseAbs().maxCoeff());
}

namespace {
// Error model: every run is whitened in double, z_r = u_r L, each row off by at most p·ε·w with
// w = max over runs and rows of ‖|u_ri|·|L|‖. A set of squared distances of patterns bounded by
// W then carries at most 24pε·W² (8pε·W² from the whitening, 16pε·W² from the Gram route; see
// compute_rdm.test.cpp). The summed runs have W = R·w, each run W = w, and the difference is
// divided by R(R − 1): 24pε·w²·(R² + R)/(R(R − 1)) = 24pε·w²·(R + 1)/(R − 1).
double crossnobis_tolerance(const std::vector<Matrix>& runs, const Matrix& precision) {
  const Matrix l = Eigen::LLT<Matrix>(precision).matrixL();
  double w2 = 0;
  for (const auto& u : runs)
    w2 = std::max(w2, (u.cwiseAbs() * l.cwiseAbs()).rowwise().squaredNorm().maxCoeff());
  const auto r = double(runs.size());
  const auto p = double(runs[0].cols());
  return 24.0 * p * std::numeric_limits<double>::epsilon() * w2 * (r + 1.0) / (r - 1.0);
}
}  // namespace

TEST_CASE("per-feature crossnobis matches rsatoolbox's leave-one-run-out formula (numpy)",
          "[rdm][crossnobis][rsatoolbox]") {
  // rsatoolbox's calc_rdm(method='crossnobis'): for each run s, the mean of the other runs
  // against run s, (ā_i − ā_j)ᵀΛ(u_si − u_sj) / p, averaged over runs; computed that way in numpy.
  const auto runs = reference_runs();
  const Matrix precision = dnn2brain::test::reference("precision");
  const double p = 30.0;
  SECTION("with a noise precision") {
    const Eigen::VectorXd ref = dnn2brain::test::reference_vector("runs_rsatoolbox_crossnobis");
    const auto r = dnn2brain::compute_crossnobis_rdm(
        runs, dnn2brain::metric::crossnobis(precision, {.per_feature = true}));
    const double dev = dnn2brain::test::max_abs_diff(r.values(), ref);
    const double tol = crossnobis_tolerance(runs, precision) / p;
    INFO("worst deviation " << dev << ", tolerance " << tol << " (values up to "
                            << ref.cwiseAbs().maxCoeff() << ")");
    CHECK(dev <= tol);
  }
  SECTION("with the identity") {
    const Eigen::VectorXd ref =
        dnn2brain::test::reference_vector("runs_rsatoolbox_crossnobis_identity");
    const auto r = dnn2brain::compute_crossnobis_rdm(
        runs, dnn2brain::metric::crossnobis({.per_feature = true}));
    const double dev = dnn2brain::test::max_abs_diff(r.values(), ref);
    const double tol = crossnobis_tolerance(runs, Matrix::Identity(30, 30)) / p;
    INFO("worst deviation " << dev << ", tolerance " << tol << " (values up to "
                            << ref.cwiseAbs().maxCoeff() << ")");
    CHECK(dev <= tol);
  }
}

TEMPLATE_TEST_CASE("per-feature crossnobis times p is the plain crossnobis",
                   "[rdm][crossnobis][per_feature][invariants]", float, double) {
  // Both divide the same double sum, by R(R − 1) and by R(R − 1)·p (exact integers), then round
  // to TestType: they differ by at most (ε + 4ε_double)·|plain|.
  std::vector<Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic>> runs;
  for (unsigned r = 0; r < 4; ++r)
    runs.push_back(dnn2brain::test::gaussian(9, 70, 60 + r).cast<TestType>());
  const Matrix a = dnn2brain::test::gaussian(70, 70, 64);
  const Matrix precision = a * a.transpose() / 70.0 + Matrix::Identity(70, 70);
  const double eps = std::numeric_limits<TestType>::epsilon();
  const double eps_double = std::numeric_limits<double>::epsilon();
  for (const bool whiten : {false, true}) {
    const dnn2brain::metric::crossnobis plain =
        whiten ? dnn2brain::metric::crossnobis(precision) : dnn2brain::metric::crossnobis();
    const dnn2brain::metric::crossnobis scaled =
        whiten ? dnn2brain::metric::crossnobis(precision, {.per_feature = true})
               : dnn2brain::metric::crossnobis({.per_feature = true});
    CHECK_FALSE(plain.per_feature());
    CHECK(scaled.per_feature());
    const auto d = dnn2brain::compute_crossnobis_rdm(runs, plain);
    const auto d_scaled = dnn2brain::compute_crossnobis_rdm(runs, scaled);
    double worst = 0;
    for (index_t k = 0; k < d.pairs(); ++k) {
      const double plain_k = d.values()[k];
      worst = std::max(worst, std::abs(double(d_scaled.values()[k]) * 70.0 - plain_k) /
                                  ((eps + 4.0 * eps_double) * std::abs(plain_k)));
    }
    INFO((whiten ? "precision" : "identity")
         << ": worst |per_feature·p − plain| in units of its tolerance " << worst);
    CHECK(worst <= 1.0);
  }
}

TEST_CASE("crossnobis without a precision is the cross-validated squared Euclidean distance",
          "[rdm][crossnobis]") {
  const auto runs = reference_runs();
  const auto r = dnn2brain::compute_crossnobis_rdm(runs);
  for (index_t i = 0; i < 6; ++i)
    for (index_t j = i + 1; j < 6; ++j) {
      long double acc = 0;
      for (std::size_t a = 0; a < 3; ++a)
        for (std::size_t b = 0; b < 3; ++b)
          if (a != b) acc += (runs[a].row(i) - runs[a].row(j)).dot(runs[b].row(i) - runs[b].row(j));
      CHECK(r(i, j) == Approx(static_cast<double>(acc / 6)).epsilon(1e-12));
    }
}

TEST_CASE("crossnobis is unbiased: identical conditions average to zero",
          "[rdm][crossnobis][statistics]") {
  // 4 runs of 5 identical conditions plus unit noise. The plain squared distance has expectation
  // 2p = 40; crossnobis has expectation 0 and standard deviation about sqrt(2p/(R(R−1)))·2 ≈ 5.2.
  const index_t runs_n = 4, n = 5, p = 20, sims = 400;
  double sum = 0, sum_sq = 0, plain = 0;
  index_t count = 0, negative = 0;
  for (index_t s = 0; s < sims; ++s) {
    std::vector<Eigen::MatrixXf> runs;
    for (index_t r = 0; r < runs_n; ++r)
      runs.push_back(
          dnn2brain::test::gaussian(n, p, unsigned(1000 + s * runs_n + r)).cast<float>());
    const auto d = dnn2brain::compute_crossnobis_rdm(runs);
    for (index_t k = 0; k < d.pairs(); ++k) {
      sum += d.values()[k];
      sum_sq += double(d.values()[k]) * d.values()[k];
      negative += d.values()[k] < 0;
      ++count;
    }
    plain += (runs[0].row(0) - runs[0].row(1)).squaredNorm();
  }
  const double mean = sum / double(count);
  const double sd = std::sqrt(sum_sq / double(count) - mean * mean);
  // Pairs within one simulation are correlated; 4 standard errors over simulations is generous.
  INFO("mean " << mean << ", sd " << sd << ", plain squared distance mean "
               << plain / double(sims));
  CHECK(std::abs(mean) <= 4.0 * sd / std::sqrt(double(sims)));
  CHECK(plain / double(sims) == Approx(2.0 * p).epsilon(0.1));
  CHECK(negative > count / 4);
}

TEST_CASE("crossnobis needs at least two runs of equal shape", "[rdm][crossnobis][errors]") {
  std::vector<Matrix> one{Matrix::Ones(4, 3)};
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_crossnobis_rdm(one),
      "dnn2brain::compute_crossnobis_rdm: expected at least 2 runs (cross-validation "
      "needs independent runs), got 1");
  std::vector<Matrix> mismatched{Matrix::Ones(4, 3), Matrix::Ones(4, 2)};
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_crossnobis_rdm(mismatched),
      "dnn2brain::compute_crossnobis_rdm: expected every run to be 4 x 3 like run 0, "
      "got 4 x 2 for run 1");
  std::vector<Matrix> with_nan{Matrix::Ones(4, 3), Matrix::Ones(4, 3)};
  with_nan[1](2, 1) = std::nan("");
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_crossnobis_rdm(with_nan),
      "dnn2brain::compute_crossnobis_rdm: expected finite activations, got nan at condition 2, "
      "feature 1 of run 1");
  const xt::xtensor<double, 2> flat = xt::zeros<double>({4, 3});
  REQUIRE_THROWS_WITH(dnn2brain::compute_crossnobis_rdm(flat),
                      "dnn2brain::compute_crossnobis_rdm: expected a runs x conditions x features "
                      "array, got 2 dimension(s)");
  const dnn2brain::metric::crossnobis wrong_size(Eigen::Matrix2d::Identity());
  std::vector<Matrix> two{Matrix::Ones(4, 3), Matrix::Ones(4, 3)};
  REQUIRE_THROWS_WITH(dnn2brain::compute_crossnobis_rdm(two, wrong_size),
                      Catch::Contains("expected patterns with 2 features"));
}
