#ifndef DNN2BRAIN_METRICS_COSINE_HPP
#define DNN2BRAIN_METRICS_COSINE_HPP

#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::metric {

/// Cosine distance 1 − xᵢ·xⱼ / (‖xᵢ‖‖xⱼ‖) (scipy's pdist 'cosine'). An all-zero pattern gives NaN
/// distances and is reported by the RDM.
struct cosine {
  static constexpr const char* name = "cosine";

  [[nodiscard]] constexpr gram_recipe recipe() const noexcept {
    return {false, false, gram_output::one_minus_r};
  }
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_COSINE_HPP
