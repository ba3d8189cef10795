#ifndef DNN2BRAIN_ANALYSIS_SCORING_HPP
#define DNN2BRAIN_ANALYSIS_SCORING_HPP

#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/stats/statistic.hpp>

namespace dnn2brain {

/// How an analysis scores a model (or a group) against a target RDM.
enum class model_score {
  /// Adjusted R² of the regression on the model's layer RDMs (the paper's fit; the default).
  adjusted_r_squared,
  r_squared,
  /// The paper's ranking score R = √max(adjusted R², 0).
  multiple_r,
  /// The adjusted R² a model (group) adds to all the others: R²adj(all) − R²adj(all but it), the
  /// unique fractions of variance partitioning among all scored (the paper's Fig. 3a among its 3
  /// groups). D + 1 fits of up to D × layers predictors; meant for a few groups.
  unique_variance,
  /// Correlation of one layer's RDM with the target (classic RSA).
  pearson,
  spearman,
  kendall_tau_a,
};

/// \brief Progress of a long analysis: `step` names what runs ("searchlights", "scores",
/// "permutations", ...), `done` of its `total` units are finished. Called on the calling thread,
/// after every unit (a chunk of searchlights, an ROI); the library never prints.
using progress_callback = std::function<void(std::string_view step, index_t done, index_t total)>;

/// The score of the analyses.
struct scoring {
  model_score score = model_score::adjusted_r_squared;
  /// For the correlation scores: the layer whose RDM is compared; may stay empty for a set of
  /// one layer.
  std::string layer{};
};

/// Whether a score is a regression fit (adjusted R², R², R, unique variance) rather than a
/// correlation.
[[nodiscard]] constexpr bool is_regression_score(model_score s) noexcept {
  return s == model_score::adjusted_r_squared || s == model_score::r_squared ||
         s == model_score::multiple_r || s == model_score::unique_variance;
}

/// The score's name in tables and reports.
[[nodiscard]] constexpr std::string_view score_name(model_score s) noexcept {
  switch (s) {
    case model_score::adjusted_r_squared:
      return "adjusted_r_squared";
    case model_score::r_squared:
      return "r_squared";
    case model_score::unique_variance:
      return "unique_variance";
    case model_score::multiple_r:
      return "multiple_r";
    case model_score::pearson:
      return "pearson";
    case model_score::spearman:
      return "spearman";
    case model_score::kendall_tau_a:
      return "kendall_tau_a";
  }
  return "unknown";
}

namespace detail {

[[nodiscard]] constexpr regression_score regression_of(model_score s) noexcept {
  return s == model_score::r_squared    ? regression_score::r_squared
         : s == model_score::multiple_r ? regression_score::multiple_r
                                        : regression_score::adjusted_r_squared;
}

// The layer a correlation score compares: the named one, or the only one.
[[nodiscard]] inline std::string_view scored_layer(const model_set& models, const scoring& how,
                                                   const char* function) {
  if (!how.layer.empty()) return how.layer;
  if (models.layer_count() == 1) return models.layers().front();
  throw_invalid_argument(function, concat("expected scoring::layer to name the layer a ",
                                          score_name(how.score), " score compares (the set has ",
                                          models.layer_count(), " layers), got none"));
}

/// Calls f(statistic) with the resampling statistic that scores every model (groups = false) or
/// every group (true) of the set as `how` says (errors name `function`): a
/// regression_statistic<Scalar> of their designs, a unique_statistic<Scalar> of their
/// leave-one-out designs, or a correlation_statistic of one layer's RDMs. Every branch must return
/// the same type.
template <std::floating_point Scalar, typename F>
decltype(auto) with_model_statistic(const model_set& models, const scoring& how, bool groups,
                                    const char* function, F&& f) {
  if (how.score == model_score::unique_variance)
    return f(unique_statistic<Scalar>(models.leave_one_out_designs<Scalar>(groups)));
  if (is_regression_score(how.score))
    return f(regression_statistic<Scalar>(
        groups ? models.group_designs<Scalar>() : models.designs<Scalar>(),
        regression_of(how.score)));
  if (groups) models.check_complete(function);
  const std::string_view layer = scored_layer(models, how, function);
  const rdm_stack<double> rdms = groups ? models.group_layer(layer) : models.layer(layer);
  if (how.score == model_score::spearman) return f(correlation_statistic<measure::spearman>(rdms));
  if (how.score == model_score::kendall_tau_a)
    return f(correlation_statistic<measure::kendall_tau_a>(rdms));
  return f(correlation_statistic<measure::pearson>(rdms));
}

}  // namespace detail

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_SCORING_HPP
