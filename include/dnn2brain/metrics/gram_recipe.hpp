#ifndef DNN2BRAIN_METRICS_GRAM_RECIPE_HPP
#define DNN2BRAIN_METRICS_GRAM_RECIPE_HPP

#include <concepts>

namespace dnn2brain::metric {

/// What a Gram-based distance returns, given the transformed patterns z_i of a recipe.
enum class gram_output {
  one_minus_r,  ///< 1 − zᵢ·zⱼ / (‖zᵢ‖‖zⱼ‖), clipped to [0, 2] (correlation, cosine)
  distance,     ///< ‖zᵢ − zⱼ‖ (euclidean)
  squared_distance,  ///< ‖zᵢ − zⱼ‖² (squared euclidean)
};

/// \brief How a metric turns a conditions × features pattern matrix into distances.
///
/// The RDM builders apply the steps in this order, chunk by chunk over features: subtract each
/// feature's mean over conditions, subtract each pattern's mean over features, then form the
/// requested output from inner products. Any metric that can be written this way (optionally after
/// a transform() of the whole pattern matrix, as spearman and mahalanobis do) runs on the same
/// streaming engine.
struct gram_recipe {
  bool center_features = false;  ///< subtract each feature's mean across conditions
  bool center_rows = false;      ///< subtract each pattern's mean across features
  gram_output output = gram_output::distance;
};

/// A distance policy the RDM builders accept: it names itself and gives its recipe. It may also
/// have a transform(patterns) member that returns a new pattern matrix to use instead.
template <typename M>
concept gram_metric = requires(const M& m) {
  { m.recipe() } -> std::convertible_to<gram_recipe>;
  { M::name } -> std::convertible_to<const char*>;
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_GRAM_RECIPE_HPP
