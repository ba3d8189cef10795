#ifndef DNN2BRAIN_ANALYSIS_FUNCTIONAL_MAP_HPP
#define DNN2BRAIN_ANALYSIS_FUNCTIONAL_MAP_HPP

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <xtensor/xarray.hpp>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/searchlight_analysis.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/searchlight/brain_mask.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>
#include <dnn2brain/searchlight/paint.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/paper.hpp>
#include <dnn2brain/stats/permutation.hpp>

namespace dnn2brain {

/// Which p-value decides whether a searchlight's best model is significant.
enum class map_selection {
  /// The best score against the permutation null of the best score over all models
  /// (permutation_result::p_best): accounts for choosing the winner. The default.
  max_over_models,
  /// The best model against its own null. Anti-conservative: the winner of 19 correlated models
  /// behaves like the smallest of many p-values (about 19 % of pure-noise searchlights pass FDR
  /// on the planted dataset); offered to show why it is not the default.
  winner_own_null,
  /// The paper's two-stage FDR: every model's p-values corrected within each searchlight (across
  /// models), then each model's corrected p-values across the searchlights (of the noise-ceiling
  /// family), and the best model's twice-corrected p decides. Needs about 10,000 permutations to
  /// find anything. Unlike the paper's code, a searchlight whose ceiling is NaN or equals the
  /// threshold, or whose scores are all NaN, is never labelled, and NaN p-values are left out of
  /// the corrections (the paper counted a NaN score as p = 1/(N + 1)).
  within_then_across,
};

/// Whether the best model must also beat the runner-up.
enum class runner_up_test {
  none,  ///< the paper's maps
  /// A paired t-test over subjects of the best against the runner-up
  /// (searchlight_result::runner_up_subject_p; needs subject_tests): whether the best fits the
  /// subjects better than the runner-up. The pair is chosen on the subject mean of the same data.
  subjects,
  /// The permutation null of the margin between the best and second-best scores, both chosen
  /// again on every permutation (permutation_result::p_runner_up; needs runner_up): whether the
  /// margin exceeds what label exchangeability gives. Not a test of the two models' equality,
  /// which no label permutation can test: two equally good models with signal still have a
  /// margin far beyond the null's.
  permutation,
  /// The paper's Fig. 3a: the largest of the best model's pairwise difference p-values (the
  /// observed direction, BH-corrected within the searchlight, paper::fdr_within_targets), corrected
  /// across the searchlights of the family (needs an analysis with differences). Its null is "no
  /// relation", not "equally good": it does not test the best against the others.
  paper_differences,
};

/// Options of functional_map().
struct map_options {
  map_selection selection = map_selection::max_over_models;
  /// Across searchlights (and within, for within_then_across).
  correction method = correction::benjamini_hochberg;
  double alpha = 0.05;
  /// Label only searchlights whose lower noise ceiling (searchlight_result::ceiling_lower, on the
  /// scale of its `ceiling` options) exceeds this; these alone form the family that is corrected.
  /// The paper's paper::noise_ceiling_threshold (0.033) is a Spearman ρ of raw-mean RDMs:
  /// ceiling_options{.measure = ceiling_measure::spearman, .squared = false, .pooling =
  /// rdm_pooling::raw_mean}.
  std::optional<double> noise_ceiling_threshold{};
  runner_up_test runner_up = runner_up_test::none;
  /// The runner-up test's p-values are corrected, with `method`, across the searchlights labelled
  /// so far (paper_differences: across the noise-ceiling family, as the paper), and must not
  /// exceed this.
  double runner_up_alpha = 0.05;
};

/// \brief A functional map: per searchlight the best model (or group) and whether it is labelled.
struct functional_map {
  std::vector<std::string> models;  ///< the models (or groups) of the analysis
  Eigen::VectorXi best;             ///< T: argmax of the score (−1 where every score is NaN)
  Eigen::VectorXi label;            ///< T: best where significant, −1 elsewhere
  /// T: the best model's p-value under the selection rule (within_then_across: corrected within
  /// the searchlight)
  Eigen::VectorXd p;
  Eigen::VectorXd p_adjusted;  ///< T: corrected across the family (NaN outside it)
  Eigen::VectorXd best_score;  ///< T: the best model's score

  [[nodiscard]] index_t searchlights() const noexcept { return label.size(); }
  /// Number of labelled searchlights.
  [[nodiscard]] index_t labelled() const noexcept { return (label.array() >= 0).count(); }
  /// Labelled searchlights per model.
  [[nodiscard]] std::vector<index_t> counts() const {
    std::vector<index_t> c(models.size(), 0);
    for (index_t t = 0; t < label.size(); ++t)
      if (label[t] >= 0) ++c[std::size_t(label[t])];
    return c;
  }
  /// \brief The label volume of a map made on `table` over `mask`: model d is d + 1, 0 is
  /// unlabelled (not significant inside the mask, and outside it).
  [[nodiscard]] xt::xarray<std::int16_t> label_volume(const brain_mask& mask,
                                                      const neighbor_table& table) const {
    const Eigen::RowVectorXd codes = (label.array() + 1).cast<double>().transpose();
    const xt::xarray<double> painted = paint(mask, table, codes);
    xt::xarray<std::int16_t> volume(painted.shape());
    for (std::size_t k = 0; k < painted.size(); ++k)
      volume.flat(k) = std::isnan(painted.flat(k)) ? std::int16_t(0)
                                                   : static_cast<std::int16_t>(painted.flat(k));
    return volume;
  }
};

/// \brief The best model per searchlight, labelled where it is significant (DESIGN §4.7).
///
/// The best model is the argmax of the scores. Its p-value follows options.selection (by default
/// the max-over-models null), corrected across the searchlights (with a noise-ceiling threshold,
/// across those that pass it). With a runner-up test, a labelled searchlight must also show the
/// best beating the runner-up, corrected across the searchlights labelled by the first step
/// (paper_differences: across the family).
/// \throws invalid_argument when the analysis lacks what the options need (permutations, noise
/// ceilings, subject tests) or alpha is outside (0, 1].
[[nodiscard]] inline functional_map make_functional_map(const searchlight_result& analysis,
                                                        const map_options& options = {}) {
  constexpr const char* function = "make_functional_map";
  const index_t count = analysis.searchlights(), d_count = analysis.model_count();
  const permutation_result& perm = analysis.permutation;
  if (perm.targets() != count)
    detail::throw_invalid_argument(
        function, "expected a searchlight analysis with permutations, got one without");
  if (!(options.alpha > 0.0 && options.alpha <= 1.0) ||
      !(options.runner_up_alpha > 0.0 && options.runner_up_alpha <= 1.0))
    detail::throw_invalid_argument(
        function, detail::concat("expected alpha levels in (0, 1], got ", options.alpha, " and ",
                                 options.runner_up_alpha));
  if (options.noise_ceiling_threshold && analysis.ceiling_lower.size() != count)
    detail::throw_invalid_argument(
        function,
        "expected an analysis with noise ceilings for a noise-ceiling threshold, got none");
  if (options.runner_up == runner_up_test::permutation && perm.p_runner_up.size() != count)
    detail::throw_invalid_argument(
        function,
        "expected an analysis with runner_up permutations for this runner-up test, got none");
  if (options.runner_up == runner_up_test::subjects && analysis.runner_up_subject_p.size() != count)
    detail::throw_invalid_argument(
        function, "expected an analysis with subject_tests for this runner-up test, got none");
  if (options.runner_up == runner_up_test::paper_differences &&
      (perm.p_differences.rows() != d_count * d_count || perm.max_null.rows() == 0))
    detail::throw_invalid_argument(
        function,
        "expected an analysis with differences and without sequential stopping for this runner-up "
        "test, got none");
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();

  functional_map map;
  map.models = analysis.models;
  map.best = Eigen::VectorXi::Constant(count, -1);
  map.label = Eigen::VectorXi::Constant(count, -1);
  map.p = Eigen::VectorXd::Constant(count, nan);
  map.p_adjusted = Eigen::VectorXd::Constant(count, nan);
  map.best_score = Eigen::VectorXd::Constant(count, nan);
  // The family: searchlights with a best model (and a lower noise ceiling over the threshold).
  std::vector<bool> family(static_cast<std::size_t>(count), false);
  for (index_t t = 0; t < count; ++t) {
    const Eigen::VectorXd scores = analysis.scores.col(t);
    const index_t first =
        detail::top_two(std::span(scores.data(), static_cast<std::size_t>(d_count))).first;
    if (first < 0) continue;
    map.best[t] = static_cast<int>(first);
    map.best_score[t] = scores[first];
    family[std::size_t(t)] = !options.noise_ceiling_threshold ||
                             analysis.ceiling_lower[t] > *options.noise_ceiling_threshold;
  }
  if (options.selection == map_selection::within_then_across) {
    // D × T: corrected across models within each searchlight, then per model across the family.
    Eigen::MatrixXd twice = Eigen::MatrixXd::Constant(d_count, count, nan);
    for (index_t t = 0; t < count; ++t)
      if (family[std::size_t(t)])
        twice.col(t) =
            adjust_p_values(Eigen::VectorXd(perm.p_value.col(t)), options.method, nan_policy::omit);
    for (index_t t = 0; t < count; ++t)
      if (family[std::size_t(t)]) map.p[t] = twice(map.best[t], t);
    for (index_t d = 0; d < d_count; ++d)
      twice.row(d) = adjust_p_values(Eigen::VectorXd(twice.row(d).transpose()), options.method,
                                     nan_policy::omit)
                         .transpose();
    for (index_t t = 0; t < count; ++t)
      if (family[std::size_t(t)]) map.p_adjusted[t] = twice(map.best[t], t);
  } else {
    for (index_t t = 0; t < count; ++t)
      if (family[std::size_t(t)])
        map.p[t] = options.selection == map_selection::max_over_models
                       ? perm.p_best[t]
                       : perm.p_value(map.best[t], t);
    map.p_adjusted = adjust_p_values(map.p, options.method, nan_policy::omit);
  }
  for (index_t t = 0; t < count; ++t)
    if (map.p_adjusted[t] <= options.alpha) map.label[t] = map.best[t];

  if (options.runner_up == runner_up_test::paper_differences) {
    const paper::p_values within = paper::fdr_within_targets(perm);
    Eigen::VectorXd p = Eigen::VectorXd::Constant(count, nan);
    for (index_t t = 0; t < count; ++t)
      if (family[std::size_t(t)])
        // The largest defined p of the row (a NaN score leaves its pairs undefined).
        for (index_t b = 0; b < d_count; ++b)
          if (const double q = within.p_differences(index_t(map.best[t]) * d_count + b, t);
              !std::isnan(q) && !(q <= p[t]))
            p[t] = q;
    const Eigen::VectorXd adjusted = adjust_p_values(p, options.method, nan_policy::omit);
    for (index_t t = 0; t < count; ++t)
      if (map.label[t] >= 0 && !(adjusted[t] <= options.runner_up_alpha)) map.label[t] = -1;
    return map;
  }
  if (options.runner_up != runner_up_test::none) {
    const Eigen::VectorXd& margin = options.runner_up == runner_up_test::permutation
                                        ? perm.p_runner_up
                                        : analysis.runner_up_subject_p;
    Eigen::VectorXd p = Eigen::VectorXd::Constant(count, nan);
    for (index_t t = 0; t < count; ++t)
      if (map.label[t] >= 0) p[t] = std::isnan(margin[t]) ? 1.0 : margin[t];
    const Eigen::VectorXd adjusted = adjust_p_values(p, options.method, nan_policy::omit);
    for (index_t t = 0; t < count; ++t)
      if (map.label[t] >= 0 && !(adjusted[t] <= options.runner_up_alpha)) map.label[t] = -1;
  }
  return map;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_FUNCTIONAL_MAP_HPP
