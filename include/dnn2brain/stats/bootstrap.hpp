#ifndef DNN2BRAIN_STATS_BOOTSTRAP_HPP
#define DNN2BRAIN_STATS_BOOTSTRAP_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/parallel.hpp>
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

/// \brief Bootstrap distribution summaries of T statistics.
struct bootstrap_result {
  Eigen::VectorXd estimate;        ///< the statistic on the original sample
  Eigen::VectorXd standard_error;  ///< standard deviation of the bootstrap distribution (n − 1)
  Eigen::VectorXd lower, upper;    ///< percentile interval (linear interpolation, as numpy)
  Eigen::MatrixXd distribution;    ///< samples × T bootstrap values
  double level = 0.95;             ///< coverage of [lower, upper]
};

namespace detail {

// Standard error and percentile interval of every column of a samples × T distribution.
inline void summarise(bootstrap_result& r, double level) {
  r.level = level;
  const index_t samples = r.distribution.rows(), count = r.distribution.cols();
  r.standard_error.resize(count);
  r.lower.resize(count);
  r.upper.resize(count);
  std::vector<double> sorted(static_cast<std::size_t>(samples));
  const auto quantile = [&](double q) {  // numpy's default 'linear' method
    const double at = q * static_cast<double>(samples - 1);
    const auto below = static_cast<std::size_t>(std::floor(at));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    return sorted[below] + (at - std::floor(at)) * (sorted[above] - sorted[below]);
  };
  for (index_t t = 0; t < count; ++t) {
    const auto column = r.distribution.col(t);
    if (column.hasNaN()) {  // a resample left the statistic undefined
      r.standard_error[t] = r.lower[t] = r.upper[t] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const double mean = column.mean();
    r.standard_error[t] =
        samples > 1
            ? std::sqrt((column.array() - mean).square().sum() / static_cast<double>(samples - 1))
            : 0.0;
    for (index_t b = 0; b < samples; ++b) sorted[static_cast<std::size_t>(b)] = column[b];
    std::sort(sorted.begin(), sorted.end());
    r.lower[t] = quantile((1.0 - level) / 2.0);
    r.upper[t] = quantile((1.0 + level) / 2.0);
  }
}

inline void check_bootstrap_options(const bootstrap_options& options, const char* function) {
  if (options.samples < 1)
    throw_invalid_argument(function,
                           concat("expected at least 1 bootstrap sample, got ", options.samples));
  if (!(options.level > 0.0 && options.level < 1.0))
    throw_invalid_argument(function,
                           concat("expected a confidence level in (0, 1), got ", options.level));
}

}  // namespace detail

/// \brief Bootstrap over subjects of the mean of every column of scores (subjects × tests: per-
/// subject scores of models, or of model differences a − b for a difference's interval).
///
/// Sample b draws the subjects with replacement from random_stream(seed, b), so the result is the
/// same for any thread count. \throws invalid_argument for fewer than 2 subjects, non-finite
/// scores, no samples or a level outside (0, 1).
template <typename Derived>
requires std::floating_point<typename Derived::Scalar>
[[nodiscard]] bootstrap_result bootstrap_subjects(const Eigen::MatrixBase<Derived>& scores,
                                                  bootstrap_options options = {}) {
  constexpr const char* function = "bootstrap_subjects";
  detail::check_bootstrap_options(options, function);
  const index_t subjects = scores.rows(), count = scores.cols();
  if (subjects < 2)
    detail::throw_invalid_argument(
        function, detail::concat("expected scores of at least 2 subjects, got ", subjects));
  const Eigen::MatrixXd x = scores.template cast<double>();
  if (!x.allFinite())
    for (index_t t = 0; t < count; ++t)
      for (index_t s = 0; s < subjects; ++s)
        if (!std::isfinite(x(s, t)))
          detail::throw_invalid_argument(
              function, detail::concat("expected finite scores, got ", x(s, t), " for subject ", s,
                                       " of test ", t));
  bootstrap_result r;
  r.estimate = x.colwise().mean().transpose();
  r.distribution.resize(options.samples, count);
  DNN2BRAIN_OMP(parallel if (options.samples * subjects * count > 100000))
  {
    Eigen::RowVectorXd sum(count);
    DNN2BRAIN_OMP(for schedule(static))
    for (index_t b = 0; b < options.samples; ++b) {
      random_stream stream(options.seed, static_cast<std::uint64_t>(b));
      sum.setZero();
      for (index_t s = 0; s < subjects; ++s)
        sum += x.row(static_cast<index_t>(stream.below(static_cast<std::uint64_t>(subjects))));
      r.distribution.row(b) = sum / static_cast<double>(subjects);
    }
  }
  detail::summarise(r, options.level);
  return r;
}

namespace detail {

// The pairs among the drawn conditions, in pdist order of their positions, without the pairs of
// two copies of one condition (their dissimilarity is not measured).
inline void drawn_pairs(index_t n, std::span<const index_t> drawn, std::vector<index_t>& sources) {
  sources.clear();
  for (std::size_t i = 0; i < drawn.size(); ++i)
    for (std::size_t j = i + 1; j < drawn.size(); ++j)
      if (drawn[i] != drawn[j])
        sources.push_back(
            condensed_index(n, std::min(drawn[i], drawn[j]), std::max(drawn[i], drawn[j])));
}

// Scores of the statistic refitted on `samples` resamples of the conditions: `keep` drawn
// without replacement, or (keep = 0) n drawn with replacement. Columns d + D·t.
template <typename Statistic, typename Derived>
bootstrap_result resample_conditions(const Statistic& statistic,
                                     const Eigen::MatrixBase<Derived>& targets,
                                     const bootstrap_options& options, index_t keep,
                                     const char* function) {
  check_bootstrap_options(options, function);
  using matrix = Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const matrix y = targets;
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
  bootstrap_result r;
  r.estimate = statistic(y).reshaped();
  r.distribution.resize(options.samples, models * count);
  parallel_error errors;
  DNN2BRAIN_OMP(parallel if (options.samples > 1))
  {
    std::vector<index_t> drawn(static_cast<std::size_t>(n)), sources;
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
        drawn_pairs(n, conditions, sources);
        gathered.resize(static_cast<index_t>(sources.size()), count);
        for (index_t t = 0; t < count; ++t)
          for (index_t k = 0; k < gathered.rows(); ++k)
            gathered(k, t) = y(sources[static_cast<std::size_t>(k)], t);
        try {
          r.distribution.row(b) = statistic.gathered(sources)(gathered).reshaped().transpose();
        } catch (const invalid_argument&) {
          // The targets passed on the whole sample, so only the resample can be at fault: too
          // few distinct conditions for the models to be fitted.
          r.distribution.row(b).setConstant(std::numeric_limits<double>::quiet_NaN());
        }
      });
  }
  errors.rethrow();
  summarise(r, options.level);
  return r;
}

}  // namespace detail

/// \brief Bootstrap over conditions (stimuli), as rsatoolbox's: every sample draws n of the n
/// conditions with replacement from random_stream(seed, b), keeps the pairs of the drawn
/// conditions (a pair as often as the product of its conditions' draws) but drops the pairs of two
/// copies of one condition, whose dissimilarity was never measured, and refits the statistic
/// (regression_statistic, partition_statistic, correlation_statistic) on those pairs.
///
/// Columns d + D·t of the result belong to model d and target t (one target for an ROI);
/// bootstrap_differences() gives the model differences. A resample that leaves a score undefined
/// (too few distinct conditions, a constant target) puts NaN into the distribution and its
/// summaries. \throws invalid_argument for targets not over the models' pairs, fewer than 4
/// conditions, or bad options.
template <resampling_statistic Statistic, typename Derived>
requires std::floating_point<typename Derived::Scalar>
[[nodiscard]] bootstrap_result bootstrap_conditions(const Statistic& statistic,
                                                    const Eigen::MatrixBase<Derived>& targets,
                                                    bootstrap_options options = {}) {
  return detail::resample_conditions(statistic, targets, options, 0, "bootstrap_conditions");
}

/// \brief The paper's "bootstrap" error bars: every sample keeps `keep` of the n conditions,
/// drawn without replacement (Dwivedi et al. used 45 of 50, int(0.9 n)), and refits the
/// statistic on their pairs. The paper's error bar is standard_error (the sample standard
/// deviation, n − 1). Subsamples of a smaller stimulus set estimate the spread of a different
/// quantity than bootstrap_conditions does: this exists to reproduce the paper.
template <resampling_statistic Statistic, typename Derived>
requires std::floating_point<typename Derived::Scalar>
[[nodiscard]] bootstrap_result subsample_conditions(const Statistic& statistic,
                                                    const Eigen::MatrixBase<Derived>& targets,
                                                    index_t keep, bootstrap_options options = {}) {
  return detail::resample_conditions(statistic, targets, options, keep, "subsample_conditions");
}

/// \brief Differences of D models from a bootstrap whose columns are d + D·t: column a·D + b +
/// D²·t holds model a minus model b on target t (the diagonal is zero), with the same samples,
/// summarised at the same level.
[[nodiscard]] inline bootstrap_result bootstrap_differences(const bootstrap_result& r,
                                                            index_t models) {
  const index_t tests = r.distribution.cols();
  if (models < 1 || tests % models != 0 || r.estimate.size() != tests)
    detail::throw_invalid_argument(
        "bootstrap_differences",
        detail::concat("expected a bootstrap of a multiple of ", models, " columns, got ", tests));
  const index_t count = tests / models, samples = r.distribution.rows();
  bootstrap_result d;
  d.estimate.resize(models * models * count);
  d.distribution.resize(samples, models * models * count);
  for (index_t t = 0; t < count; ++t)
    for (index_t a = 0; a < models; ++a)
      for (index_t b = 0; b < models; ++b) {
        const index_t to = a * models + b + models * models * t;
        d.estimate[to] = r.estimate[a + models * t] - r.estimate[b + models * t];
        d.distribution.col(to) =
            r.distribution.col(a + models * t) - r.distribution.col(b + models * t);
      }
  detail::summarise(d, r.level);
  return d;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_BOOTSTRAP_HPP
