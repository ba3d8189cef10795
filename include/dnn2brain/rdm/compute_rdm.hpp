#ifndef DNN2BRAIN_RDM_COMPUTE_RDM_HPP
#define DNN2BRAIN_RDM_COMPUTE_RDM_HPP

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/metrics/correlation.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/detail/gram.hpp>
#include <dnn2brain/rdm/detail/pairwise_direct.hpp>

namespace dnn2brain {

/// How the RDM builders compute distances.
enum class rdm_method {
  /// Gram products over feature chunks (BLAS-3 speed, O(n²p) flops). Rounding is additive in the
  /// inner products: about b·ε·‖zᵢ‖‖zⱼ‖ with b the chunk width and z the centred pattern (chunks
  /// are centred on their own means and merged exactly), so near-identical patterns lose relative
  /// accuracy in their (small) distance.
  gram,
  /// Direct differences in double: a few ε_double relative error in every distance, for
  /// near-duplicate patterns or when the Gram route's error bound is too loose; several times
  /// slower.
  direct,
};

/// Options of compute_rdm().
struct rdm_options {
  rdm_method method = rdm_method::gram;
  /// Features per streamed chunk; 0 picks a cache-sized width. Results do not depend on the thread
  /// count; they depend on this width only through rounding.
  index_t chunk_features = 0;
  /// Throw invalid_argument for degenerate patterns (constant under correlation, zero under cosine)
  /// instead of returning NaN distances for them and listing them in rdm::degenerate_conditions().
  bool reject_degenerate = false;
};

namespace detail {

// Condensed distances from the centred Gram matrix m (Gram route) or from the squared distances of
// the transformed patterns (direct route); squared distances are divided by `divisor` (p for
// per_feature, else 1) before any root. Pairs with a degenerate condition are NaN. Returns the
// degenerate conditions.
template <typename Out>
std::vector<index_t> finish_distances(const Eigen::MatrixXd& m, bool m_is_gram,
                                      metric::gram_output output, double divisor,
                                      const std::vector<bool>& degenerate, Out& out) {
  using Scalar = typename Out::Scalar;
  const index_t n = m.rows();
  std::vector<index_t> degenerate_list;
  Eigen::VectorXd inv_norm = Eigen::VectorXd::Ones(n);
  for (index_t i = 0; i < n; ++i) {
    if (degenerate[static_cast<std::size_t>(i)]) degenerate_list.push_back(i);
    if (m_is_gram && output == metric::gram_output::one_minus_r)
      inv_norm[i] = 1.0 / std::sqrt(m(i, i));
  }
  index_t k = 0;
  for (index_t i = 0; i + 1 < n; ++i)
    for (index_t j = i + 1; j < n; ++j, ++k) {
      double d;
      if (degenerate[static_cast<std::size_t>(i)] || degenerate[static_cast<std::size_t>(j)]) {
        d = std::numeric_limits<double>::quiet_NaN();
      } else if (output == metric::gram_output::one_minus_r) {
        // scipy clips the cosine to [-1, 1]; on the direct route d² = 2 − 2r.
        d = m_is_gram ? 1.0 - std::clamp(m(j, i) * inv_norm[i] * inv_norm[j], -1.0, 1.0)
                      : std::clamp(0.5 * m(j, i), 0.0, 2.0);
      } else {
        const double d2 =
            std::max(m_is_gram ? m(i, i) + m(j, j) - 2.0 * m(j, i) : m(j, i), 0.0) / divisor;
        d = output == metric::gram_output::distance ? std::sqrt(d2) : d2;
      }
      out[k] = static_cast<Scalar>(d);
    }
  return degenerate_list;
}

template <typename Derived, typename Metric, typename Out>
std::vector<index_t> compute_rdm_impl(const Eigen::MatrixBase<Derived>& x, const Metric& metric,
                                      const rdm_options& options, Out& out, const char* function) {
  const index_t n = x.rows();
  const index_t p = x.cols();
  if (n < 2 || p < 1)
    throw_invalid_argument(function,
                           concat("expected at least 2 conditions x 1 feature, got ", n, " x ", p));
  if (out.size() != condensed_size(n))
    throw_invalid_argument(function, concat("expected an output of ", condensed_size(n),
                                            " entries for ", n, " conditions, got ", out.size()));
  if (options.chunk_features < 0)
    throw_invalid_argument(function,
                           concat("expected chunk_features >= 0, got ", options.chunk_features));
  const metric::scaled_recipe scaled = metric.recipe();
  const metric::gram_recipe& recipe = scaled.gram;
  if (scaled.per_feature && recipe.output == metric::gram_output::one_minus_r)
    throw_invalid_argument(function,
                           "expected per_feature with a distance output, got it with 1 - r");
  const double divisor = scaled.per_feature ? static_cast<double>(p) : 1.0;

  std::vector<index_t> degenerate;
  if constexpr (requires { metric.transform(x); }) {
    require_finite_activations(x, 0, function);  // ranking NaN would break the sort
    const auto transformed = metric.transform(x);
    const struct {
      metric::scaled_recipe r;
      [[nodiscard]] metric::scaled_recipe recipe() const { return r; }
    } plain{scaled};
    return compute_rdm_impl(transformed, plain, options, out, function);
  } else if (options.method == rdm_method::gram) {
    const auto c = centred_gram(x, recipe, options.chunk_features, function);
    // A pattern is degenerate when its centred energy is zero to rounding, Cᵢᵢ ≤ (4ε)²·Σz²: an
    // exactly constant pattern leaves at most ~ε²·Σz² after the rounded chunk means.
    const double eps = std::numeric_limits<typename Derived::Scalar>::epsilon();
    const double floor = 16.0 * eps * eps;
    std::vector<bool> flags(static_cast<std::size_t>(n), false);
    if (recipe.output == metric::gram_output::one_minus_r)
      for (index_t i = 0; i < n; ++i)
        flags[static_cast<std::size_t>(i)] = !(c.gram(i, i) > floor * c.energy[i]);
    degenerate = finish_distances(c.gram, true, recipe.output, divisor, flags, out);
  } else {
    std::vector<bool> flags;
    const Eigen::MatrixXd d2 =
        direct_squared_distances(x, recipe, options.chunk_features, flags, function);
    degenerate = finish_distances(d2, false, recipe.output, divisor, flags, out);
  }
  if (options.reject_degenerate && !degenerate.empty()) {
    std::string list;
    for (const index_t i : degenerate) list += (list.empty() ? "" : ", ") + std::to_string(i);
    throw_invalid_argument(function, concat("expected patterns that define every distance, got "
                                            "degenerate (constant or zero) pattern(s) at "
                                            "condition(s) ",
                                            list));
  }
  return degenerate;
}

}  // namespace detail

/// \brief Writes the condensed RDM of a conditions × features pattern matrix into caller memory.
///
/// \param patterns n × p, one row per condition (stimulus); any dense Eigen expression (a Map over
/// a
///        numpy or NIfTI buffer, a block, ...), read in place.
/// \param out      n(n − 1)/2 entries in pdist order.
/// \param metric   a metric policy from dnn2brain::metric (default: correlation distance). A
///                 metric with per_feature set divides squared distances by p before any root.
/// \return the degenerate conditions (NaN distances), empty when every distance is defined.
/// \throws invalid_argument if n < 2, p < 1, out has the wrong size, an activation is NaN or Inf,
///         or (with reject_degenerate) a pattern is degenerate.
/// \par Complexity
///   O(n²p) flops in Gram products over feature chunks; O(n² + n·chunk) extra memory per lane, at
///   most 4 lanes.
template <floating_eigen Derived, typename Metric = metric::correlation>
requires metric::gram_metric<Metric> std::vector<index_t> compute_rdm_into(
    const Eigen::MatrixBase<Derived>& patterns,
    Eigen::Ref<Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, 1>> out,
    const Metric& metric = {}, const rdm_options& options = {}) {
  return detail::compute_rdm_impl(patterns, metric, options, out, "compute_rdm_into");
}

/// \brief Condensed RDM of a conditions × features pattern matrix.
///
/// Same as compute_rdm_into(), returning an rdm whose degenerate_conditions() lists the patterns
/// that left distances undefined (NaN), e.g. a constant pattern under the correlation distance.
template <floating_eigen Derived, typename Metric = metric::correlation>
requires metric::gram_metric<Metric>
[[nodiscard]] rdm<typename Derived::Scalar> compute_rdm(const Eigen::MatrixBase<Derived>& patterns,
                                                        const Metric& metric = {},
                                                        const rdm_options& options = {}) {
  using Scalar = typename Derived::Scalar;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> values(
      condensed_size(std::max<index_t>(patterns.rows(), 0)));
  auto degenerate = detail::compute_rdm_impl(patterns, metric, options, values, "compute_rdm");
  rdm<Scalar> result(values);
  result.set_degenerate_conditions(std::move(degenerate));
  return result;
}

/// \brief Condensed RDM of an xtensor expression whose first axis is conditions; the other axes
/// are flattened in C order (e.g. conditions × channels × height × width activations).
///
/// Row-major containers are read in place; other expressions are evaluated once.
template <floating_xexpression E, typename Metric = metric::correlation>
requires metric::gram_metric<Metric>
[[nodiscard]] rdm<typename E::value_type> compute_rdm(const xt::xexpression<E>& patterns,
                                                      const Metric& metric = {},
                                                      const rdm_options& options = {}) {
  const xtensor_patterns<typename E::value_type> view(patterns, "compute_rdm");
  return compute_rdm(view.matrix(), metric, options);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_RDM_COMPUTE_RDM_HPP
