#include <dnn2brain/metrics.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Cholesky>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/reference_impl.hpp"
#include "support/test_helpers.hpp"

namespace metric = dnn2brain::metric;
using dnn2brain::index_t;
using dnn2brain::rdm_method;
using dnn2brain::rdm_options;
using dnn2brain::test::max_abs_diff;
using dnn2brain::test::naive_rdm;

namespace {

template <typename Scalar, typename Metric>
Eigen::VectorXd ours(const Eigen::MatrixXd& x, const Metric& m, rdm_options options = {}) {
  return dnn2brain::compute_rdm(x.cast<Scalar>().eval(), m, options)
      .values()
      .template cast<double>();
}

// Error model of the Gram route (see rdm_method::gram): the centred Gram entries carry about
// b·ε·‖zᵢ‖‖zⱼ‖ of rounding, b the chunk width; scipy's own loop adds p·ε. For 1 − r this is
// ~(b + p)·ε; the factor 4 covers the norms and the final division. Centring itself (ours and
// scipy's) rounds each value by ε·|x|, i.e. by ε·κ relative to the centred pattern, κ = max|x| /
// smallest pattern standard deviation. Output rounding adds ε·|d|.
template <typename Scalar>
double one_minus_r_tolerance(const Eigen::MatrixXd& x) {
  const double eps = std::numeric_limits<Scalar>::epsilon();
  const Eigen::MatrixXd z = x.colwise() - x.rowwise().mean();
  const double sd = std::sqrt((z.rowwise().squaredNorm() / double(x.cols())).minCoeff());
  const double kappa = x.cwiseAbs().maxCoeff() / sd;
  return 4.0 * double(2 * x.cols()) * eps + 4.0 * kappa * eps + 2.0 * eps;
}

// For squared distances the rounding is additive: ~b·ε·(‖zᵢ‖² + ‖zⱼ‖²) with z the feature-centred
// patterns; we bound it with the largest norm.
template <typename Scalar>
double squared_tolerance(const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd z = x.rowwise() - x.colwise().mean();
  return 8.0 * double(2 * x.cols()) * std::numeric_limits<Scalar>::epsilon() *
         z.rowwise().squaredNorm().maxCoeff();
}

// A per-feature result is the plain squared distance (the same double, bit for bit) divided in
// double by the exact integer p, then rounded to Scalar (and rooted for root outputs, which halves
// relative errors): pf·p and plain differ by at most the two roundings to Scalar and a few
// double roundings, (ε + 4ε_double)·|plain|. Squaring a rooted distance adds one more Scalar
// rounding: (1.5ε + 4ε_double)·|d²|.
template <typename Scalar>
double rescaling_tolerance(double magnitude, double scalar_roundings = 1.0) {
  return (scalar_roundings * std::numeric_limits<Scalar>::epsilon() +
          4.0 * std::numeric_limits<double>::epsilon()) *
         std::abs(magnitude);
}

// Worst |a·factor − b| against its rescaling tolerance: the ratio must stay <= 1.
template <typename Scalar>
double worst_rescaling(const Eigen::VectorXd& a, double factor, const Eigen::VectorXd& b,
                       double scalar_roundings = 1.0) {
  double worst = 0.0;
  for (index_t k = 0; k < a.size(); ++k)
    worst = std::max(worst, std::abs(a[k] * factor - b[k]) /
                                rescaling_tolerance<Scalar>(b[k], scalar_roundings));
  return worst;
}

// Mahalanobis metrics whiten first, z = x L in double: each row of z is off by at most
// p·ε·w, w = max over rows of ‖|xᵢ|·|L|‖, which moves a squared distance by at most
// 2·‖zᵢ − zⱼ‖·2pεw <= 8pε·w² (‖zᵢ − zⱼ‖ <= 2w); the Gram route then adds squared_tolerance on z,
// 16pε·max‖z‖² <= 16pε·w². Together 24pε·w² (which also covers numpy's kernel form).
double whitened_squared_tolerance(const Eigen::MatrixXd& x, const Eigen::MatrixXd& precision) {
  const Eigen::MatrixXd l = Eigen::LLT<Eigen::MatrixXd>(precision).matrixL();
  const double w2 = (x.cwiseAbs() * l.cwiseAbs()).rowwise().squaredNorm().maxCoeff();
  return 24.0 * double(x.cols()) * std::numeric_limits<double>::epsilon() * w2;
}

template <typename Scalar>
void check_against_scipy(const std::string& data, rdm_method method) {
  const Eigen::MatrixXd x_ref = dnn2brain::test::reference(data);
  // In float the input is rounded first; the oracle then sees the same rounded input.
  const Eigen::MatrixXd x = x_ref.cast<Scalar>().template cast<double>();
  const bool is_double = std::is_same_v<Scalar, double>;
  const rdm_options options{.method = method};
  const double tol_r = one_minus_r_tolerance<Scalar>(x);
  const double tol_sq = squared_tolerance<Scalar>(x);
  auto expected = [&](const std::string& name) {
    return is_double ? dnn2brain::test::reference_vector(data + "_" + name) : naive_rdm(x, name);
  };

  SECTION("correlation") {
    const double dev =
        max_abs_diff(ours<Scalar>(x, metric::correlation{}, options), expected("correlation"));
    INFO("worst deviation " << dev << ", tolerance " << tol_r);
    CHECK(dev <= tol_r);
  }
  SECTION("correlation with centred features") {
    const double dev =
        max_abs_diff(ours<Scalar>(x, metric::correlation{.center_features = true}, options),
                     expected("correlation_centered"));
    INFO("worst deviation " << dev << ", tolerance " << tol_r);
    CHECK(dev <= tol_r);
  }
  SECTION("cosine") {
    const double dev = max_abs_diff(ours<Scalar>(x, metric::cosine{}, options), expected("cosine"));
    INFO("worst deviation " << dev << ", tolerance " << tol_r);
    CHECK(dev <= tol_r);
  }
  SECTION("spearman") {
    const double dev =
        max_abs_diff(ours<Scalar>(x, metric::spearman{}, options), expected("spearman"));
    INFO("worst deviation " << dev << ", tolerance " << tol_r);
    CHECK(dev <= tol_r);
  }
  SECTION("squared euclidean and euclidean") {
    const Eigen::VectorXd sq = ours<Scalar>(x, metric::sq_euclidean{}, options);
    const Eigen::VectorXd d = ours<Scalar>(x, metric::euclidean{}, options);
    const Eigen::VectorXd ref = expected("sqeuclidean");
    const double dev_sq = max_abs_diff(sq, ref);
    const double dev_d = max_abs_diff(d.array().square().matrix(), ref);
    INFO("worst deviation of d^2: " << dev_sq << " (sqeuclidean), " << dev_d
                                    << " (euclidean squared); tolerance " << tol_sq);
    CHECK(dev_sq <= tol_sq);
    CHECK(dev_d <= tol_sq + 4.0 * std::numeric_limits<Scalar>::epsilon() * ref.maxCoeff());
  }
  SECTION("per feature: rsatoolbox's 'euclidean' and its root") {
    // The plain tolerances divided by p: the division is in double by an exact integer.
    const auto p = double(x.cols());
    const Eigen::VectorXd ref =
        is_double ? dnn2brain::test::reference_vector(data + "_rsatoolbox_euclidean")
                  : Eigen::VectorXd(naive_rdm(x, "sqeuclidean") / p);
    const Eigen::VectorXd sq = ours<Scalar>(x, metric::sq_euclidean{.per_feature = true}, options);
    const Eigen::VectorXd d = ours<Scalar>(x, metric::euclidean{.per_feature = true}, options);
    const double dev_sq = max_abs_diff(sq, ref);
    const double dev_d = max_abs_diff(d.array().square().matrix(), ref);
    const double tol_d = tol_sq / p + 4.0 * std::numeric_limits<Scalar>::epsilon() * ref.maxCoeff();
    INFO("worst deviation of d^2/p: " << dev_sq << " (sq_euclidean), " << dev_d
                                      << " (euclidean squared); tolerances " << tol_sq / p << ", "
                                      << tol_d);
    CHECK(dev_sq <= tol_sq / p);
    CHECK(dev_d <= tol_d);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("compute_rdm matches scipy pdist", "[rdm][compute_rdm][scipy]", float, double) {
  for (const char* data : {"x", "x_relu", "x_ties"}) {
    DYNAMIC_SECTION(data << ", gram") {
      check_against_scipy<TestType>(data, rdm_method::gram);
    }
    DYNAMIC_SECTION(data << ", direct") {
      check_against_scipy<TestType>(data, rdm_method::direct);
    }
  }
}

TEST_CASE("mahalanobis matches scipy pdist with VI", "[rdm][compute_rdm][mahalanobis][scipy]") {
  const Eigen::MatrixXd x = dnn2brain::test::reference("x");
  const metric::mahalanobis m(dnn2brain::test::reference("precision"));
  const Eigen::VectorXd ref = dnn2brain::test::reference_vector("x_mahalanobis");
  for (const auto method : {rdm_method::gram, rdm_method::direct}) {
    const double dev = max_abs_diff(ours<double>(x, m, {.method = method}), ref);
    INFO("worst deviation " << dev);
    CHECK(dev <= 1e-12 * ref.maxCoeff());
  }
}

TEST_CASE("squared and per-feature mahalanobis match rsatoolbox's formula (numpy)",
          "[rdm][compute_rdm][mahalanobis][rsatoolbox]") {
  // rsatoolbox's calc_rdm(method='mahalanobis', noise=Λ) is (xᵢ − xⱼ)ᵀΛ(xᵢ − xⱼ) / p: squared and
  // per feature.
  const Eigen::MatrixXd x = dnn2brain::test::reference("x");
  const Eigen::MatrixXd precision = dnn2brain::test::reference("precision");
  const Eigen::VectorXd ref = dnn2brain::test::reference_vector("x_rsatoolbox_mahalanobis");
  const auto p = double(x.cols());
  const double tol = whitened_squared_tolerance(x, precision) / p;
  const metric::sq_mahalanobis rsa(precision, {.per_feature = true});
  const metric::mahalanobis root(precision, {.per_feature = true});
  for (const auto method : {rdm_method::gram, rdm_method::direct}) {
    const double dev = max_abs_diff(ours<double>(x, rsa, {.method = method}), ref);
    const double dev_root =
        max_abs_diff(ours<double>(x, root, {.method = method}).array().square().matrix(), ref);
    INFO((method == rdm_method::gram ? "gram" : "direct")
         << ": worst deviation " << dev << " (sq_mahalanobis), " << dev_root
         << " (mahalanobis squared), tolerance " << tol << " (values up to " << ref.maxCoeff()
         << ")");
    CHECK(dev <= tol);
    CHECK(dev_root <= tol + 4.0 * std::numeric_limits<double>::epsilon() * ref.maxCoeff());
  }
  CHECK(std::string(metric::sq_mahalanobis::name) == "sq_mahalanobis");
  CHECK(rsa.per_feature());
  CHECK_FALSE(metric::sq_mahalanobis(precision).per_feature());
}

TEMPLATE_TEST_CASE(
    "per_feature is the plain distance over p; sq_mahalanobis is mahalanobis squared",
    "[rdm][compute_rdm][per_feature][invariants]", float, double) {
  const Eigen::MatrixXd x0 = dnn2brain::test::gaussian(17, 300, 41);
  const Eigen::MatrixXd x = x0.cast<TestType>().template cast<double>();
  const Eigen::MatrixXd a = dnn2brain::test::gaussian(300, 300, 42);
  const Eigen::MatrixXd precision = a * a.transpose() / 300.0 + Eigen::MatrixXd::Identity(300, 300);
  const double p = 300.0;
  const auto method = GENERATE(rdm_method::gram, rdm_method::direct);
  // Two chunks of features on the Gram route, so the merge is part of what is compared.
  const rdm_options options{.method = method, .chunk_features = 160};
  INFO((method == rdm_method::gram ? "gram" : "direct")
       << ": worst |per_feature·scale − plain| in units of its tolerance");
  const auto check = [&](const auto& plain_metric, const auto& per_feature_metric, double factor,
                         const char* what) {
    const double worst =
        worst_rescaling<TestType>(ours<TestType>(x, per_feature_metric, options), factor,
                                  ours<TestType>(x, plain_metric, options));
    INFO(what << ": " << worst);
    CHECK(worst <= 1.0);
  };
  check(metric::sq_euclidean{}, metric::sq_euclidean{.per_feature = true}, p, "sq_euclidean");
  check(metric::euclidean{}, metric::euclidean{.per_feature = true}, std::sqrt(p), "euclidean");
  check(metric::sq_mahalanobis(precision), metric::sq_mahalanobis(precision, {.per_feature = true}),
        p, "sq_mahalanobis");
  check(metric::mahalanobis(precision), metric::mahalanobis(precision, {.per_feature = true}),
        std::sqrt(p), "mahalanobis");

  const Eigen::VectorXd root = ours<TestType>(x, metric::mahalanobis(precision), options);
  const Eigen::VectorXd squared = ours<TestType>(x, metric::sq_mahalanobis(precision), options);
  const double worst = worst_rescaling<TestType>(root.array().square().matrix(), 1.0, squared, 1.5);
  INFO("mahalanobis squared vs sq_mahalanobis: " << worst);
  CHECK(worst <= 1.0);

  // An xtensor's trailing axes flatten into the features p divides by: 17 × 3 × 100 is p = 300.
  xt::xtensor<TestType, 3> t = xt::zeros<TestType>({17, 3, 100});
  for (std::size_t i = 0; i < 17; ++i)
    for (std::size_t f = 0; f < 300; ++f)
      t(i, f / 100, f % 100) = TestType(x(index_t(i), index_t(f)));
  const Eigen::VectorXd from_tensor =
      dnn2brain::compute_rdm(t, metric::sq_euclidean{.per_feature = true}, options)
          .values()
          .template cast<double>();
  CHECK(from_tensor == ours<TestType>(x, metric::sq_euclidean{.per_feature = true}, options));
}

namespace {
struct correlation_per_feature {
  static constexpr const char* name = "correlation_per_feature";
  [[nodiscard]] constexpr metric::scaled_recipe recipe() const noexcept {
    return {{false, true, metric::gram_output::one_minus_r}, true};
  }
};
static_assert(metric::gram_metric<correlation_per_feature>);
}  // namespace

TEST_CASE("a per-feature recipe refuses to become a plain gram_recipe",
          "[rdm][compute_rdm][per_feature][errors]") {
  // searchlight_rdms' kernel takes a plain gram_recipe and cannot divide by each searchlight's
  // size: converting to it throws rather than return undivided distances.
  const metric::gram_recipe plain = metric::sq_euclidean{}.recipe();
  CHECK(plain.output == metric::gram_output::squared_distance);
  const auto convert = [](const metric::scaled_recipe& r) { return metric::gram_recipe(r); };
  REQUIRE_THROWS_WITH(convert(metric::sq_euclidean{.per_feature = true}.recipe()),
                      Catch::StartsWith("dnn2brain::metric::scaled_recipe: expected an RDM builder "
                                        "that divides by the feature count for per_feature = "
                                        "true"));
  // Dividing 1 − r by p means nothing: a user recipe that asks for it is an error.
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_rdm(dnn2brain::test::gaussian(4, 5, 1), correlation_per_feature{}),
      "dnn2brain::compute_rdm: expected per_feature with a distance output, got it with 1 - r");
}

TEST_CASE("mahalanobis rejects precisions that are not symmetric positive definite",
          "[rdm][mahalanobis][errors]") {
  REQUIRE_THROWS_WITH(metric::mahalanobis(Eigen::MatrixXd::Identity(3, 4)),
                      "dnn2brain::metric::mahalanobis: expected a non-empty square precision "
                      "matrix, got 3 x 4");
  Eigen::Matrix3d asym = Eigen::Matrix3d::Identity();
  asym(2, 0) = 0.5;
  REQUIRE_THROWS_WITH(
      metric::mahalanobis(asym),
      Catch::Contains(
          "expected a symmetric precision matrix, got entry (2, 0) = 0.5 but (0, 2) = 0"));
  REQUIRE_THROWS_WITH(metric::mahalanobis(-Eigen::Matrix3d::Identity()),
                      Catch::Contains("expected a positive-definite precision matrix"));
  Eigen::Matrix3d nan = Eigen::Matrix3d::Identity();
  nan(1, 1) = std::nan("");
  REQUIRE_THROWS_WITH(
      metric::mahalanobis(nan),
      Catch::Contains("expected finite precision matrix entries, got nan at (1, 1)"));
  const metric::mahalanobis ok(Eigen::Matrix3d::Identity());
  REQUIRE_THROWS_WITH(dnn2brain::compute_rdm(Eigen::MatrixXd::Ones(4, 5), ok),
                      "dnn2brain::metric::mahalanobis: expected patterns with 3 features (the "
                      "precision's size), got 5");
  // sq_mahalanobis runs the same checks under its own name.
  REQUIRE_THROWS_WITH(metric::sq_mahalanobis(-Eigen::Matrix3d::Identity()),
                      "dnn2brain::metric::sq_mahalanobis: expected a positive-definite precision "
                      "matrix, got one that is not");
  REQUIRE_THROWS_WITH(dnn2brain::compute_rdm(Eigen::MatrixXd::Ones(4, 5),
                                             metric::sq_mahalanobis(Eigen::Matrix3d::Identity())),
                      "dnn2brain::metric::sq_mahalanobis: expected patterns with 3 features (the "
                      "precision's size), got 5");
}

TEMPLATE_TEST_CASE("compute_rdm agrees with the naive loops for every chunk width and thread count",
                   "[rdm][compute_rdm][determinism]", float, double) {
  const Eigen::MatrixXd x0 = dnn2brain::test::gaussian(23, 301, 7);
  const Eigen::MatrixXd x = x0.cast<TestType>().template cast<double>();
  // Row-major storage, as numpy and xtensor hand it over: the path that prefetches.
  using row_major = Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const row_major xr = x.cast<TestType>();
  const Eigen::VectorXd ref = naive_rdm(x, "correlation");
  const Eigen::VectorXd ref_sq = naive_rdm(x, "sqeuclidean");
  const auto m = GENERATE(as<std::string>{}, "correlation", "sq_euclidean");
  const auto method = GENERATE(rdm_method::gram, rdm_method::direct);
  auto run = [&](index_t chunk) -> Eigen::VectorXd {
    const rdm_options options{.method = method, .chunk_features = chunk};
    if (m == "correlation")
      return dnn2brain::compute_rdm(xr, metric::correlation{}, options)
          .values()
          .template cast<double>();
    return dnn2brain::compute_rdm(xr, metric::sq_euclidean{}, options)
        .values()
        .template cast<double>();
  };
  for (const index_t chunk : {1, 16, 64, 300, 301, 5000}) {
    Eigen::VectorXd single;
    {
      dnn2brain::test::thread_count one(1);
      single = run(chunk);
    }
    for (const int threads : {2, 3}) {
      dnn2brain::test::thread_count scope(threads);
      const Eigen::VectorXd got = run(chunk);
      const double dev = max_abs_diff(got, m == "correlation" ? ref : ref_sq);
      const double tol =
          m == "correlation" ? one_minus_r_tolerance<TestType>(x) : squared_tolerance<TestType>(x);
      INFO(m << (method == rdm_method::gram ? ", gram" : ", direct") << ", chunk " << chunk
             << ", threads " << threads << ": worst deviation " << dev);
      CHECK(dev <= tol);
      CHECK(got == single);  // bit-identical whatever the thread count
    }
  }
}

TEMPLATE_TEST_CASE("compute_rdm is exact to its error bound for hundreds of conditions",
                   "[rdm][compute_rdm][blocking]", float, double) {
  // 200 conditions: the Gram kernel walks several blocks of column tiles per chunk.
  const Eigen::MatrixXd x =
      dnn2brain::test::gaussian(200, 700, 21).cast<TestType>().template cast<double>();
  const double dev =
      max_abs_diff(ours<TestType>(x, metric::correlation{}), naive_rdm(x, "correlation"));
  INFO("worst deviation " << dev);
  CHECK(dev <= one_minus_r_tolerance<TestType>(x));
  const double dev_sq =
      max_abs_diff(ours<TestType>(x, metric::sq_euclidean{}, {.chunk_features = 96}),
                   naive_rdm(x, "sqeuclidean"));
  INFO("worst deviation of squared distances " << dev_sq);
  CHECK(dev_sq <= squared_tolerance<TestType>(x));
}

TEST_CASE("compute_rdm serves other floating-point types through Eigen's rank update",
          "[rdm][compute_rdm][long_double]") {
  const Eigen::MatrixXd x = dnn2brain::test::gaussian(9, 50, 22);
  const auto r = dnn2brain::compute_rdm(x.cast<long double>().eval(), metric::correlation{});
  CHECK(max_abs_diff(r.values().cast<double>(), naive_rdm(x, "correlation")) <= 1e-15);
}

TEST_CASE("the direct method keeps near-duplicate patterns accurate",
          "[rdm][compute_rdm][stability]") {
  // Rows i and i+1 differ by 1e-6 of their scale: the Gram route loses about half the digits of
  // their distance (absolute error ~ε‖x‖², i.e. relative ~ε‖x‖²/d²), the direct route keeps them.
  Eigen::MatrixXd x = dnn2brain::test::gaussian(6, 200, 11);
  const Eigen::MatrixXd noise = dnn2brain::test::gaussian(6, 200, 12);
  for (index_t i = 1; i < 6; i += 2) x.row(i) = x.row(i - 1) + 1e-6 * noise.row(i);
  x.array() += 50.0;  // a large common mean as in ReLU layers
  const Eigen::VectorXd ref = naive_rdm(x, "euclidean");
  const Eigen::VectorXd ref_r = naive_rdm(x, "correlation");
  const Eigen::VectorXd direct =
      ours<double>(x, metric::euclidean{}, {.method = rdm_method::direct});
  const Eigen::VectorXd direct_r =
      ours<double>(x, metric::correlation{}, {.method = rdm_method::direct});
  const Eigen::VectorXd gram_r = ours<double>(x, metric::correlation{});
  double worst_direct = 0, worst_direct_r = 0, worst_gram_r = 0;
  for (index_t k = 0; k < ref.size(); ++k) {
    worst_direct = std::max(worst_direct, std::abs(direct[k] - ref[k]) / ref[k]);
    worst_direct_r = std::max(worst_direct_r, std::abs(direct_r[k] - ref_r[k]) / ref_r[k]);
    worst_gram_r = std::max(worst_gram_r, std::abs(gram_r[k] - ref_r[k]) / ref_r[k]);
  }
  INFO("relative error: direct euclidean " << worst_direct << ", direct correlation "
                                           << worst_direct_r << ", gram correlation "
                                           << worst_gram_r);
  // Direct: a few ε per operation over log-depth sums of 200 terms.
  CHECK(worst_direct <= 1e-9);
  CHECK(worst_direct_r <= 1e-9);
  // 1 − r ≈ 1e-12 for the near-duplicates: the Gram route's absolute error ~pε leaves few digits.
  CHECK(worst_gram_r > worst_direct_r);
}

TEST_CASE("large-mean float patterns stay accurate, also after an unrepresentative first chunk",
          "[rdm][compute_rdm][stability]") {
  // ReLU-like activations: mean 1000, spread 1, in float. A raw Gram matrix minus p·m·mᵀ would
  // cancel ~6 of float's 7 digits; centring each chunk and merging exactly keeps the error at the
  // b·ε_float level. The first 600 features are a "dead channel" (all zero), which would ruin a
  // shift taken from the first chunk.
  Eigen::MatrixXd x = dnn2brain::test::gaussian(10, 4096, 5).array() + 1000.0;
  x.leftCols(600).setZero();
  const Eigen::MatrixXd xf = x.cast<float>().cast<double>();
  const Eigen::VectorXd ref = naive_rdm(xf, "correlation");
  for (const index_t chunk : {0, 512, 4096}) {
    const double dev =
        max_abs_diff(ours<float>(xf, metric::correlation{}, {.chunk_features = chunk}), ref);
    INFO("chunk " << chunk << ": worst deviation " << dev);
    CHECK(dev <= one_minus_r_tolerance<float>(xf));
  }
}

TEMPLATE_TEST_CASE("constant patterns are degenerate whatever their value",
                   "[rdm][compute_rdm][degenerate]", float, double) {
  // 0.1 has no exact binary mean: a rounded mean leaves a tiny residue that must not pass for
  // variance.
  Eigen::MatrixXd x = dnn2brain::test::gaussian(5, 3000, 8);
  x.row(1).setConstant(0.1);
  x.row(3).setConstant(-7.3e5);
  for (const auto method : {rdm_method::gram, rdm_method::direct})
    for (const index_t chunk : {0, 700}) {
      const auto r = dnn2brain::compute_rdm(x.cast<TestType>().eval(), metric::correlation{},
                                            {.method = method, .chunk_features = chunk});
      INFO((method == rdm_method::gram ? "gram" : "direct") << ", chunk " << chunk);
      CHECK(r.degenerate_conditions() == std::vector<index_t>{1, 3});
      CHECK(std::isnan(r(0, 1)));
      CHECK_FALSE(std::isnan(r(0, 2)));
    }
}

TEST_CASE("constant patterns give NaN correlation distances and are reported",
          "[rdm][compute_rdm][degenerate]") {
  Eigen::MatrixXd x = dnn2brain::test::gaussian(6, 40, 3);
  x.row(2).setConstant(4.5);
  x.row(4).setZero();
  for (const auto method : {rdm_method::gram, rdm_method::direct}) {
    const auto r = dnn2brain::compute_rdm(x, metric::correlation{}, {.method = method});
    REQUIRE(r.info() == dnn2brain::status::degenerate_input);
    REQUIRE(r.degenerate_conditions() == std::vector<index_t>{2, 4});
    const Eigen::VectorXd ref = naive_rdm(x, "correlation");  // NaN where scipy gives NaN
    for (index_t i = 0; i < 6; ++i)
      for (index_t j = 0; j < 6; ++j) {
        if (i == j) continue;
        const bool undefined = i == 2 || i == 4 || j == 2 || j == 4;
        CHECK(std::isnan(r(i, j)) == undefined);
        if (!undefined)
          CHECK(r(i, j) == Approx(1 - dnn2brain::test::pearson(dnn2brain::test::row(x, i),
                                                               dnn2brain::test::row(x, j))));
      }
    REQUIRE_THROWS_WITH(dnn2brain::compute_rdm(x, metric::correlation{},
                                               {.method = method, .reject_degenerate = true}),
                        "dnn2brain::compute_rdm: expected patterns that define every distance, got "
                        "degenerate (constant or zero) pattern(s) at condition(s) 2, 4");
    // Cosine: only the all-zero pattern is degenerate; Euclidean has no degenerate patterns.
    CHECK(dnn2brain::compute_rdm(x, metric::cosine{}, {.method = method}).degenerate_conditions() ==
          std::vector<index_t>{4});
    CHECK(dnn2brain::compute_rdm(x, metric::euclidean{}, {.method = method}).info() ==
          dnn2brain::status::success);
  }
}

TEST_CASE(
    "compute_rdm accepts any Eigen expression and any xtensor expression without change of result",
    "[rdm][compute_rdm][input]") {
  const Eigen::MatrixXd x = dnn2brain::test::gaussian(7, 60, 9);
  const Eigen::VectorXd ref = dnn2brain::compute_rdm(x).values();
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const row_major xr = x;
  const Eigen::Map<const row_major> mapped(xr.data(), 7, 60);
  CHECK(max_abs_diff(dnn2brain::compute_rdm(mapped).values(), ref) <= 1e-14);
  CHECK(max_abs_diff(dnn2brain::compute_rdm(2.0 * x).values(), ref) <= 1e-14);
  CHECK(max_abs_diff(dnn2brain::compute_rdm(x.leftCols(30)).values(),
                     naive_rdm(x.leftCols(30), "correlation")) <= 1e-13);

  // 7 × 3 × 20 in C order equals the 7 × 60 matrix.
  xt::xtensor<double, 3> t = xt::zeros<double>({7, 3, 20});
  std::copy(xr.data(), xr.data() + xr.size(), t.begin());
  CHECK(max_abs_diff(dnn2brain::compute_rdm(t).values(), ref) <= 1e-14);
  const auto slice = xt::view(t, xt::all(), 1, xt::all());
  CHECK(max_abs_diff(dnn2brain::compute_rdm(slice).values(),
                     naive_rdm(x.middleCols(20, 20), "correlation")) <= 1e-13);
  const xt::xtensor<float, 3> tf = xt::cast<float>(t);
  const Eigen::MatrixXd xf = x.cast<float>().cast<double>();
  CHECK(max_abs_diff(dnn2brain::compute_rdm(tf, metric::sq_euclidean{}).values(),
                     naive_rdm(xf, "sqeuclidean")) <= squared_tolerance<float>(xf));

  Eigen::VectorXd into(21);
  CHECK(dnn2brain::compute_rdm_into(x, into).empty());
  CHECK(into == ref);
}

TEST_CASE("compute_rdm rejects bad input with a clear message", "[rdm][compute_rdm][errors]") {
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_rdm(Eigen::MatrixXd()),
      "dnn2brain::compute_rdm: expected at least 2 conditions x 1 feature, got 0 x 0");
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_rdm(Eigen::MatrixXf::Ones(1, 10)),
      "dnn2brain::compute_rdm: expected at least 2 conditions x 1 feature, got 1 x 10");
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_rdm(Eigen::MatrixXd::Ones(5, 0)),
      "dnn2brain::compute_rdm: expected at least 2 conditions x 1 feature, got 5 x 0");
  Eigen::MatrixXd x = dnn2brain::test::gaussian(5, 300, 1);
  x(3, 250) = std::numeric_limits<double>::quiet_NaN();
  for (const auto method : {rdm_method::gram, rdm_method::direct})
    REQUIRE_THROWS_WITH(
        dnn2brain::compute_rdm(x, metric::correlation{}, {.method = method, .chunk_features = 64}),
        "dnn2brain::compute_rdm: expected finite activations, got nan at condition 3, "
        "feature 250");
  x(3, 250) = 0.0;
  x(1, 7) = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_WITH(
      dnn2brain::compute_rdm(x, metric::spearman{}),
      "dnn2brain::compute_rdm: expected finite activations, got inf at condition 1, "
      "feature 7");
  x(1, 7) = 0.0;
  Eigen::VectorXd wrong(9);
  REQUIRE_THROWS_WITH(dnn2brain::compute_rdm_into(x, wrong),
                      "dnn2brain::compute_rdm_into: expected an output of 10 entries for 5 "
                      "conditions, got 9");
  REQUIRE_THROWS_WITH(dnn2brain::compute_rdm(x, metric::correlation{}, {.chunk_features = -1}),
                      "dnn2brain::compute_rdm: expected chunk_features >= 0, got -1");
}
