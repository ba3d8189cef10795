#ifndef DNN2BRAIN_METRICS_EUCLIDEAN_HPP
#define DNN2BRAIN_METRICS_EUCLIDEAN_HPP

#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::metric {

// Euclidean distances do not change when the same vector is subtracted from every pattern, so both
// policies centre features first: it shrinks ‖x‖² and with it the Gram route's rounding error.

/// Euclidean distance ‖xᵢ − xⱼ‖ (scipy's pdist 'euclidean').
struct euclidean {
  static constexpr const char* name = "euclidean";

  [[nodiscard]] constexpr gram_recipe recipe() const noexcept {
    return {true, false, gram_output::distance};
  }
};

/// Squared Euclidean distance ‖xᵢ − xⱼ‖² (scipy's pdist 'sqeuclidean').
struct sq_euclidean {
  static constexpr const char* name = "sq_euclidean";

  [[nodiscard]] constexpr gram_recipe recipe() const noexcept {
    return {true, false, gram_output::squared_distance};
  }
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_EUCLIDEAN_HPP
