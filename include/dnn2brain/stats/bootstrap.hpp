#ifndef DNN2BRAIN_STATS_BOOTSTRAP_HPP
#define DNN2BRAIN_STATS_BOOTSTRAP_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/stats/random.hpp>

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
};

namespace detail {

// Standard error and percentile interval of every column of a samples × T distribution.
inline void summarise(bootstrap_result& r, double level) {
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

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_BOOTSTRAP_HPP
