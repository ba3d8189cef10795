#ifndef DNN2BRAIN_STATS_BOOTSTRAP_HPP
#define DNN2BRAIN_STATS_BOOTSTRAP_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/rdm/condition_map.hpp>
#include <dnn2brain/stats/random.hpp>
#include <dnn2brain/stats/statistic.hpp>

namespace dnn2brain {

/// Options of the bootstraps.
struct bootstrap_options {
  index_t samples = 10000;
  std::uint64_t seed = 0;
  /// Coverage of the percentile confidence interval.
  double level = 0.95;
};

/// \brief A bootstrap of D statistics (models) on T targets: every summary is D × T.
///
/// The distribution of model d on target t is distribution(d, t); the whole resample b is
/// sample(b). A resample that left a statistic undefined (NaN) makes its summaries NaN.
class bootstrap_result {
 public:
  Eigen::MatrixXd estimate;        ///< D × T, the statistic on the original sample
  Eigen::MatrixXd standard_error;  ///< D × T, standard deviation of the distribution (n − 1)
  /// D × T percentile interval (linear interpolation, numpy's default quantile).
  Eigen::MatrixXd lower, upper;
  double level = 0.95;  ///< coverage of [lower, upper]

  bootstrap_result() = default;
  /// From the estimate (D × T) and the draws: row b holds resample b's D × T statistics,
  /// column-major (model d of target t in column d + D·t). Summarises every column.
  /// \throws invalid_argument if the shapes disagree or level is outside (0, 1).
  bootstrap_result(Eigen::MatrixXd estimate_, Eigen::MatrixXd draws, double level_)
      : estimate(std::move(estimate_)), level(level_), m_draws(std::move(draws)) {
    if (m_draws.cols() != estimate.size() || !(level > 0.0 && level < 1.0))
      detail::throw_invalid_argument("bootstrap_result",
                                     detail::concat("expected ", estimate.size(),
                                                    " columns of draws and a level in (0, 1), "
                                                    "got ",
                                                    m_draws.cols(), " and ", level));
    summarise();
  }

  [[nodiscard]] index_t samples() const noexcept { return m_draws.rows(); }
  [[nodiscard]] index_t models() const noexcept { return estimate.rows(); }
  [[nodiscard]] index_t targets() const noexcept { return estimate.cols(); }

  /// The samples() values of model d on target t. \throws invalid_argument out of range.
  [[nodiscard]] Eigen::VectorXd distribution(index_t d, index_t t = 0) const {
    check(d, t, "bootstrap_result::distribution");
    return m_draws.col(d + models() * t);
  }
  /// Resample b: D × T. \throws invalid_argument out of range.
  [[nodiscard]] Eigen::MatrixXd sample(index_t b) const {
    if (b < 0 || b >= samples())
      detail::throw_invalid_argument(
          "bootstrap_result::sample",
          detail::concat("expected a sample in [0, ", samples(), "), got ", b));
    return m_draws.row(b).reshaped(models(), targets());
  }

  /// \brief Model a minus model b on every target (1 × T), with the same resamples, summarised
  /// at the same level: a difference's standard error and interval.
  /// \throws invalid_argument for a model out of range.
  [[nodiscard]] bootstrap_result difference(index_t a, index_t b) const {
    check(a, 0, "bootstrap_result::difference");
    check(b, 0, "bootstrap_result::difference");
    const index_t count = targets(), d = models();
    Eigen::MatrixXd est(1, count), draws(samples(), count);
    for (index_t t = 0; t < count; ++t) {
      est(0, t) = estimate(a, t) - estimate(b, t);
      draws.col(t) = m_draws.col(a + d * t) - m_draws.col(b + d * t);
    }
    return bootstrap_result(std::move(est), std::move(draws), level);
  }

 private:
  void check(index_t d, index_t t, const char* function) const {
    if (d < 0 || d >= models() || t < 0 || t >= targets())
      detail::throw_invalid_argument(
          function, detail::concat("expected a model in [0, ", models(), ") and a target in [0, ",
                                   targets(), "), got ", d, " and ", t));
  }

  // Standard error and percentile interval of every column of the draws.
  void summarise() {
    const index_t count = m_draws.cols(), n = m_draws.rows();
    standard_error.resize(estimate.rows(), estimate.cols());
    lower.resizeLike(standard_error);
    upper.resizeLike(standard_error);
    std::vector<double> sorted(static_cast<std::size_t>(n));
    const auto quantile = [&](double q) {  // numpy's default 'linear' method
      const double at = q * static_cast<double>(n - 1);
      const auto below = static_cast<std::size_t>(std::floor(at));
      const std::size_t above = std::min(below + 1, sorted.size() - 1);
      return sorted[below] + (at - std::floor(at)) * (sorted[above] - sorted[below]);
    };
    for (index_t c = 0; c < count; ++c) {
      const auto column = m_draws.col(c);
      if (n == 0 || column.hasNaN()) {  // a resample left the statistic undefined
        standard_error(c) = lower(c) = upper(c) = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      const double mean = column.mean();
      standard_error(c) =
          n > 1 ? std::sqrt((column.array() - mean).square().sum() / static_cast<double>(n - 1))
                : 0.0;
      for (index_t b = 0; b < n; ++b) sorted[static_cast<std::size_t>(b)] = column[b];
      std::sort(sorted.begin(), sorted.end());
      lower(c) = quantile((1.0 - level) / 2.0);
      upper(c) = quantile((1.0 + level) / 2.0);
    }
  }

  Eigen::MatrixXd m_draws;  // samples × (D·T)
};

namespace detail {

inline void check_bootstrap_options(const bootstrap_options& options, const char* function) {
  if (options.samples < 1)
    throw_invalid_argument(function,
                           concat("expected at least 1 bootstrap sample, got ", options.samples));
  if (!(options.level > 0.0 && options.level < 1.0))
    throw_invalid_argument(function,
                           concat("expected a confidence level in (0, 1), got ", options.level));
}

}  // namespace detail

/// \brief Bootstrap over subjects of the mean of every column of scores (subjects × D: per-
/// subject scores of D models, or of model differences a − b for a difference's interval). The
/// result is D × 1: its "models" are the columns of scores.
///
/// Sample b draws the subjects with replacement from random_stream(seed, b), so the result is the
/// same for any thread count. \throws invalid_argument for fewer than 2 subjects, non-finite
/// scores, no samples or a level outside (0, 1).
template <floating_eigen Derived>
[[nodiscard]] bootstrap_result bootstrap_subjects(const Eigen::MatrixBase<Derived>& scores,
                                                  bootstrap_options options = {}) {
  constexpr const char* function = "bootstrap_subjects";
  detail::check_bootstrap_options(options, function);
  const index_t subjects = scores.rows(), count = scores.cols();
  if (subjects < 2)
    detail::throw_invalid_argument(
        function, detail::concat("expected scores of at least 2 subjects, got ", subjects));
  const Eigen::MatrixXd x = scores.template cast<double>();
  detail::require_finite(x, function, "scores", [](index_t s, index_t d) {
    return detail::concat("subject ", s, " of test ", d);
  });
  Eigen::MatrixXd draws(options.samples, count);
  DNN2BRAIN_OMP(parallel if (options.samples * subjects * count > 100000))
  {
    Eigen::RowVectorXd sum(count);
    DNN2BRAIN_OMP(for schedule(static))
    for (index_t b = 0; b < options.samples; ++b) {
      random_stream stream(options.seed, static_cast<std::uint64_t>(b));
      sum.setZero();
      for (index_t s = 0; s < subjects; ++s)
        sum += x.row(static_cast<index_t>(stream.below(static_cast<std::uint64_t>(subjects))));
      draws.row(b) = sum / static_cast<double>(subjects);
    }
  }
  return bootstrap_result(x.colwise().mean().transpose(), std::move(draws), options.level);
}

/// bootstrap_subjects() of an xtensor array of shape (subjects, D).
template <floating_xexpression E>
[[nodiscard]] bootstrap_result bootstrap_subjects(const xt::xexpression<E>& scores,
                                                  bootstrap_options options = {}) {
  const xtensor_matrix<typename E::value_type> x(scores, "bootstrap_subjects");
  return bootstrap_subjects(x.matrix(), options);
}

namespace detail {

// Scores of the statistic refitted on `samples` resamples of the conditions: `keep` drawn
// without replacement, or (keep = 0) n drawn with replacement.
template <typename Statistic, typename Derived>
bootstrap_result resample_conditions(const Statistic& statistic,
                                     const Eigen::MatrixBase<Derived>& targets,
                                     const bootstrap_options& options, index_t keep,
                                     const char* function) {
  check_bootstrap_options(options, function);
  using matrix = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Ref<const matrix, 0, Eigen::OuterStride<>> y(targets.derived());
  const index_t m = y.rows(), count = y.cols(), models = statistic.size();
  const index_t n = condensed_conditions(m);
  if (n < 4 || m != statistic.pairs())
    throw_invalid_argument(function,
                           concat("expected target RDMs over the models' ", statistic.pairs(),
                                  " pairs of at least 4 conditions, "
                                  "got ",
                                  m, " pairs"));
  if (keep != 0 && (keep < 3 || keep > n))
    throw_invalid_argument(
        function, concat("expected to keep 3 to ", n, " of the ", n, " conditions, got ", keep));
  Eigen::MatrixXd estimate = statistic(y);
  Eigen::MatrixXd draws(options.samples, models * count);
  const auto fewest = static_cast<std::size_t>(statistic.min_pairs());
  parallel_error errors;
  DNN2BRAIN_OMP(parallel if (options.samples > 1))
  {
    std::vector<index_t> drawn(static_cast<std::size_t>(n)), sources(static_cast<std::size_t>(m));
    matrix gathered;
    DNN2BRAIN_OMP(for schedule(dynamic, 4))
    for (index_t b = 0; b < options.samples; ++b)
      errors.run(b, [&] {
        const auto sample = static_cast<std::uint64_t>(b);
        std::span<const index_t> conditions(drawn);
        if (keep == 0) {
          random_stream stream(options.seed, sample);
          for (index_t& c : drawn)
            c = static_cast<index_t>(stream.below(static_cast<std::uint64_t>(n)));
        } else {
          random_permutation(options.seed, sample, drawn);
          std::sort(drawn.begin(), drawn.begin() + keep);
          conditions = conditions.first(static_cast<std::size_t>(keep));
        }
        const std::span<const index_t> kept(
            sources.data(), source_pairs(n, conditions, repeated_pair::drop, sources));
        // Too few distinct conditions drawn for the models to be fitted: undefined, not an error.
        if (kept.size() < fewest) {
          draws.row(b).setConstant(std::numeric_limits<double>::quiet_NaN());
          return;
        }
        gathered.resize(static_cast<index_t>(kept.size()), count);
        for (index_t t = 0; t < count; ++t)
          for (index_t k = 0; k < gathered.rows(); ++k)
            gathered(k, t) = y(kept[static_cast<std::size_t>(k)], t);
        const Eigen::MatrixXd scores = statistic.gathered(kept)(gathered);
        if (scores.rows() != models || scores.cols() != count)
          throw_invalid_argument(
              function, concat("expected the gathered statistic to give ", models, " x ", count,
                               " scores, got ", scores.rows(), " x ", scores.cols()));
        draws.row(b) = scores.reshaped().transpose();
      });
  }
  errors.rethrow();
  return bootstrap_result(std::move(estimate), std::move(draws), options.level);
}

}  // namespace detail

/// \brief Bootstrap over conditions (stimuli), as rsatoolbox's: every sample draws n of the n
/// conditions with replacement from random_stream(seed, b), keeps the pairs of the drawn
/// conditions (a pair as often as the product of its conditions' draws) but drops the pairs of two
/// copies of one condition, whose dissimilarity was never measured, and refits the models on those
/// pairs.
///
/// models: a resampling_statistic (regression_statistic, partition_statistic,
/// correlation_statistic), or a design_set or variance_partitioning (adjusted scores); targets: an
/// m × T Eigen matrix, an xtensor array of shape (m, T), an rdm_stack or one rdm. The result is
/// D × T (models × targets; T = 1 for an ROI); bootstrap_result::difference() gives model
/// differences. A resample with fewer pairs than the statistic's min_pairs(), or one that leaves a
/// score undefined (a constant target), puts NaN into the distribution and its summaries.
/// \throws invalid_argument for targets not over the models' pairs, fewer than 4 conditions, or
/// bad options.
template <resampling_models Models, target_rdms Targets>
[[nodiscard]] bootstrap_result bootstrap_conditions(const Models& models, const Targets& targets,
                                                    bootstrap_options options = {}) {
  constexpr const char* function = "bootstrap_conditions";
  return detail::with_statistic(
      models, targets, function, [&](const auto& statistic, const auto& y) {
        return detail::resample_conditions(statistic, y, options, 0, function);
      });
}

/// \brief The paper's "bootstrap" error bars: every sample keeps `keep` of the n conditions,
/// drawn without replacement (Dwivedi et al. used 45 of 50, int(0.9 n)), and refits the models on
/// their pairs (models and targets as bootstrap_conditions). The paper's error bar is
/// standard_error (the sample standard deviation, n − 1). Subsamples of a smaller stimulus set
/// estimate the spread of a different quantity than bootstrap_conditions does: this exists to
/// reproduce the paper.
template <resampling_models Models, target_rdms Targets>
[[nodiscard]] bootstrap_result subsample_conditions(const Models& models, const Targets& targets,
                                                    index_t keep, bootstrap_options options = {}) {
  constexpr const char* function = "subsample_conditions";
  return detail::with_statistic(
      models, targets, function, [&](const auto& statistic, const auto& y) {
        return detail::resample_conditions(statistic, y, options, keep, function);
      });
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_BOOTSTRAP_HPP
