#ifndef DNN2BRAIN_COMPARE_PARTIAL_HPP
#define DNN2BRAIN_COMPARE_PARTIAL_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>
#include <optional>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>

#include <dnn2brain/config.hpp>

#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/detail/ranks.hpp>

namespace dnn2brain {

/// The measures partial_correlation() offers: measure::pearson, and measure::spearman (the Pearson
/// partial correlation of the ranks). A measure derived from either counts as it.
template <typename M>
concept partial_measure =
    std::derived_from<M, measure::pearson> || std::derived_from<M, measure::spearman>;

namespace detail {

// The span of {1, covariates} as an orthonormal basis, and the model's residual on it (unit norm),
// for scoring any number of targets: each costs O(m·rank) after its own centring (and ranking).
class partial_fit {
 public:
  partial_fit(Eigen::VectorXd model, Eigen::MatrixXd covariates, bool ranks) : m_ranks(ranks) {
    const index_t m = model.size();
    std::vector<Eigen::Index> order;
    if (ranks) {
      rank_in_place(model, order);
      for (index_t c = 0; c < covariates.cols(); ++c) rank_in_place(covariates.col(c), order);
    }
    // Each covariate centred and scaled to unit norm (a constant one drops out), so that the rank
    // decision of the pivoted QR does not depend on the covariates' units.
    Eigen::MatrixXd design(m, covariates.cols() + 1);
    design.col(0).setConstant(1.0 / std::sqrt(static_cast<double>(m)));
    index_t used = 1;
    for (index_t c = 0; c < covariates.cols(); ++c) {
      Eigen::VectorXd z = covariates.col(c).array() - covariates.col(c).mean();
      const double norm = z.norm();
      if (norm > 0.0) design.col(used++) = z / norm;
    }
    const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(design.leftCols(used));
    m_basis = qr.householderQ() * Eigen::MatrixXd::Identity(m, qr.rank());
    m_model = std::move(model);
    m_defined = residualise(m_model);
    if (m_defined) m_model.normalize();
  }

  // The partial correlation of the model with target (overwritten: centred, residualised).
  [[nodiscard]] double score(Eigen::VectorXd& target, std::vector<Eigen::Index>& order) const {
    if (!m_defined) return std::numeric_limits<double>::quiet_NaN();
    if (m_ranks) rank_in_place(target, order);
    if (!residualise(target)) return std::numeric_limits<double>::quiet_NaN();
    return std::clamp(m_model.dot(target) / target.norm(), -1.0, 1.0);
  }

 private:
  // v ← v − Q Qᵀ v after centring (the span holds the constant). False when v lies in the span up
  // to rounding: the residual is then at most m·ε of the centred norm, the bound on the rounding of
  // the projection, and carries no direction.
  bool residualise(Eigen::VectorXd& v) const {
    v.array() -= v.mean();
    const double centred = v.norm();
    v.noalias() -= m_basis * (m_basis.transpose() * v);
    const double tolerance =
        static_cast<double>(v.size()) * std::numeric_limits<double>::epsilon() * centred;
    return v.norm() > tolerance;
  }

  Eigen::MatrixXd m_basis;  // m × rank, orthonormal, spans {1, covariates}
  Eigen::VectorXd m_model;  // residual of the (ranked) model, unit norm
  bool m_defined = false;   // false when the model lies in the covariates' span
  bool m_ranks;
};

// Rows of v at the kept indices.
inline Eigen::MatrixXd gather_rows(const Eigen::MatrixXd& v, const std::vector<index_t>& kept) {
  Eigen::MatrixXd out(static_cast<index_t>(kept.size()), v.cols());
  for (std::size_t i = 0; i < kept.size(); ++i) out.row(static_cast<index_t>(i)) = v.row(kept[i]);
  return out;
}

// Under nan_policy::omit: the score on the pairs where model, target and every covariate are
// defined (ranks taken on those pairs, as pingouin drops rows before ranking); NaN when fewer than
// covariates + 3 are left.
inline double partial_omitting(const Eigen::VectorXd& model, const Eigen::MatrixXd& covariates,
                               const Eigen::VectorXd& target, bool ranks,
                               std::vector<Eigen::Index>& order) {
  std::vector<index_t> kept;
  for (index_t k = 0; k < model.size(); ++k)
    if (!std::isnan(model[k]) && !std::isnan(target[k]) && !covariates.row(k).hasNaN())
      kept.push_back(k);
  if (static_cast<index_t>(kept.size()) < covariates.cols() + 3)
    return std::numeric_limits<double>::quiet_NaN();
  const partial_fit fit(gather_rows(model, kept), gather_rows(covariates, kept), ranks);
  Eigen::VectorXd y = gather_rows(target, kept);
  return fit.score(y, order);
}

template <typename Model, typename Targets, typename Covariates>
Eigen::VectorXd partial_columns(const Eigen::MatrixBase<Model>& model,
                                const Eigen::MatrixBase<Targets>& targets,
                                const Eigen::MatrixBase<Covariates>& covariates, bool ranks,
                                nan_policy policy, const char* function) {
  const index_t m = model.size();
  const index_t k = covariates.cols();
  if ((model.rows() != 1 && model.cols() != 1) || targets.rows() != m || covariates.rows() != m)
    throw_invalid_argument(
        function,
        concat("expected a model vector of m entries and targets and covariates with m "
               "rows, got a ",
               model.rows(), " x ", model.cols(), " model, ", targets.rows(), " x ", targets.cols(),
               " targets and ", covariates.rows(), " x ", k, " covariates"));
  if (m < k + 3)
    throw_invalid_argument(function,
                           concat("expected at least covariates + 3 = ", k + 3, " pairs, got ", m));
  const Eigen::VectorXd x = model.template cast<double>().reshaped();
  const Eigen::MatrixXd z = covariates.template cast<double>();
  bool model_nan = check_entries(x, policy, "model", -1, function);
  for (index_t c = 0; c < k; ++c)
    model_nan = check_entries(z.col(c), policy, "covariates", c, function) || model_nan;
  std::optional<partial_fit> shared;
  if (!model_nan) shared.emplace(x, z, ranks);

  const index_t count = targets.cols();
  Eigen::VectorXd scores(count);
  parallel_error errors;
  DNN2BRAIN_OMP(parallel if (count > 1 && count * m > (index_t(1) << 16)))
  {
    Eigen::VectorXd y;
    std::vector<Eigen::Index> order;
    DNN2BRAIN_OMP(for schedule(static))
    for (index_t t = 0; t < count; ++t)
      errors.run(t, [&] {
        y = targets.col(t).template cast<double>();
        const bool target_nan = check_entries(y, policy, "target", count > 1 ? t : -1, function);
        if (!model_nan && !target_nan)
          scores[t] = shared->score(y, order);
        else if (policy == nan_policy::omit)
          scores[t] = partial_omitting(x, z, y, ranks, order);
        else
          scores[t] = std::numeric_limits<double>::quiet_NaN();
      });
  }
  errors.rethrow();
  return scores;
}

}  // namespace detail

/// \brief Partial correlation of a model RDM with each target RDM (columns of targets, m × T),
/// controlling for covariate RDMs (columns of covariates, m × k; k = 0 gives the plain
/// correlation).
///
/// Both the model x and a target y are regressed on [1, covariates] by least squares, and the
/// residuals correlated: r = ⟨e_x, e_y⟩ / (‖e_x‖ ‖e_y‖), equal to −P_xy / √(P_xx P_yy) of the
/// precision matrix P of (x, y, covariates). measure::spearman ranks model, covariates and each
/// target first (average ranks), as pingouin's partial_corr and R's ppcor define it. The span of
/// [1, covariates] is computed once by a column-pivoted QR (rank-deficient covariates, e.g. a
/// duplicate or a constant, are handled: only their span matters); each target then costs
/// O(m·(k + 1)) (plus O(m log m) ranking), in parallel over targets.
/// A model or target that lies in the covariates' span (its residual within m·ε of its centred
/// norm: rounding) has no partial correlation: NaN.
/// \param policy NaN entries: raise (default) throws naming the entry; omit leaves out, for each
///        target, the pairs where the model, the target or any covariate is NaN (NaN when fewer
///        than k + 3 remain); propagate gives NaN.
/// \throws invalid_argument if the shapes differ, m < k + 3, an entry is Inf, or NaN under raise.
template <partial_measure Measure = measure::pearson, floating_eigen Model, floating_eigen Targets,
          floating_eigen Covariates>
[[nodiscard]] Eigen::VectorXd partial_correlation_columns(
    const Eigen::MatrixBase<Model>& model, const Eigen::MatrixBase<Targets>& targets,
    const Eigen::MatrixBase<Covariates>& covariates, const Measure& = {},
    nan_policy policy = nan_policy::raise) {
  return detail::partial_columns(model, targets, covariates,
                                 std::derived_from<Measure, measure::spearman>, policy,
                                 "partial_correlation_columns");
}

/// partial_correlation_columns() of xtensor arrays: a 1-D model of m entries, targets of shape
/// (m, T) and covariates of shape (m, k).
template <partial_measure Measure = measure::pearson, floating_xexpression Model,
          floating_xexpression Targets, floating_xexpression Covariates>
[[nodiscard]] Eigen::VectorXd partial_correlation_columns(
    const xt::xexpression<Model>& model, const xt::xexpression<Targets>& targets,
    const xt::xexpression<Covariates>& covariates, const Measure& measure = {},
    nan_policy policy = nan_policy::raise) {
  constexpr const char* function = "partial_correlation_columns";
  const xtensor_matrix<typename Model::value_type> a(model, function);
  const xtensor_matrix<typename Targets::value_type> b(targets, function);
  const xtensor_matrix<typename Covariates::value_type> c(covariates, function);
  return partial_correlation_columns(a.matrix(), b.matrix(), c.matrix(), measure, policy);
}

/// \brief Partial correlation of a model RDM with every RDM of a stack, controlling for the
/// covariate RDMs (see partial_correlation_columns()).
/// \throws invalid_argument if the condition counts differ (and see partial_correlation_columns()).
template <partial_measure Measure = measure::pearson, std::floating_point S1,
          std::floating_point S2, std::floating_point S3>
[[nodiscard]] Eigen::VectorXd partial_correlation(const rdm<S1>& model,
                                                  const rdm_stack<S2>& targets,
                                                  const rdm_stack<S3>& covariates,
                                                  const Measure& = {},
                                                  nan_policy policy = nan_policy::raise) {
  if (model.conditions() != targets.conditions() || model.conditions() != covariates.conditions())
    detail::throw_invalid_argument(
        "partial_correlation",
        detail::concat("expected model, targets and covariates of the same conditions, got ",
                       model.conditions(), ", ", targets.conditions(), " and ",
                       covariates.conditions(), " conditions"));
  return detail::partial_columns(model.values(), targets.values(), covariates.values(),
                                 std::derived_from<Measure, measure::spearman>, policy,
                                 "partial_correlation");
}

/// \brief Partial correlation of a model RDM with one data RDM, controlling for the covariate RDMs
/// (see partial_correlation_columns()).
template <partial_measure Measure = measure::pearson, std::floating_point S1,
          std::floating_point S2, std::floating_point S3>
[[nodiscard]] double partial_correlation(const rdm<S1>& model, const rdm<S2>& data,
                                         const rdm_stack<S3>& covariates, const Measure& = {},
                                         nan_policy policy = nan_policy::raise) {
  if (model.conditions() != data.conditions() || model.conditions() != covariates.conditions())
    detail::throw_invalid_argument(
        "partial_correlation",
        detail::concat("expected model, data and covariates of the same conditions, got ",
                       model.conditions(), ", ", data.conditions(), " and ",
                       covariates.conditions(), " conditions"));
  return detail::partial_columns(model.values(), data.values(), covariates.values(),
                                 std::derived_from<Measure, measure::spearman>, policy,
                                 "partial_correlation")[0];
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_COMPARE_PARTIAL_HPP
