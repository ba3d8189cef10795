#ifndef DNN2BRAIN_METRICS_EUCLIDEAN_HPP
#define DNN2BRAIN_METRICS_EUCLIDEAN_HPP

#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::metric {

// Euclidean distances do not change when the same vector is subtracted from every pattern, so both
// policies centre features first: it shrinks ‖x‖² and with it the Gram route's rounding error.

/// \brief Euclidean distance ‖xᵢ − xⱼ‖ (scipy's pdist 'euclidean').
///
/// per_feature = true returns √(‖xᵢ − xⱼ‖² / p), p the number of features: the root of
/// rsatoolbox's 'euclidean' (which is squared, see sq_euclidean).
struct euclidean {
  static constexpr const char* name = "euclidean";
  bool per_feature = false;

  [[nodiscard]] constexpr scaled_recipe recipe() const noexcept {
    return {{true, false, gram_output::distance}, per_feature};
  }
};

/// \brief Squared Euclidean distance ‖xᵢ − xⱼ‖² (scipy's pdist 'sqeuclidean').
///
/// per_feature = true divides by the number of features p: ‖xᵢ − xⱼ‖² / p, rsatoolbox's
/// calc_rdm(method='euclidean') (whose 'euclidean' is this squared, per-feature distance).
struct sq_euclidean {
  static constexpr const char* name = "sq_euclidean";
  bool per_feature = false;

  [[nodiscard]] constexpr scaled_recipe recipe() const noexcept {
    return {{true, false, gram_output::squared_distance}, per_feature};
  }
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_EUCLIDEAN_HPP
