#ifndef DNN2BRAIN_STATS_NOISE_CEILING_HPP
#define DNN2BRAIN_STATS_NOISE_CEILING_HPP

#include <cmath>
#include <concepts>
#include <span>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/compare/cosine.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>

namespace dnn2brain {

/// What each subject RDM becomes before the subjects' RDMs are averaged into the reference RDM.
enum class rdm_pooling {
  /// The measure's own convention, Measure::pool(): average ranks for spearman and Kendall's taus,
  /// z-scores for pearson, unit RMS for cosine, so that the mean is the best model for the measure
  /// (Nili et al. 2014; rsatoolbox).
  by_measure,
  /// None: the plain mean of the RDMs (Net2Brain; Dwivedi et al. 2021).
  raw_mean,
};

/// How noise_ceiling() pools and reports.
struct noise_ceiling_options {
  rdm_pooling pooling = rdm_pooling::by_measure;
  /// Report squared correlations: each subject's r² against the reference, averaged over subjects
  /// (Net2Brain's R² ceilings, on the scale of a squared-correlation or R² model score). The sign
  /// is lost: a subject anti-correlated with the others counts as similar.
  bool squared = false;
};

/// Noise ceiling of one region: the bounds averaged over subjects, and per subject.
struct noise_ceiling_result {
  double lower = 0.0;  ///< mean over subjects of each subject against the mean of the others
  double upper = 0.0;  ///< mean over subjects of each subject against the mean of all
  Eigen::VectorXd lower_per_subject, upper_per_subject;  ///< r (or r² when squared) per subject
};

/// Noise ceilings of many targets (searchlights): one lower and one upper bound per target.
struct noise_ceilings {
  Eigen::VectorXd lower, upper;
};

namespace detail {

// A measure that declares how subject RDMs are pooled for it (pearson, spearman, ... and any
// measure derived from them).
template <typename M>
concept pooling_measure = requires(const M& m, Eigen::Ref<Eigen::VectorXd> v) {
  m.pool(v);
};

template <typename Measure>
void check_pooling(const noise_ceiling_options& options) {
  if constexpr (!pooling_measure<Measure>)
    if (options.pooling == rdm_pooling::by_measure)
      throw_invalid_argument(
          "noise_ceiling",
          concat("expected a measure with a pooling convention (a pool() member) or "
                 "rdm_pooling::raw_mean, got rdm_pooling::by_measure with measure ",
                 Measure::name));
}

// Sum of v in index order, as numpy sums along an outer axis.
inline double sum_in_order(const Eigen::VectorXd& v) {
  double total = 0.0;
  for (index_t k = 0; k < v.size(); ++k) total += v[k];
  return total;
}

// Both bounds for the pairs × subjects data of one region (subject s in column s).
template <typename Measure>
void ceiling_of(const Measure& measure, const noise_ceiling_options& options,
                const Eigen::MatrixXd& subjects, Eigen::Ref<Eigen::VectorXd> lower,
                Eigen::Ref<Eigen::VectorXd> upper, Eigen::MatrixXd& pooled,
                Eigen::VectorXd& total) {
  const index_t count = subjects.cols();
  const Eigen::MatrixXd* averaged = &subjects;
  if constexpr (pooling_measure<Measure>)
    if (options.pooling == rdm_pooling::by_measure) {
      pooled = subjects;
      for (index_t s = 0; s < count; ++s) measure.pool(pooled.col(s));
      averaged = &pooled;
    }
  // Subjects summed in order (numpy's order for a mean over its first axis); the mean of the
  // others is the total less the subject, whose rounding (a few ulps of the mean) could only
  // reorder entries of the mean that are that close.
  total = averaged->col(0);
  for (index_t s = 1; s < count; ++s) total += averaged->col(s);
  Eigen::VectorXd subject, reference;
  for (index_t s = 0; s < count; ++s) {
    subject = subjects.col(s);
    reference = total / static_cast<double>(count);
    upper[s] = detail::prepare(measure, reference)(subject);
    reference = (total - averaged->col(s)) / static_cast<double>(count - 1);
    lower[s] = detail::prepare(measure, reference)(subject);
  }
  if (options.squared) {
    lower = lower.cwiseAbs2();
    upper = upper.cwiseAbs2();
  }
}

// subject < 0: the stack of one region, RDM t is subject t; else subject's RDMs of many targets.
template <typename S>
void check_subject_stack(const rdm_stack<S>& stack, index_t subject, const char* function) {
  require_finite(stack.values(), function, "RDM entries", [subject](index_t k, index_t t) {
    return subject < 0 ? concat("pair ", k, " of RDM ", t, " (subject ", t, ")")
                       : concat("pair ", k, " of RDM ", t, " of subject ", subject);
  });
}

}  // namespace detail

/// \brief Noise ceiling of a region (Nili et al. 2014) from its subject RDMs, one per column of
/// subjects.
///
/// With P(R) what a subject RDM becomes before averaging (see rdm_pooling) and S subjects:
///   upper = (1/S) Σ_s measure(R_s, mean_t P(R_t)),
///   lower = (1/S) Σ_s measure(R_s, mean_{t≠s} P(R_t)),
/// each term squared first when options.squared. O(S·m) plus 2S comparisons. The defaults are
/// rsatoolbox's; Net2Brain's R² ceilings are `{.pooling = rdm_pooling::raw_mean, .squared = true}`
/// with measure::spearman. \param measure the comparison measure, used as passed (a measure with
/// parameters keeps them). \throws invalid_argument for fewer than 2 subjects, non-finite entries,
/// or rdm_pooling::by_measure with a measure that has no pool().
template <rdm_measure Measure, std::floating_point S>
[[nodiscard]] noise_ceiling_result noise_ceiling(const rdm_stack<S>& subjects,
                                                 const Measure& measure = {},
                                                 const noise_ceiling_options& options = {}) {
  if (subjects.size() < 2)
    detail::throw_invalid_argument(
        "noise_ceiling",
        detail::concat("expected RDMs of at least 2 subjects, got ", subjects.size()));
  detail::check_pooling<Measure>(options);
  detail::check_subject_stack(subjects, -1, "noise_ceiling");
  noise_ceiling_result r;
  r.lower_per_subject.resize(subjects.size());
  r.upper_per_subject.resize(subjects.size());
  Eigen::MatrixXd pooled;
  Eigen::VectorXd total;
  detail::ceiling_of(measure, options, subjects.values().template cast<double>(),
                     r.lower_per_subject, r.upper_per_subject, pooled, total);
  const auto count = static_cast<double>(subjects.size());
  r.lower = detail::sum_in_order(r.lower_per_subject) / count;
  r.upper = detail::sum_in_order(r.upper_per_subject) / count;
  return r;
}

/// \brief Noise ceilings of many targets (searchlights): subjects[s] holds subject s's RDMs, one
/// per target (pairs × targets, the same shape for every subject); each target's bounds are those
/// of the region form. Parallel over targets; the result does not depend on the thread count.
/// \throws invalid_argument for fewer than 2 subjects, differing shapes, non-finite entries, or
/// rdm_pooling::by_measure with a measure that has no pool().
template <rdm_measure Measure, std::floating_point S>
[[nodiscard]] noise_ceilings noise_ceiling(std::span<const rdm_stack<S>> subjects,
                                           const Measure& measure = {},
                                           const noise_ceiling_options& options = {}) {
  const auto count = static_cast<index_t>(subjects.size());
  if (count < 2)
    detail::throw_invalid_argument(
        "noise_ceiling", detail::concat("expected RDM stacks of at least 2 subjects, got ", count));
  detail::check_pooling<Measure>(options);
  const index_t pairs = subjects.front().pairs(), targets = subjects.front().size();
  for (index_t s = 0; s < count; ++s) {
    const auto& stack = subjects[static_cast<std::size_t>(s)];
    if (stack.pairs() != pairs || stack.size() != targets)
      detail::throw_invalid_argument(
          "noise_ceiling",
          detail::concat("expected every subject with ", pairs, " pairs × ", targets,
                         " targets, got ", stack.pairs(), " × ", stack.size(), " for subject ", s));
    detail::check_subject_stack(stack, s, "noise_ceiling");
  }
  noise_ceilings r{Eigen::VectorXd(targets), Eigen::VectorXd(targets)};
  detail::parallel_error errors;
  DNN2BRAIN_OMP(parallel if (targets * pairs * count > (index_t(1) << 18)))
  {
    Eigen::MatrixXd data(pairs, count), pooled;
    Eigen::VectorXd lower(count), upper(count), total;
    DNN2BRAIN_OMP(for schedule(dynamic, 16))
    for (index_t t = 0; t < targets; ++t) {
      errors.run(t, [&] {
        for (index_t s = 0; s < count; ++s)
          data.col(s) = subjects[static_cast<std::size_t>(s)].column(t).template cast<double>();
        detail::ceiling_of(measure, options, data, lower, upper, pooled, total);
        r.lower[t] = detail::sum_in_order(lower) / static_cast<double>(count);
        r.upper[t] = detail::sum_in_order(upper) / static_cast<double>(count);
      });
    }
  }
  errors.rethrow();
  return r;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_NOISE_CEILING_HPP
