#ifndef DNN2BRAIN_RDM_CROSSNOBIS_HPP
#define DNN2BRAIN_RDM_CROSSNOBIS_HPP

#include <cmath>
#include <ranges>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/metrics/crossnobis.hpp>
#include <dnn2brain/metrics/euclidean.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>

namespace dnn2brain {

/// \brief Crossnobis RDM from per-run pattern matrices (see metric::crossnobis).
///
/// Uses Σ_{r≠s} δ_rᵀΛδ_s = ‖Σ_r L ᵀδ_r‖² − Σ_r ‖Lᵀδ_r‖²: the squared distances of the summed
/// whitened runs minus those of each whitened run, R + 1 streamed Gram products in all.
///
/// \param runs a random-access range (std::vector, std::span, ...) of R >= 2 Eigen matrices or
///        Maps of n conditions × p features, one per run, all the same shape.
/// \param metric the noise precision and whether to divide by p (per_feature: rsatoolbox's
///        'crossnobis', see metric::crossnobis).
/// \throws invalid_argument on fewer than 2 runs, mismatched shapes, non-finite values, or a
///         precision whose size is not p.
/// \par Complexity
///   O(R n² p) plus O(R n p²) for whitening with a precision.
template <std::ranges::random_access_range Runs>
requires floating_eigen<std::remove_cvref_t<std::ranges::range_value_t<Runs>>>
[[nodiscard]] auto compute_crossnobis_rdm(const Runs& runs, const metric::crossnobis& metric = {},
                                          const rdm_options& options = {}) {
  using Scalar = typename std::remove_cvref_t<std::ranges::range_value_t<Runs>>::Scalar;
  constexpr const char* function = "compute_crossnobis_rdm";
  const auto r_count = static_cast<index_t>(std::ranges::size(runs));
  if (r_count < 2)
    detail::throw_invalid_argument(
        function, detail::concat("expected at least 2 runs (cross-validation needs independent "
                                 "runs), got ",
                                 r_count));
  const index_t n = runs[0].rows();
  const index_t p = runs[0].cols();
  for (index_t r = 0; r < r_count; ++r) {
    const auto& run = runs[r];
    if (run.rows() != n || run.cols() != p)
      detail::throw_invalid_argument(
          function, detail::concat("expected every run to be ", n, " x ", p, " like run 0, got ",
                                   run.rows(), " x ", run.cols(), " for run ", r));
  }
  // Everything in double, whatever Scalar is: the final difference cancels.
  const auto whiten = [&](const auto& run, index_t r) -> Eigen::MatrixXd {
    detail::require_finite(run, function, "activations", [r](index_t i, index_t j) {
      return detail::concat("condition ", i, ", feature ", j, " of run ", r);
    });
    if (metric.noise()) return metric.noise()->transform(run.template cast<double>());
    return run.template cast<double>();
  };
  const auto squared = [&](const Eigen::MatrixXd& patterns) {
    Eigen::VectorXd d2(condensed_size(n));
    detail::compute_rdm_impl(patterns, metric::sq_euclidean{}, options, d2, function);
    return d2;
  };
  Eigen::MatrixXd total = Eigen::MatrixXd::Zero(n, p);
  Eigen::VectorXd within = Eigen::VectorXd::Zero(condensed_size(n));
  for (index_t r = 0; r < r_count; ++r) {
    const Eigen::MatrixXd white = whiten(runs[r], r);
    within += squared(white);
    total += white;
  }
  // One division by R(R − 1), times p for per_feature (an exact integer product).
  const auto divisor =
      static_cast<double>(r_count * (r_count - 1) * (metric.per_feature() ? p : 1));
  const Eigen::VectorXd d = (squared(total) - within) / divisor;
  return rdm<Scalar>(d.template cast<Scalar>());
}

/// Crossnobis RDM of an xtensor expression of shape runs × conditions × features (more axes are
/// flattened into features).
template <floating_xexpression E>
[[nodiscard]] rdm<typename E::value_type> compute_crossnobis_rdm(
    const xt::xexpression<E>& runs, const metric::crossnobis& metric = {},
    const rdm_options& options = {}) {
  using Scalar = typename E::value_type;
  const auto& e = runs.derived_cast();
  if (e.dimension() < 3)
    detail::throw_invalid_argument(
        "compute_crossnobis_rdm",
        detail::concat("expected a runs x conditions x features array, got ", e.dimension(),
                       " dimension(s)"));
  const xtensor_patterns<Scalar> flat(runs, "compute_crossnobis_rdm");  // R × (n·p), no copy
  const auto r_count = static_cast<index_t>(e.shape()[0]);
  const auto n = static_cast<index_t>(e.shape()[1]);
  const auto m = flat.matrix();
  const index_t p = r_count > 0 && n > 0 ? m.size() / (r_count * n) : 0;
  using run_map =
      Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  std::vector<run_map> split;
  split.reserve(static_cast<std::size_t>(r_count));
  for (index_t r = 0; r < r_count; ++r) split.emplace_back(m.data() + r * n * p, n, p);
  return compute_crossnobis_rdm(split, metric, options);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_RDM_CROSSNOBIS_HPP
