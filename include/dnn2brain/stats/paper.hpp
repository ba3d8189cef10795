#ifndef DNN2BRAIN_STATS_PAPER_HPP
#define DNN2BRAIN_STATS_PAPER_HPP

#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>
#include <dnn2brain/stats/permutation.hpp>

/// \brief The statistics of Dwivedi et al. (2021) as their code computes them, to reproduce the
/// published figures. The library's defaults are the correct procedures; docs/stats.md sets the
/// two side by side. Paper-compatible pieces elsewhere: regression_score::multiple_r (the score
/// R), subsample_conditions(statistic, targets, 45) (the error bars).
namespace dnn2brain::paper {

/// The paper's permutation test: the RDM entries (pairs) permuted independently, 10,000
/// permutations, model differences counted. The paper never seeds its generator.
[[nodiscard]] inline permutation_options permutation_test_options(std::uint64_t seed = 0) {
  return {.permutations = 10000,
          .seed = seed,
          .scheme = permutation_scheme::pairs,
          .differences = true};
}

/// \brief The paper's searchlight noise ceiling (its searchlight_utils.py, after Nili et al.
/// 2014): Spearman's ρ of each subject's RDM against the raw mean of the others' (lower) or of all
/// (upper) RDMs, with noise_ceiling(stack, measure::spearman{}, paper::noise_ceiling_options()).
/// The library's default pools ranks instead (rsatoolbox's convention).
[[nodiscard]] inline dnn2brain::noise_ceiling_options noise_ceiling_options() {
  return {.pooling = rdm_pooling::raw_mean, .squared = false};
}

/// The paper keeps a searchlight for FDR (and its maps) when its lower noise ceiling ρ exceeds
/// this (Fig. 1 and 3a).
inline constexpr double noise_ceiling_threshold = 0.033;

/// p-values as the paper reports them: D × T, and (D·D) × T for the differences.
struct p_values {
  Eigen::MatrixXd p;
  /// Row a·D + b: the FDR-adjusted p-value of the difference of models a and b (symmetric).
  Eigen::MatrixXd p_differences;

  /// 1 × T: the adjusted p-value of the difference of models a and b.
  [[nodiscard]] Eigen::RowVectorXd p_difference(index_t a, index_t b) const {
    const index_t d = p.rows();
    if (a < 0 || b < 0 || a >= d || b >= d)
      detail::throw_invalid_argument(
          "paper::p_values::p_difference",
          detail::concat("expected models in [0, ", d, "), got ", a, " and ", b));
    return p_differences.row(a * d + b);
  }
};

/// \brief The paper's p-values from a permutation result with differences: a difference a − b is
/// counted in the direction of its observed sign (null ≥ observed if positive, ≤ if negative, and
/// never if zero, so p = 1/(N + 1) on the diagonal); then Benjamini–Hochberg within each target,
/// across its D models, and separately across its D(D − 1)/2 model pairs (upper triangle,
/// mirrored). \throws invalid_argument for a result without differences or under sequential
/// stopping.
[[nodiscard]] inline p_values fdr_within_targets(const permutation_result& r) {
  const index_t models = r.observed.rows(), count = r.observed.cols();
  if (r.p_differences.rows() != models * models || r.max_null.rows() == 0)
    detail::throw_invalid_argument(
        "paper::fdr_within_targets",
        "expected a permutation result with differences and without sequential stopping");
  p_values out{.p = Eigen::MatrixXd(models, count),
               .p_differences = Eigen::MatrixXd(models * models, count)};
  const double zero_difference = 1.0 / (static_cast<double>(r.permutations) + 1.0);
  std::vector<double> upper;
  for (index_t t = 0; t < count; ++t) {
    const Eigen::VectorXd p = r.p_value.col(t);
    out.p.col(t) = adjust_p_values(p, correction::benjamini_hochberg, nan_policy::omit);
    upper.clear();
    for (index_t a = 0; a < models; ++a)
      for (index_t b = a + 1; b < models; ++b) {
        const double d = r.observed(a, t) - r.observed(b, t);
        upper.push_back(d > 0    ? r.p_differences(a * models + b, t)
                        : d < 0  ? r.p_differences(b * models + a, t)
                        : d == 0 ? zero_difference
                                 : std::numeric_limits<double>::quiet_NaN());
      }
    const Eigen::VectorXd adjusted = adjust_p_values(
        Eigen::Map<const Eigen::VectorXd>(upper.data(), static_cast<index_t>(upper.size())),
        correction::benjamini_hochberg, nan_policy::omit);
    index_t k = 0;
    for (index_t a = 0; a < models; ++a) {
      out.p_differences(a * models + a, t) = zero_difference;
      for (index_t b = a + 1; b < models; ++b, ++k)
        out.p_differences(a * models + b, t) = out.p_differences(b * models + a, t) = adjusted[k];
    }
  }
  return out;
}

}  // namespace dnn2brain::paper

#endif  // DNN2BRAIN_STATS_PAPER_HPP
