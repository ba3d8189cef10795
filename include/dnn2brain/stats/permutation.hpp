#ifndef DNN2BRAIN_STATS_PERMUTATION_HPP
#define DNN2BRAIN_STATS_PERMUTATION_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/regression/variance_partitioning.hpp>
#include <dnn2brain/stats/random.hpp>
#include <dnn2brain/stats/statistic.hpp>

namespace dnn2brain {

/// What a permutation reorders.
enum class permutation_scheme {
  /// The condition labels: rows and columns of the target RDM together (exchangeable under the
  /// null of no relation between conditions' patterns and models). The correct test.
  conditions,
  /// The RDM entries independently, as the paper's code does. Entries that share a condition are
  /// dependent, so this null is too narrow and its p-values are anti-conservative; offered only
  /// to reproduce the paper (docs/stats.md).
  pairs,
};

/// Options of permutation_test.
struct permutation_options {
  index_t permutations = 10000;
  std::uint64_t seed = 0;
  permutation_scheme scheme = permutation_scheme::conditions;
  /// Also count the null of every ordered model difference (D² counts per target).
  bool differences = true;
  /// Besag–Clifford sequential stopping: a p-value stops once this many null values have reached
  /// its observed value (10 to 20 is usual); 0 runs every permutation for every target.
  index_t stop_after = 0;
  /// Permuted targets scored together in one call (memory: pairs × this many values per thread).
  index_t batch = 512;
};

/// \brief Results of a permutation test of D models over T targets with N permutations; every
/// p-value is (number of null values ≥ the observed one + 1) / (N + 1), one-sided (a better fit),
/// or under sequential stopping h / L when the h-th such null value came at permutation L.
struct permutation_result {
  Eigen::MatrixXd observed;  ///< D × T scores
  Eigen::MatrixXd p_value;   ///< D × T
  /// (D·D) × T: row a·D + b tests whether model a beats model b by the observed margin
  /// (null of score_a − score_b); the diagonal is NaN. Empty unless options.differences.
  Eigen::MatrixXd p_difference;
  /// T: the best model's score against the null of the best score over models (max statistic
  /// over models, for maps of the winning model).
  Eigen::VectorXd p_best;
  /// D × T, family-wise over targets: against the null of the maximum over targets, per model.
  /// Empty under sequential stopping (stopped targets leave the maximum).
  Eigen::MatrixXd p_fwe;
  /// N × D: the maximum over targets of every permutation's scores (the FWE null); empty under
  /// sequential stopping.
  Eigen::MatrixXd max_null;
  /// D × T: the permutations behind each p_value (N unless it stopped early).
  Eigen::Matrix<index_t, Eigen::Dynamic, Eigen::Dynamic> evaluated;
  index_t permutations = 0;
};

namespace detail {

// Writes the source pair of every pair under permutation number `sample` into sources (pairs
// entries). labels and offsets are scratch; no allocation once they have their size.
inline void permuted_pairs(index_t conditions, permutation_scheme scheme, std::uint64_t seed,
                           std::uint64_t sample, std::vector<index_t>& labels,
                           std::vector<index_t>& offsets, std::span<index_t> sources) {
  if (scheme == permutation_scheme::pairs) {
    random_permutation(seed, sample, sources);
    return;
  }
  // Pair (a, b), a < b, sits at offsets[a] + b in pdist order.
  if (static_cast<index_t>(offsets.size()) != conditions) {
    offsets.resize(static_cast<std::size_t>(conditions));
    for (index_t a = 0; a < conditions; ++a)
      offsets[static_cast<std::size_t>(a)] = condensed_index(conditions, a, a + 1) - (a + 1);
  }
  labels.resize(static_cast<std::size_t>(conditions));
  random_permutation(seed, sample, labels);
  std::size_t k = 0;
  for (index_t i = 0; i + 1 < conditions; ++i) {
    const index_t a = labels[static_cast<std::size_t>(i)];
    for (index_t j = i + 1; j < conditions; ++j) {
      const index_t b = labels[static_cast<std::size_t>(j)];
      sources[k++] = a < b ? offsets[static_cast<std::size_t>(a)] + b
                           : offsets[static_cast<std::size_t>(b)] + a;
    }
  }
}

}  // namespace detail

namespace detail {

// Targets at least this many are tested by moving each permutation onto the models (R² of y[π]
// on X equals R² of y on X[π⁻¹]): one gathered statistic per permutation (per 8 for a
// stacking_statistic) instead of a gather of every target. Fixed, so that a target's result
// depends on the target count only.
inline constexpr index_t relabel_models_from = 1024;

// Permuted-targets path: the null scores of one round of permutations are held at once,
// D × (round × targets) doubles.
inline constexpr index_t null_budget = index_t(1) << 22;

// Scores of one slice of targets on the relabelled-models path: 2 MiB of doubles.
inline constexpr index_t slice_budget = index_t(1) << 18;

// Permutations scored per pass over the targets on the relabelled-models path (for a
// stacking_statistic).
inline constexpr index_t stacked_permutations = 8;

template <typename Scalar>
using target_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

// y: the targets, read in place when they are column-major with unit inner stride.
template <typename Statistic, typename Scalar>
permutation_result permutation_engine(
    const Statistic& statistic,
    const Eigen::Ref<const target_matrix<Scalar>, 0, Eigen::OuterStride<>>& y,
    const permutation_options& options) {
  using matrix = target_matrix<Scalar>;
  constexpr const char* function = "permutation_test";
  const index_t m = y.rows(), count = y.cols(), models = statistic.size();
  const index_t n = condensed_conditions(m);
  if (n < 4)
    throw_invalid_argument(function, concat("expected target RDMs of at least 4 conditions (6 "
                                            "pairs), got ",
                                            m, " pairs"));
  if (m != statistic.pairs())
    throw_invalid_argument(function, concat("expected targets over the models' ", statistic.pairs(),
                                            " pairs, got ", m, " pairs"));
  if (options.permutations < 1 || options.batch < 1 || options.stop_after < 0)
    throw_invalid_argument(
        function, concat("expected at least 1 permutation, a batch of at least 1 and stop_after "
                         ">= 0, got ",
                         options.permutations, ", ", options.batch, " and ", options.stop_after));
  const index_t permutations = options.permutations, h = options.stop_after;
  const bool sequential = h > 0, differences = options.differences;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const auto best_of = [](const auto& scores) {  // NaN-ignoring maximum; NaN if all are NaN
    double best = nan;
    for (const double v : scores)
      if (v > best || std::isnan(best)) best = v;
    return best;
  };

  permutation_result result;
  result.permutations = permutations;
  using view = Eigen::Map<const matrix, 0, Eigen::OuterStride<>>;
  const view all(y.data(), m, count, Eigen::OuterStride<>(y.outerStride()));
  result.observed = statistic(all);
  // Tracked per target: rows [0, D) the scores, then D² ordered differences a·D + b, then the
  // best score.
  const index_t tracked = models + (differences ? models * models : 0) + 1;
  Eigen::MatrixXd observed(tracked, count);
  for (index_t t = 0; t < count; ++t) {
    const auto o = result.observed.col(t);
    observed.col(t).head(models) = o;
    if (differences)
      for (index_t a = 0; a < models; ++a)
        for (index_t b = 0; b < models; ++b) observed(models + a * models + b, t) = o[a] - o[b];
    observed(tracked - 1, t) = best_of(o);
  }
  using counts = Eigen::Matrix<index_t, Eigen::Dynamic, Eigen::Dynamic>;
  // stopped(s, t): the permutation that stopped a p-value, 0 while open (sequential only).
  counts exceed = counts::Zero(tracked, count);
  counts stopped = counts::Zero(sequential ? tracked : 0, sequential ? count : 0);
  const auto stop_of = [&](index_t s, index_t t) { return sequential ? stopped(s, t) : 0; };
  if (!sequential)
    result.max_null.setConstant(permutations, models, -std::numeric_limits<double>::infinity());

  const bool relabel = count >= relabel_models_from;
  // Relabelled models of several permutations side by side when the statistic can stack them:
  // one pass over the targets then serves them all.
  constexpr bool stacks = stacking_statistic<Statistic>;
  const index_t per_pass = stacks ? stacked_permutations : 1;
  std::vector<index_t> active(static_cast<std::size_t>(count));
  std::iota(active.begin(), active.end(), index_t(0));
  matrix kept;  // the active targets' columns, once sequential stopping has dropped some
  bool dropped = false;

  // Tallies the null scores of permutations [first, first + size) of the live targets
  // [j0, j0 + width): the D scores of permutation first + q of live target j0 + j start at
  // scores + q·q_stride + j·j_stride. Each target's permutations are counted in order, so that a
  // sequential stop knows its permutation exactly. (Not a generic lambda: clang 14 rejects the
  // nested lambda's captures inside the OpenMP region of an instantiated one.)
  index_t first = 0;
  const auto tally_nulls = [&](index_t size, index_t j0, index_t width, const double* scores,
                               index_t q_stride, index_t j_stride) {
    const auto null = [=](index_t q, index_t j) { return scores + q * q_stride + j * j_stride; };
    DNN2BRAIN_OMP(parallel for schedule(static) if (width * size * tracked > (index_t(1) << 16)))
    for (index_t j = 0; j < width; ++j) {
      const index_t t = active[static_cast<std::size_t>(j0 + j)];
      const auto tally = [&](index_t s, double value, index_t q) {
        if (stop_of(s, t) == 0 && value >= observed(s, t) && ++exceed(s, t) == h && sequential)
          stopped(s, t) = first + q + 1;
      };
      index_t* const e = exceed.col(t).data();
      const double* const o = observed.col(t).data();
      // A local bound: the counts written through e could otherwise alias a captured one, and
      // the loops would not vectorise.
      const index_t size_d = models;
      for (index_t q = 0; q < size; ++q) {
        const double* const v = null(q, j);
        if (sequential) {
          for (index_t d = 0; d < size_d; ++d) tally(d, v[d], q);
          if (differences)
            for (index_t a = 0; a < size_d; ++a)
              for (index_t b = 0; b < size_d; ++b) tally(size_d + a * size_d + b, v[a] - v[b], q);
        } else {  // branch-free, vectorised over b
          for (index_t d = 0; d < size_d; ++d) e[d] += v[d] >= o[d];
          if (differences)
            for (index_t a = 0; a < size_d; ++a) {
              index_t* const ea = e + size_d + a * size_d;
              const double* const oa = o + size_d + a * size_d;
              for (index_t b = 0; b < size_d; ++b) ea[b] += v[a] - v[b] >= oa[b];
            }
        }
        tally(tracked - 1, best_of(std::span(v, static_cast<std::size_t>(size_d))), q);
      }
    }
    if (sequential) return;
    std::vector<double> top(static_cast<std::size_t>(models));  // a contiguous copy of the row
    for (index_t q = 0; q < size; ++q) {
      for (index_t d = 0; d < models; ++d)
        top[static_cast<std::size_t>(d)] = result.max_null(first + q, d);
      for (index_t j = 0; j < width; ++j) {
        const double* const v = null(q, j);
        for (std::size_t d = 0; d < top.size(); ++d) top[d] = std::max(top[d], v[d]);
      }  // std::max keeps the first argument against NaN, so NaN never wins
      for (index_t d = 0; d < models; ++d)
        result.max_null(first + q, d) = top[static_cast<std::size_t>(d)];
    }
  };

  Eigen::MatrixXd nulls;  // permutation q of the round: columns [q·live, (q + 1)·live)
  parallel_error errors;
  while (first < permutations && !active.empty()) {
    const view targets = dropped ? view(kept.data(), m, kept.cols(), Eigen::OuterStride<>(m)) : all;
    const index_t live = targets.cols();
    // Batches of `per` permutations of `chunk` targets when the targets are permuted.
    const index_t chunk = std::min(live, options.batch);
    const index_t per = std::max<index_t>(1, options.batch / chunk);
    index_t round = per_pass;  // permutations of this round
    if (!relabel) {
      round = std::max<index_t>(1, null_budget / (models * live)) / per * per;
      round = std::max(per, sequential ? std::min(round, 8 * per) : round);  // stop soon
    }
    round = std::min(round, permutations - first);

    if (relabel) {
      // One pass over the targets scores the round's permutations, moved onto the models, and
      // counts them slice by slice: the scores of a slice (and the fit's temporaries) are small
      // enough to be reused from the heap instead of mapped afresh.
      std::vector<index_t> sources(static_cast<std::size_t>(m)), labels, offsets;
      std::vector<std::vector<index_t>> inverses(static_cast<std::size_t>(round),
                                                 std::vector<index_t>(sources.size()));
      for (index_t q = 0; q < round; ++q) {
        permuted_pairs(n, options.scheme, options.seed, static_cast<std::uint64_t>(first + q),
                       labels, offsets, sources);
        auto& inverse = inverses[static_cast<std::size_t>(q)];
        for (index_t k = 0; k < m; ++k) inverse[static_cast<std::size_t>(sources[k])] = k;
      }
      Statistic permuted = [&] {
        if constexpr (stacks)
          return statistic.gathered_each(inverses);
        else
          return statistic.gathered(inverses.front());
      }();
      const index_t slice = std::max<index_t>(64, slice_budget / (round * models));
      for (index_t j0 = 0; j0 < live; j0 += slice) {
        const index_t width = std::min(slice, live - j0);
        // Column j holds the scores of permutation q in rows [q·D, (q + 1)·D).
        const Eigen::MatrixXd scores = permuted(targets.middleCols(j0, width));
        if (scores.rows() != round * models || scores.cols() != width)
          throw_invalid_argument(
              function, concat("expected the gathered statistic to give ", round * models, " x ",
                               width, " scores, got ", scores.rows(), " x ", scores.cols()));
        tally_nulls(round, j0, width, scores.data(), models, scores.outerStride());
      }
    } else {
      nulls.resize(models, round * live);
      const index_t batches = (round + per - 1) / per;
      DNN2BRAIN_OMP(parallel if (batches > 1))
      {
        matrix permuted;
        std::vector<index_t> maps, labels, offsets;  // maps: per × m source pairs
        DNN2BRAIN_OMP(for schedule(dynamic, 1))
        for (index_t b = 0; b < batches; ++b) {
          errors.run(b, [&] {
            const index_t at = b * per, size = std::min(per, round - at);
            maps.resize(static_cast<std::size_t>(per * m));
            for (index_t q = 0; q < size; ++q)
              permuted_pairs(n, options.scheme, options.seed,
                             static_cast<std::uint64_t>(first + at + q), labels, offsets,
                             std::span(maps).subspan(static_cast<std::size_t>(q * m),
                                                     static_cast<std::size_t>(m)));
            for (index_t t0 = 0; t0 < live; t0 += chunk) {
              const index_t width = std::min(chunk, live - t0);
              permuted.resize(m, size * width);
              for (index_t q = 0; q < size; ++q)
                for (index_t t = 0; t < width; ++t)
                  for (index_t k = 0; k < m; ++k)
                    permuted(k, q * width + t) =
                        targets(maps[static_cast<std::size_t>(q * m + k)], t0 + t);
              const Eigen::MatrixXd scores = statistic(permuted);
              for (index_t q = 0; q < size; ++q)
                nulls.middleCols((at + q) * live + t0, width) = scores.middleCols(q * width, width);
            }
          });
        }
      }
      errors.rethrow();
      tally_nulls(round, 0, live, nulls.data(), live * models, models);
    }
    first += round;

    if (sequential) {  // drop targets whose every p-value has stopped (or is undefined)
      std::vector<index_t> still;
      for (const index_t t : active) {
        bool open = false;
        for (index_t s = 0; s < tracked && !open; ++s)
          open = stopped(s, t) == 0 && !std::isnan(observed(s, t));
        if (open) still.push_back(t);
      }
      // Copying the targets left costs a pass over them: worth it once an eighth has stopped.
      if (still.size() <= active.size() - (active.size() + 7) / 8) {
        active = std::move(still);
        kept.resize(m, static_cast<index_t>(active.size()));
        for (index_t j = 0; j < kept.cols(); ++j)
          kept.col(j) = y.col(active[static_cast<std::size_t>(j)]);
        dropped = true;
      }
    }
  }

  const double denominator = static_cast<double>(permutations) + 1.0;
  const auto p_of = [&](index_t s, index_t t) {
    if (std::isnan(observed(s, t))) return nan;
    if (stop_of(s, t) > 0) return static_cast<double>(h) / static_cast<double>(stopped(s, t));
    return (static_cast<double>(exceed(s, t)) + 1.0) / denominator;
  };
  result.p_value.resize(models, count);
  result.evaluated.resize(models, count);
  result.p_best.resize(count);
  if (differences) result.p_difference.resize(models * models, count);
  for (index_t t = 0; t < count; ++t) {
    for (index_t d = 0; d < models; ++d) {
      result.p_value(d, t) = p_of(d, t);
      result.evaluated(d, t) = stop_of(d, t) > 0 ? stopped(d, t) : permutations;
    }
    if (differences)
      for (index_t a = 0; a < models; ++a)
        for (index_t b = 0; b < models; ++b)
          result.p_difference(a * models + b, t) = a == b ? nan : p_of(models + a * models + b, t);
    result.p_best[t] = p_of(tracked - 1, t);
  }
  if (sequential) return result;
  // Family-wise over targets: the rank of each observed score among the sorted maxima.
  result.p_fwe.resize(models, count);
  std::vector<double> sorted(static_cast<std::size_t>(permutations));
  for (index_t d = 0; d < models; ++d) {
    for (index_t q = 0; q < permutations; ++q)
      sorted[static_cast<std::size_t>(q)] = result.max_null(q, d);
    std::sort(sorted.begin(), sorted.end());
    for (index_t t = 0; t < count; ++t) {
      const double o = result.observed(d, t);
      const auto at_least = sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), o);
      result.p_fwe(d, t) =
          std::isnan(o) ? nan : (static_cast<double>(at_least) + 1.0) / denominator;
    }
  }
  return result;
}

}  // namespace detail

/// \brief Permutation test of every model of a statistic (regression_statistic,
/// partition_statistic, correlation_statistic) on every target: m × T condensed RDMs.
///
/// Permutation b reorders the conditions of every target (a gather through an index map drawn
/// from random_stream(seed, b)) while the models stay fixed; with many targets (at least 1024)
/// the permutation is moved onto the models instead, which scores the same statistic. One pass
/// gives, for every target and model, the null count of its score, the null counts of every
/// pairwise model difference, of the best score over models, and the maximum over targets for
/// family-wise error. Counts are integers and every permutation is a function of (seed, b), so
/// results are bit-identical for any thread count and batch size.
///
/// Under sequential stopping (options.stop_after = h > 0, Besag & Clifford 1991) each p-value
/// stops at the permutation L that brings its h-th null value ≥ the observed one and is h / L,
/// or (count + 1)/(N + 1) if that never happens: a valid p-value, exactly as reported; a target
/// leaves the computation when all its p-values have stopped.
///
/// Undefined scores (a constant target) have NaN p-values. \throws invalid_argument for fewer
/// than 4 conditions, targets not over the models' pairs, no permutations or a negative
/// stop_after.
template <resampling_statistic Statistic, typename Derived>
requires std::floating_point<typename Derived::Scalar>
[[nodiscard]] permutation_result permutation_test(const Statistic& statistic,
                                                  const Eigen::MatrixBase<Derived>& targets,
                                                  permutation_options options = {}) {
  using Scalar = typename Derived::Scalar;
  const Eigen::Ref<const detail::target_matrix<Scalar>, 0, Eigen::OuterStride<>> y(
      targets.derived());
  return detail::permutation_engine<Statistic, Scalar>(statistic, y, options);
}

/// Permutation test of the adjusted R² of every design of a set.
template <std::floating_point Scalar, typename Derived>
[[nodiscard]] permutation_result permutation_test(const design_set<Scalar>& models,
                                                  const Eigen::MatrixBase<Derived>& targets,
                                                  permutation_options options = {}) {
  return permutation_test(regression_statistic<Scalar>(models), targets, options);
}

/// Permutation test of the adjusted variance-partitioning fractions of every subset of groups.
template <std::floating_point Scalar, typename Derived>
[[nodiscard]] permutation_result permutation_test(const variance_partitioning<Scalar>& partitioning,
                                                  const Eigen::MatrixBase<Derived>& targets,
                                                  permutation_options options = {}) {
  return permutation_test(partition_statistic<Scalar>(partitioning), targets, options);
}

/// Permutation test on a stack of target RDMs.
template <typename Models, std::floating_point S>
[[nodiscard]] permutation_result permutation_test(const Models& models, const rdm_stack<S>& targets,
                                                  permutation_options options = {}) {
  return permutation_test(models, targets.values(), options);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_PERMUTATION_HPP
