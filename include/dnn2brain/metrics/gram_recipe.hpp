#ifndef DNN2BRAIN_METRICS_GRAM_RECIPE_HPP
#define DNN2BRAIN_METRICS_GRAM_RECIPE_HPP

#include <concepts>

#include <dnn2brain/core/error.hpp>

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

/// \brief A gram_recipe whose squared distances may be divided by the number of features:
/// d² ↦ d²/p before any root, p the columns of the (transformed) pattern matrix. This is
/// rsatoolbox's normalisation ("per channel"); it makes distances comparable across layers and
/// regions of different sizes.
///
/// The metrics with a per_feature option return this from recipe(). It converts to a plain
/// gram_recipe only while per_feature is false: a builder that takes a plain recipe cannot divide,
/// so it gets an error instead of undivided distances (searchlight_rdms' kernel is such a builder;
/// compute_rdm, compute_rdm_into and compute_crossnobis_rdm divide).
struct scaled_recipe {
  gram_recipe gram;
  bool per_feature = false;  ///< divide squared distances by the feature count p

  // Both conversions are implicit: every recipe is a scaled_recipe that divides by nothing, and
  // builders written for a plain gram_recipe keep accepting metrics that return a scaled one.
  constexpr scaled_recipe(gram_recipe steps, bool divide = false) noexcept
      : gram(steps), per_feature(divide) {}

  /// \throws invalid_argument if per_feature is set.
  operator gram_recipe() const {
    if (per_feature)
      detail::throw_invalid_argument(
          "metric::scaled_recipe",
          "expected an RDM builder that divides by the feature count for per_feature = true "
          "(compute_rdm, compute_crossnobis_rdm), got one that takes a plain gram_recipe "
          "(e.g. searchlight_rdms): compute each searchlight with compute_rdm_into or divide by "
          "its size");
    return gram;
  }
};

/// A distance policy the RDM builders accept: it names itself and gives its recipe (a gram_recipe
/// or a scaled_recipe). It may also have a transform(patterns) member that returns a new pattern
/// matrix to use instead.
template <typename M>
concept gram_metric = requires(const M& m) {
  { m.recipe() } -> std::convertible_to<gram_recipe>;
  { M::name } -> std::convertible_to<const char*>;
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_GRAM_RECIPE_HPP
