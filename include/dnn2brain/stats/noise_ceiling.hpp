#ifndef DNN2BRAIN_STATS_NOISE_CEILING_HPP
#define DNN2BRAIN_STATS_NOISE_CEILING_HPP

#include <cmath>
#include <concepts>
#include <span>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/compare/cosine.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/detail/ranks.hpp>

namespace dnn2brain {

/// Noise ceiling of one region: the bounds averaged over subjects, and per subject.
struct noise_ceiling_result {
  double lower = 0.0;  ///< mean over subjects of each subject against the mean of the others
  double upper = 0.0;  ///< mean over subjects of each subject against the mean of all
  Eigen::VectorXd lower_per_subject, upper_per_subject;
};

/// Noise ceilings of many targets (searchlights): one lower and one upper bound per target.
struct noise_ceilings {
  Eigen::VectorXd lower, upper;
};

namespace detail {

// What a subject RDM becomes before RDMs are averaged, so that the mean is the best model for
// the measure (Nili et al. 2014; rsatoolbox's pool_rdm): ranks for rank correlations, z-scores
// for Pearson, unit root-mean-square for cosine.
template <typename Measure>
void pool_transform(Eigen::VectorXd& v, std::vector<Eigen::Index>& order) {
  if constexpr (std::is_same_v<Measure, measure::spearman> ||
                std::is_same_v<Measure, measure::kendall_tau_a> ||
                std::is_same_v<Measure, measure::kendall_tau_b>) {
    const Eigen::VectorXd values = v;
    average_ranks(values, v, order);
  } else if constexpr (std::is_same_v<Measure, measure::pearson>) {
    v.array() -= v.mean();
    const double sd = std::sqrt(v.squaredNorm() / static_cast<double>(v.size()));
    if (sd > 0.0) v /= sd;
  } else if constexpr (std::is_same_v<Measure, measure::cosine>) {
    const double rms = std::sqrt(v.squaredNorm() / static_cast<double>(v.size()));
    if (rms > 0.0) v /= rms;
  }
}

// Both bounds for the subjects × pairs data of one region (subject s in column s).
template <typename Measure>
void ceiling_of(const Eigen::MatrixXd& subjects, Eigen::Ref<Eigen::VectorXd> lower,
                Eigen::Ref<Eigen::VectorXd> upper, Eigen::MatrixXd& pooled,
                std::vector<Eigen::Index>& order) {
  const index_t count = subjects.cols();
  pooled = subjects;
  for (index_t s = 0; s < count; ++s) {
    Eigen::VectorXd v = pooled.col(s);
    pool_transform<Measure>(v, order);
    pooled.col(s) = v;
  }
  const Eigen::VectorXd total = pooled.rowwise().sum();
  for (index_t s = 0; s < count; ++s) {
    const Eigen::VectorXd subject = subjects.col(s);
    const Eigen::VectorXd all = total / static_cast<double>(count);
    const Eigen::VectorXd others = (total - pooled.col(s)) / static_cast<double>(count - 1);
    upper[s] = typename Measure::prepared(all)(subject);
    lower[s] = typename Measure::prepared(others)(subject);
  }
}

template <typename S>
void check_subject_stack(const rdm_stack<S>& stack, index_t subject, const char* function) {
  if (!stack.values().allFinite())
    for (index_t k = 0; k < stack.pairs(); ++k)
      for (index_t t = 0; t < stack.size(); ++t)
        if (!std::isfinite(static_cast<double>(stack.values()(k, t))))
          throw_invalid_argument(
              function,
              concat("expected finite RDM entries, got ", static_cast<double>(stack.values()(k, t)),
                     " at pair ", k, " of RDM ", t, " of subject ", subject));
}

}  // namespace detail

/// \brief Noise ceiling of a region (Nili et al. 2014) from its subject RDMs, one per column of
/// subjects: the upper bound compares each subject with the mean RDM of all subjects, the lower
/// bound with the mean of the others; both averaged over subjects. Before averaging, RDMs are
/// ranked (spearman, kendall_tau_a/b), z-scored (pearson) or scaled to unit RMS (cosine), as
/// rsatoolbox does. \throws invalid_argument for fewer than 2 subjects or non-finite entries.
template <rdm_measure Measure, std::floating_point S>
[[nodiscard]] noise_ceiling_result noise_ceiling(const rdm_stack<S>& subjects, Measure = {}) {
  if (subjects.size() < 2)
    detail::throw_invalid_argument(
        "noise_ceiling",
        detail::concat("expected RDMs of at least 2 subjects, got ", subjects.size()));
  detail::check_subject_stack(subjects, 0, "noise_ceiling");
  noise_ceiling_result r;
  r.lower_per_subject.resize(subjects.size());
  r.upper_per_subject.resize(subjects.size());
  Eigen::MatrixXd pooled;
  std::vector<Eigen::Index> order;
  detail::ceiling_of<Measure>(subjects.values().template cast<double>(), r.lower_per_subject,
                              r.upper_per_subject, pooled, order);
  r.lower = r.lower_per_subject.mean();
  r.upper = r.upper_per_subject.mean();
  return r;
}

/// \brief Noise ceilings of many targets (searchlights): subjects[s] holds subject s's RDMs, one
/// per target (pairs × targets, the same shape for every subject). Parallel over targets.
/// \throws invalid_argument for fewer than 2 subjects, differing shapes or non-finite entries.
template <rdm_measure Measure, std::floating_point S>
[[nodiscard]] noise_ceilings noise_ceiling(std::span<const rdm_stack<S>> subjects, Measure = {}) {
  const auto count = static_cast<index_t>(subjects.size());
  if (count < 2)
    detail::throw_invalid_argument(
        "noise_ceiling", detail::concat("expected RDM stacks of at least 2 subjects, got ", count));
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
    Eigen::VectorXd lower(count), upper(count);
    std::vector<Eigen::Index> order;
    DNN2BRAIN_OMP(for schedule(dynamic, 16))
    for (index_t t = 0; t < targets; ++t) {
      errors.run(t, [&] {
        for (index_t s = 0; s < count; ++s)
          data.col(s) = subjects[static_cast<std::size_t>(s)].column(t).template cast<double>();
        detail::ceiling_of<Measure>(data, lower, upper, pooled, order);
        r.lower[t] = lower.mean();
        r.upper[t] = upper.mean();
      });
    }
  }
  errors.rethrow();
  return r;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_NOISE_CEILING_HPP
