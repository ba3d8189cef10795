#ifndef DNN2BRAIN_ANALYSIS_CEILING_HPP
#define DNN2BRAIN_ANALYSIS_CEILING_HPP

#include <optional>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/scoring.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>

namespace dnn2brain {

/// The comparison measure of a noise ceiling.
enum class ceiling_measure {
  /// The score's own: Pearson for the regression scores and for pearson, Spearman for spearman,
  /// Kendall's τ_A for kendall_tau_a.
  automatic,
  pearson,
  spearman,
  kendall_tau_a,
};

/// How an analysis computes noise ceilings (noise_ceiling(), Nili et al. 2014). The paper's
/// searchlight ceilings are {.measure = ceiling_measure::spearman, .squared = false, .pooling =
/// rdm_pooling::raw_mean}.
struct ceiling_options {
  bool compute = true;
  ceiling_measure measure = ceiling_measure::automatic;
  /// Report r² rather than r; unset: squared for the scores r_squared, adjusted_r_squared and
  /// unique_variance (a ceiling on the R² scale), not for the others.
  std::optional<bool> squared{};
  /// How subject RDMs are pooled into the reference (rsatoolbox's by_measure, or the paper's
  /// raw_mean).
  rdm_pooling pooling = rdm_pooling::by_measure;
};

namespace detail {

// The ceiling options as used: automatic choices resolved for the score.
[[nodiscard]] inline ceiling_options resolved_ceiling(ceiling_options c, model_score score) {
  if (c.measure == ceiling_measure::automatic)
    c.measure = score == model_score::spearman        ? ceiling_measure::spearman
                : score == model_score::kendall_tau_a ? ceiling_measure::kendall_tau_a
                                                      : ceiling_measure::pearson;
  if (!c.squared)
    c.squared = score == model_score::r_squared || score == model_score::adjusted_r_squared ||
                score == model_score::unique_variance;
  return c;
}

// noise_ceiling(subjects, measure, options) with the measure and options of resolved options c;
// subjects: one region's stack or a span of per-subject searchlight stacks.
template <typename Subjects>
[[nodiscard]] auto ceiling_of(const Subjects& subjects, const ceiling_options& c) {
  const noise_ceiling_options options{.pooling = c.pooling, .squared = c.squared.value_or(false)};
  switch (c.measure) {
    case ceiling_measure::spearman:
      return noise_ceiling(subjects, measure::spearman{}, options);
    case ceiling_measure::kendall_tau_a:
      return noise_ceiling(subjects, measure::kendall_tau_a{}, options);
    default:
      return noise_ceiling(subjects, measure::pearson{}, options);
  }
}

}  // namespace detail

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_CEILING_HPP
