// Partial correlation against statsmodels OLS residuals (tests/reference/make_stats_reference.py),
// and its invariants: no covariates is the plain correlation, only the covariates' span matters,
// the batched form equals the single one, NaN policies, bad input.
#include <dnn2brain/compare/partial.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <Eigen/QR>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

namespace measure = dnn2brain::measure;
using Catch::Matchers::Contains;
using dnn2brain::index_t;
using dnn2brain::nan_policy;

namespace {

Eigen::MatrixXd stats_reference(const std::string& name) {
  return dnn2brain::test::reference(name, DNN2BRAIN_STATS_REFERENCE_FILE);
}

// ‖v‖ over the norm of v's residual on [1, covariates]: how much the rounding of the residual
// (entries of v are centred and projected, each step rounding at ε of their size) is amplified in a
// correlation of residuals.
double amplification(const Eigen::VectorXd& v, const Eigen::MatrixXd& covariates) {
  Eigen::MatrixXd design(v.size(), covariates.cols() + 1);
  design << Eigen::VectorXd::Ones(v.size()), covariates;
  const Eigen::VectorXd residual = v - design * design.colPivHouseholderQr().solve(v);
  return v.norm() / residual.norm();
}

// Error model of a partial correlation: each residual carries rounding of at most about m·ε of its
// variable's norm (Householder projection, and likewise statsmodels' fit), so r moves by at most
// m·ε times the amplifications of x and y, for each of two computations compared.
double tolerance(const Eigen::VectorXd& x, const Eigen::VectorXd& y, const Eigen::MatrixXd& z) {
  return 2.0 * static_cast<double>(x.size()) * std::numeric_limits<double>::epsilon() *
         (amplification(x, z) + amplification(y, z));
}

Eigen::MatrixXd ranked_columns(const Eigen::MatrixXd& x) {
  Eigen::MatrixXd out(x.rows(), x.cols());
  std::vector<Eigen::Index> order;
  for (index_t c = 0; c < x.cols(); ++c)
    dnn2brain::detail::average_ranks(x.col(c), out.col(c), order);
  return out;
}

struct derived_spearman : measure::spearman {};

}  // namespace

TEST_CASE("partial correlation equals statsmodels OLS residual correlation", "[compare][partial]") {
  const Eigen::VectorXd model = stats_reference("partial_model").transpose();
  const Eigen::MatrixXd covariates = stats_reference("partial_covariates").transpose();
  const Eigen::MatrixXd targets = stats_reference("partial_targets").transpose();
  const index_t m = model.size();
  REQUIRE(m == 190);
  double worst = 0.0;
  for (const index_t k : {0, 1, 2}) {
    for (const bool ranks : {false, true}) {
      const std::string name =
          std::string("partial_") + (ranks ? "spearman" : "pearson") + "_k" + std::to_string(k);
      const Eigen::VectorXd expected = stats_reference(name).transpose();
      const Eigen::VectorXd got =
          ranks ? dnn2brain::partial_correlation_columns(model, targets, covariates.leftCols(k),
                                                         measure::spearman{})
                : dnn2brain::partial_correlation_columns(model, targets, covariates.leftCols(k),
                                                         measure::pearson{});
      // What is correlated: the ranks under spearman.
      Eigen::MatrixXd x = model, y = targets, z = covariates.leftCols(k);
      if (ranks) {
        x = ranked_columns(x);
        y = ranked_columns(y);
        z = ranked_columns(z);
      }
      for (index_t t = 0; t < targets.cols(); ++t) {
        const double bound = tolerance(x, y.col(t), z);
        const double d = std::abs(got[t] - expected[t]);
        INFO(name << " target " << t << ": " << got[t] << " vs " << expected[t] << ", deviation "
                  << d << ", tolerance " << bound);
        CHECK(d <= bound);
        worst = std::max(worst, d);
      }
      // The batched form is the single-RDM form of each target, bit for bit, for any threads.
      const dnn2brain::rdm<double> model_rdm(model);
      const auto stack = dnn2brain::rdm_stack<double>::from_columns(targets, 20);
      const auto cov = dnn2brain::rdm_stack<double>::from_columns(covariates.leftCols(k), 20);
      for (const int threads : {1, 2}) {
        const dnn2brain::test::thread_count scope(threads);
        const Eigen::VectorXd batched =
            ranks ? dnn2brain::partial_correlation(model_rdm, stack, cov, derived_spearman{})
                  : dnn2brain::partial_correlation(model_rdm, stack, cov);
        CHECK(batched == got);
      }
      for (index_t t = 0; t < targets.cols(); ++t)
        CHECK((ranks ? dnn2brain::partial_correlation(model_rdm, stack.get(t), cov,
                                                      measure::spearman{})
                     : dnn2brain::partial_correlation(model_rdm, stack.get(t), cov)) == got[t]);
    }
  }
  WARN("partial correlation vs statsmodels, worst deviation " << worst);
}

TEST_CASE("partial correlation: invariants", "[compare][partial]") {
  const Eigen::VectorXd model = stats_reference("partial_model").transpose();
  const Eigen::MatrixXd covariates = stats_reference("partial_covariates").transpose();
  const Eigen::MatrixXd targets = stats_reference("partial_targets").transpose();
  const index_t m = model.size();
  const auto partial = [&](const Eigen::MatrixXd& z) {
    return dnn2brain::partial_correlation_columns(model, targets, z);
  };
  const Eigen::VectorXd base = partial(covariates);
  // Equal spans, different bases: the rounding of two computations of each residual.
  Eigen::VectorXd bound(targets.cols());
  for (index_t t = 0; t < targets.cols(); ++t)
    bound[t] = tolerance(model, targets.col(t), covariates);
  const auto within = [&](const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    return ((a - b).array().abs() <= bound.array()).all();
  };

  SECTION("no covariates: the plain correlation") {
    const Eigen::VectorXd plain = dnn2brain::compare_columns(model, targets, measure::pearson{});
    CHECK(within(partial(Eigen::MatrixXd(m, 0)), plain));
    const Eigen::VectorXd ranked = dnn2brain::compare_columns(model, targets, measure::spearman{});
    CHECK(within(dnn2brain::partial_correlation_columns(model, targets, Eigen::MatrixXd(m, 0),
                                                        measure::spearman{}),
                 ranked));
  }
  SECTION("only the covariates' span matters: duplicates, rescaling, a constant") {
    Eigen::MatrixXd z(m, 4);
    z << covariates, covariates.col(0) * -3.0 + Eigen::VectorXd::Constant(m, 7.0),
        Eigen::VectorXd::Constant(m, 2.5);
    CHECK(within(partial(z), base));
    CHECK(within(partial(covariates * 1e-20), base));
  }
  SECTION("symmetric in model and target, invariant to affine maps of either") {
    for (index_t t = 0; t < targets.cols(); ++t) {
      const double swapped =
          dnn2brain::partial_correlation_columns(targets.col(t), model, covariates)[0];
      CHECK(std::abs(swapped - base[t]) <= bound[t]);
      const Eigen::VectorXd shifted = targets.col(t) * -2.0 + Eigen::VectorXd::Constant(m, 1e3);
      CHECK(std::abs(dnn2brain::partial_correlation_columns(model, shifted, covariates)[0] +
                     base[t]) <= bound[t] + tolerance(model, shifted, covariates));
    }
  }
  SECTION("a target or model in the covariates' span has none: NaN") {
    Eigen::MatrixXd in_span(m, 2);
    in_span << covariates.col(0) * 2.0 - covariates.col(1), Eigen::VectorXd::Constant(m, 3.0);
    const Eigen::VectorXd r = dnn2brain::partial_correlation_columns(model, in_span, covariates);
    CHECK(std::isnan(r[0]));
    CHECK(std::isnan(r[1]));
    CHECK(dnn2brain::partial_correlation_columns(covariates.col(1), targets, covariates)
              .array()
              .isNaN()
              .all());
  }
  SECTION("float input scores like its double value") {
    const Eigen::MatrixXf targets_f = targets.cast<float>();
    const Eigen::VectorXd from_float = dnn2brain::partial_correlation_columns(
        model.cast<float>(), targets_f, covariates.cast<float>());
    const Eigen::VectorXd from_double = dnn2brain::partial_correlation_columns(
        model.cast<float>().cast<double>(), targets_f.cast<double>(),
        covariates.cast<float>().cast<double>());
    CHECK(from_float == from_double);
  }
}

TEST_CASE("partial correlation: NaN policies and bad input", "[compare][partial][errors]") {
  const Eigen::VectorXd model = stats_reference("partial_model").transpose();
  const Eigen::MatrixXd covariates = stats_reference("partial_covariates").transpose();
  Eigen::MatrixXd targets = stats_reference("partial_targets").transpose();
  const index_t m = model.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  targets(7, 2) = nan;

  CHECK_THROWS_WITH(dnn2brain::partial_correlation_columns(model, targets, covariates),
                    Contains("dnn2brain::partial_correlation_columns: expected RDM entries "
                             "without NaN") &&
                        Contains("in the target at entry 7 (conditions 0, 8) of column 2"));
  const Eigen::VectorXd propagated = dnn2brain::partial_correlation_columns(
      model, targets, covariates, measure::pearson{}, nan_policy::propagate);
  CHECK(std::isnan(propagated[2]));
  CHECK(std::isfinite(propagated[1]));

  // omit: the NaN pair leaves that comparison only, ranks included.
  Eigen::MatrixXd cov_nan = covariates;
  cov_nan(11, 1) = nan;
  for (const bool ranks : {false, true}) {
    const auto run = [&](const auto& x, const auto& y, const auto& z, nan_policy policy) {
      return ranks ? dnn2brain::partial_correlation_columns(x, y, z, measure::spearman{}, policy)
                   : dnn2brain::partial_correlation_columns(x, y, z, measure::pearson{}, policy);
    };
    const Eigen::VectorXd omitted = run(model, targets, cov_nan, nan_policy::omit);
    for (index_t t = 0; t < targets.cols(); ++t) {
      std::vector<index_t> kept;
      for (index_t k = 0; k < m; ++k)
        if (k != 11 && !(t == 2 && k == 7)) kept.push_back(k);
      Eigen::VectorXd x(index_t(kept.size())), y(index_t(kept.size()));
      Eigen::MatrixXd z(index_t(kept.size()), 2);
      for (std::size_t i = 0; i < kept.size(); ++i) {
        x[index_t(i)] = model[kept[i]];
        y[index_t(i)] = targets(kept[i], t);
        z.row(index_t(i)) = covariates.row(kept[i]);
      }
      CHECK(omitted[t] == run(x, y, z, nan_policy::raise)[0]);
    }
    CHECK(run(model, targets, cov_nan, nan_policy::propagate).array().isNaN().all());
  }
  CHECK_THROWS_WITH(dnn2brain::partial_correlation_columns(model, targets.col(0), cov_nan),
                    Contains("in the covariates at entry 11 (conditions 0, 12) of column 1"));

  Eigen::MatrixXd with_inf = targets.col(0);
  with_inf(3, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(dnn2brain::partial_correlation_columns(model, with_inf, covariates,
                                                           measure::pearson{}, nan_policy::omit),
                    Contains("expected finite RDM entries"));
  CHECK_THROWS_WITH(
      dnn2brain::partial_correlation_columns(model, targets.topRows(100), covariates),
      Contains("expected a model vector of m entries and targets and covariates with m rows, got "
               "a 190 x 1 model, 100 x 5 targets and 190 x 2 covariates"));
  CHECK_THROWS_WITH(dnn2brain::partial_correlation_columns(model.head(4), targets.topRows(4),
                                                           covariates.topRows(4)),
                    Contains("expected at least covariates + 3 = 5 pairs, got 4"));
  const dnn2brain::rdm<double> six(Eigen::VectorXd::LinSpaced(15, 0.0, 1.0));
  CHECK_THROWS_WITH(
      dnn2brain::partial_correlation(dnn2brain::rdm<double>(model), six,
                                     dnn2brain::rdm_stack<double>::from_columns(covariates, 20)),
      Contains("dnn2brain::partial_correlation: expected model, data and covariates of the same "
               "conditions, got 20, 6 and 20 conditions"));
}
