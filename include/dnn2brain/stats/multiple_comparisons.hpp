#ifndef DNN2BRAIN_STATS_MULTIPLE_COMPARISONS_HPP
#define DNN2BRAIN_STATS_MULTIPLE_COMPARISONS_HPP

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>

namespace dnn2brain {

/// A multiple-comparison correction.
enum class correction {
  bonferroni,           ///< p·m (family-wise error)
  holm,                 ///< Holm's step-down (family-wise error, uniformly more powerful)
  benjamini_hochberg,   ///< false discovery rate, independent or positively dependent tests
  benjamini_yekutieli,  ///< false discovery rate under any dependence (BH times Σ 1/i)
};

/// \brief Adjusted p-values of a family of tests, identical to statsmodels'
/// multipletests(method='bonferroni' | 'holm' | 'fdr_bh' | 'fdr_by') (fdrcorrection with
/// method 'indep' / 'negcorr'): a test is rejected at level α exactly when its adjusted p-value
/// is ≤ α.
///
/// NaN: under nan_policy::omit (or propagate) a NaN p-value stays NaN and is left out of the
/// family, so m counts the defined tests only (a searchlight without a score is not a test);
/// under raise it is an error. O(m log m).
/// \throws invalid_argument for a p-value outside [0, 1], Inf, or NaN under raise.
template <typename Derived>
[[nodiscard]] Eigen::VectorXd adjust_p_values(const Eigen::MatrixBase<Derived>& p,
                                              correction method,
                                              nan_policy policy = nan_policy::raise) {
  const index_t size = p.size();
  Eigen::VectorXd adjusted =
      Eigen::VectorXd::Constant(size, std::numeric_limits<double>::quiet_NaN());
  std::vector<index_t> order;
  order.reserve(static_cast<std::size_t>(size));
  for (index_t i = 0; i < size; ++i) {
    const auto v = static_cast<double>(p.reshaped()(i));
    if (std::isnan(v)) {
      if (policy == nan_policy::raise)
        detail::throw_invalid_argument(
            "adjust_p_values",
            detail::concat("expected p-values without NaN (nan_policy::omit leaves them out of "
                           "the family), got NaN at ",
                           i));
      continue;
    }
    if (!(v >= 0.0 && v <= 1.0))
      detail::throw_invalid_argument(
          "adjust_p_values", detail::concat("expected p-values in [0, 1], got ", v, " at ", i));
    order.push_back(i);
  }
  const auto m = static_cast<index_t>(order.size());
  if (m == 0) return adjusted;
  const auto value = [&](index_t i) { return static_cast<double>(p.reshaped()(i)); };
  const auto md = static_cast<double>(m);
  if (method == correction::bonferroni) {
    for (const index_t i : order) adjusted[i] = std::min(1.0, value(i) * md);
    return adjusted;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](index_t a, index_t b) { return value(a) < value(b); });
  if (method == correction::holm) {
    // Step-down: the running maximum of (m − k)·p₍ₖ₎ from the smallest p-value up.
    double running = 0.0;
    for (index_t k = 0; k < m; ++k) {
      const index_t i = order[static_cast<std::size_t>(k)];
      running = std::max(running, std::min(1.0, (md - static_cast<double>(k)) * value(i)));
      adjusted[i] = running;
    }
    return adjusted;
  }
  // Step-up: the running minimum of p₍ₖ₎ / (k/m) (divided by Σ 1/i for BY) from the largest
  // p-value down, in statsmodels' arithmetic.
  double harmonic = 1.0;
  if (method == correction::benjamini_yekutieli) {
    harmonic = 0.0;
    for (index_t i = 1; i <= m; ++i) harmonic += 1.0 / static_cast<double>(i);
  }
  double running = 1.0;
  for (index_t k = m - 1; k >= 0; --k) {
    const index_t i = order[static_cast<std::size_t>(k)];
    running = std::min(running, value(i) / (static_cast<double>(k + 1) / md / harmonic));
    adjusted[i] = running;
  }
  return adjusted;
}

/// Which tests a correction rejects at level alpha: adjusted p ≤ alpha (NaN never rejected).
/// \throws invalid_argument for alpha outside (0, 1), and as adjust_p_values.
template <typename Derived>
[[nodiscard]] Eigen::Array<bool, Eigen::Dynamic, 1> reject(const Eigen::MatrixBase<Derived>& p,
                                                           double alpha, correction method,
                                                           nan_policy policy = nan_policy::raise) {
  if (!(alpha > 0.0 && alpha < 1.0))
    detail::throw_invalid_argument("reject",
                                   detail::concat("expected alpha in (0, 1), got ", alpha));
  return adjust_p_values(p, method, policy).array() <= alpha;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_MULTIPLE_COMPARISONS_HPP
