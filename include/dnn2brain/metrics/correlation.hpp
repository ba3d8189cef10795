#ifndef DNN2BRAIN_METRICS_CORRELATION_HPP
#define DNN2BRAIN_METRICS_CORRELATION_HPP

#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::metric {

/// \brief Correlation distance 1 − r(xᵢ, xⱼ), r the Pearson correlation of two patterns across
/// features (scipy's pdist 'correlation').
///
/// center_features = true first subtracts each feature's mean across conditions, the way the
/// Taskonomy RDMs of Dwivedi et al. (2021) were made. A pattern that is constant (after that
/// centring) has no correlation: its distances are NaN and the RDM reports the condition.
struct correlation {
  static constexpr const char* name = "correlation";
  bool center_features = false;

  [[nodiscard]] constexpr gram_recipe recipe() const noexcept {
    return {center_features, true, gram_output::one_minus_r};
  }
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_CORRELATION_HPP
