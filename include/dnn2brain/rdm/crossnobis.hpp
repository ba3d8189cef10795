#ifndef DNN2BRAIN_RDM_CROSSNOBIS_HPP
#define DNN2BRAIN_RDM_CROSSNOBIS_HPP

#include <span>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
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
/// \param runs R >= 2 matrices of n conditions × p features, one per run, same shape.
/// \throws invalid_argument on fewer than 2 runs, mismatched shapes, non-finite values, or a
///         precision whose size is not p.
/// \par Complexity
///   O(R n² p) plus O(R n p²) for whitening with a precision.
template <std::floating_point Scalar>
[[nodiscard]] rdm<Scalar> compute_crossnobis_rdm(
    std::span<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> runs,
    const metric::crossnobis& metric = {}, const rdm_options& options = {}) {
  constexpr const char* function = "compute_crossnobis_rdm";
  const auto r_count = static_cast<index_t>(runs.size());
  if (r_count < 2)
    detail::throw_invalid_argument(
        function, detail::concat("expected at least 2 runs (cross-validation needs independent "
                                 "runs), got ",
                                 r_count));
  const index_t n = runs.front().rows();
  const index_t p = runs.front().cols();
  for (index_t r = 0; r < r_count; ++r) {
    const auto& run = runs[static_cast<std::size_t>(r)];
    if (run.rows() != n || run.cols() != p)
      detail::throw_invalid_argument(
          function, detail::concat("expected every run to be ", n, " x ", p, " like run 0, got ",
                                   run.rows(), " x ", run.cols(), " for run ", r));
  }
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const auto whiten = [&](const matrix& run) -> matrix {
    detail::require_finite(run, 0, function);
    if (metric.noise()) return metric.noise()->transform(run);
    return run;
  };
  // Squared distances in double, whatever Scalar is: the difference below cancels.
  const auto squared = [&](const matrix& patterns) {
    Eigen::VectorXd d2(condensed_size(std::max<index_t>(n, 0)));
    detail::compute_rdm_impl(patterns.template cast<double>(), metric::sq_euclidean{}, options, d2,
                             function);
    return d2;
  };
  matrix total = matrix::Zero(n, p);
  Eigen::VectorXd within = Eigen::VectorXd::Zero(condensed_size(std::max<index_t>(n, 0)));
  for (const auto& run : runs) {
    const matrix white = whiten(run);
    within += squared(white);
    total += white;
  }
  const Eigen::VectorXd d =
      (squared(total) - within) / static_cast<double>(r_count * (r_count - 1));
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
  const xtensor_patterns<Scalar> flat(runs, "compute_crossnobis_rdm");  // (runs·conditions) × p
  const auto r_count = static_cast<index_t>(e.shape()[0]);
  const auto n = static_cast<index_t>(e.shape()[1]);
  std::vector<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> split;
  split.reserve(static_cast<std::size_t>(r_count));
  const auto m = flat.matrix();
  const index_t p = r_count > 0 && n > 0 ? m.size() / (r_count * n) : 0;
  for (index_t r = 0; r < r_count; ++r)
    split.emplace_back(
        Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            m.data() + r * n * p, n, p));
  return compute_crossnobis_rdm<Scalar>(split, metric, options);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_RDM_CROSSNOBIS_HPP
