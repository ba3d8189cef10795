#ifndef DNN2BRAIN_STATS_PAPER_HPP
#define DNN2BRAIN_STATS_PAPER_HPP

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/regression/design.hpp>
#include <dnn2brain/regression/variance_partitioning.hpp>
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
/// across its models, and separately across its model pairs (upper triangle, mirrored).
/// rows: the models that form the family, in this order (the paper's variance partitioning
/// reports its k unique fractions only: rows 2^j − 1); empty for all. The result is then k × T
/// and (k·k) × T. \throws invalid_argument for a result without differences, under sequential
/// stopping, or a row out of range.
[[nodiscard]] inline p_values fdr_within_targets(const permutation_result& r,
                                                 std::span<const index_t> rows = {}) {
  constexpr const char* function = "paper::fdr_within_targets";
  const index_t all = r.observed.rows(), count = r.observed.cols();
  if (r.p_differences.rows() != all * all || r.max_null.rows() == 0)
    detail::throw_invalid_argument(
        function, "expected a permutation result with differences and without sequential stopping");
  std::vector<index_t> family(rows.begin(), rows.end());
  if (family.empty())
    for (index_t a = 0; a < all; ++a) family.push_back(a);
  for (std::size_t i = 0; i < family.size(); ++i)
    if (family[i] < 0 || family[i] >= all ||
        std::find(family.begin(), family.begin() + std::ptrdiff_t(i), family[i]) !=
            family.begin() + std::ptrdiff_t(i))
      detail::throw_invalid_argument(
          function, detail::concat("expected distinct rows in [0, ", all, "), got ", family[i],
                                   family[i] >= 0 && family[i] < all ? " twice" : ""));
  const auto models = static_cast<index_t>(family.size());
  p_values out{.p = Eigen::MatrixXd(models, count),
               .p_differences = Eigen::MatrixXd(models * models, count)};
  const double zero_difference = 1.0 / (static_cast<double>(r.permutations) + 1.0);
  std::vector<double> upper;
  Eigen::VectorXd p(models);
  for (index_t t = 0; t < count; ++t) {
    for (index_t a = 0; a < models; ++a) p[a] = r.p_value(family[std::size_t(a)], t);
    out.p.col(t) = adjust_p_values(p, correction::benjamini_hochberg, nan_policy::omit);
    upper.clear();
    for (index_t i = 0; i < models; ++i)
      for (index_t j = i + 1; j < models; ++j) {
        const index_t a = family[std::size_t(i)], b = family[std::size_t(j)];
        const double d = r.observed(a, t) - r.observed(b, t);
        upper.push_back(d > 0    ? r.p_differences(a * all + b, t)
                        : d < 0  ? r.p_differences(b * all + a, t)
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

/// \brief The partitioning the paper's error bars refit (its bootstrap defect, DESIGN §4.8): the
/// union of a set of groups is the element-wise SUM of their predictor matrices (layer l of the
/// union is the sum of the members' layer l), not their concatenation, so every union has one
/// predictor per layer and the "unique variances" belong to other, non-nested models. Only for
/// reproducing the paper's Fig. 2 / 3b error bars (partition_analysis_options::error_bars).
/// groups: k matrices of m pairs × L layers, all of one shape.
/// \throws invalid_argument for no group, more than variance_partitioning::max_groups, or
/// matrices of different shapes.
template <std::floating_point Scalar = double>
[[nodiscard]] variance_partitioning<Scalar> summed_partitioning(
    const std::vector<Eigen::MatrixXd>& groups, design_options options = {}) {
  constexpr const char* function = "paper::summed_partitioning";
  const auto k = static_cast<index_t>(groups.size());
  if (k < 1 || k > variance_partitioning<Scalar>::max_groups)
    detail::throw_invalid_argument(
        function, detail::concat("expected 1 to ", variance_partitioning<Scalar>::max_groups,
                                 " groups, got ", k));
  for (const Eigen::MatrixXd& g : groups)
    if (g.rows() != groups.front().rows() || g.cols() != groups.front().cols())
      detail::throw_invalid_argument(
          function, detail::concat("expected groups of one shape, ", groups.front().rows(), " × ",
                                   groups.front().cols(), ", got ", g.rows(), " × ", g.cols()));
  std::vector<design> unions;
  for (index_t s = 1; s < (index_t(1) << k); ++s) {
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(groups.front().rows(), groups.front().cols());
    for (index_t g = 0; g < k; ++g)
      if (s >> g & 1) sum += groups[static_cast<std::size_t>(g)];
    unions.emplace_back(sum, options);
  }
  return variance_partitioning<Scalar>(k, design_set<Scalar>(std::move(unions)));
}

}  // namespace dnn2brain::paper

#endif  // DNN2BRAIN_STATS_PAPER_HPP
