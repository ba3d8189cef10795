#ifndef DNN2BRAIN_STATS_PERMUTATION_HPP
#define DNN2BRAIN_STATS_PERMUTATION_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/rdm/condition_map.hpp>
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

/// How a permutation test applies each permutation; the p-values are the same either way (up to
/// the rounding of the scores: R² of y[π] on X equals R² of y on X[π⁻¹]).
enum class permutation_strategy {
  /// relabel_models from 1024 targets on, permute_targets below. Fixed by the target count, so a
  /// target's result depends on the count only; pin a strategy to make chunked runs equal a whole
  /// run bit for bit (permutation_result::append).
  automatic,
  /// Gather every target through the permutation and score the gathered targets.
  permute_targets,
  /// Move the permutation onto the models (gathered through its inverse) and score the targets
  /// as they are: one gathered statistic per permutation (per 8 for a stacking_statistic), read
  /// the targets in place.
  relabel_models,
};

/// Options of permutation_test.
struct permutation_options {
  index_t permutations = 10000;
  std::uint64_t seed = 0;
  permutation_scheme scheme = permutation_scheme::conditions;
  /// Also count the null of every ordered model difference (D² counts per target).
  bool differences = true;
  /// Also count the null of the best model's margin over the runner-up (one count per target,
  /// for maps with many targets where D² differences cost too much).
  bool runner_up = false;
  /// Besag–Clifford sequential stopping: a p-value stops once this many null values have reached
  /// its observed value (10 to 20 is usual); 0 runs every permutation for every target.
  index_t stop_after = 0;
  /// Permuted targets scored together in one call (memory: pairs × this many values per thread).
  index_t batch = 512;
  permutation_strategy strategy = permutation_strategy::automatic;
};

/// \brief Results of a permutation test of D models over T targets with N permutations; every
/// p-value is (number of null values ≥ the observed one + 1) / (N + 1), one-sided (a better fit),
/// or under sequential stopping h / L when the h-th such null value came at permutation L.
struct permutation_result {
  Eigen::MatrixXd observed;  ///< D × T scores
  Eigen::MatrixXd p_value;   ///< D × T
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
  /// (D·D) × T, row a·D + b: the p-values of p_difference(a, b). Empty unless
  /// permutation_options::differences.
  Eigen::MatrixXd p_differences;
  /// T: the margin of the best score over the second best against the null of the same margin
  /// on every permutation (best and second best chosen again on each, as the data chose them):
  /// a test of the margin against label exchangeability, not of the two models' equality,
  /// which a label permutation cannot test (docs/stats.md). NaN with fewer than 2 defined
  /// scores. Empty unless permutation_options::runner_up.
  Eigen::VectorXd p_runner_up;

  [[nodiscard]] index_t models() const noexcept { return observed.rows(); }
  [[nodiscard]] index_t targets() const noexcept { return observed.cols(); }

  /// 1 × T: whether model a beats model b by the observed margin (null of score_a − score_b);
  /// NaN for a = b. \throws invalid_argument without differences or for a model out of range.
  [[nodiscard]] Eigen::RowVectorXd p_difference(index_t a, index_t b) const {
    const index_t d = models();
    if (p_differences.rows() != d * d || a < 0 || b < 0 || a >= d || b >= d)
      detail::throw_invalid_argument(
          "permutation_result::p_difference",
          detail::concat("expected models in [0, ", d, ") of a result with differences, got ", a,
                         " and ", b, p_differences.rows() == d * d ? "" : " without differences"));
    return p_differences.row(a * d + b);
  }

  /// \brief Appends the targets of another chunk tested with the same models, permutations and
  /// options (a whole-brain map run chunk by chunk): the counts of a target do not depend on the
  /// other targets, and the family-wise null is the maximum of the chunks' maxima, so the merged
  /// result equals one run over all targets (bit for bit with a pinned permutation_strategy).
  /// \throws invalid_argument if the chunks' models, permutation counts or outputs differ.
  void append(const permutation_result& chunk) {
    const auto empty = [](const permutation_result& r) {
      return r.observed.size() == 0 && r.max_null.size() == 0 && r.permutations == 0;
    };
    if (empty(chunk)) return;
    if (empty(*this)) {
      *this = chunk;
      return;
    }
    if (chunk.models() != models() || chunk.permutations != permutations ||
        chunk.p_differences.rows() != p_differences.rows() ||
        (chunk.p_runner_up.size() > 0) != (p_runner_up.size() > 0) ||
        chunk.max_null.rows() != max_null.rows())
      detail::throw_invalid_argument(
          "permutation_result::append",
          detail::concat(
              "expected a chunk of the same ", models(), " models, ", permutations,
              " permutations and outputs, got ", chunk.models(), " models and ", chunk.permutations,
              " permutations",
              chunk.max_null.rows() != max_null.rows() ? " (sequential stopping in one)" : ""));
    const auto join = [](auto& into, const auto& more) {
      std::remove_cvref_t<decltype(into)> joined(into.rows(), into.cols() + more.cols());
      joined << into, more;
      into = std::move(joined);
    };
    join(observed, chunk.observed);
    join(p_value, chunk.p_value);
    join(evaluated, chunk.evaluated);
    if (p_differences.size() + chunk.p_differences.size() > 0)
      join(p_differences, chunk.p_differences);
    const auto join_vector = [](Eigen::VectorXd& into, const Eigen::VectorXd& more) {
      Eigen::VectorXd joined(into.size() + more.size());
      joined << into, more;
      into = std::move(joined);
    };
    join_vector(p_best, chunk.p_best);
    if (p_runner_up.size() > 0) join_vector(p_runner_up, chunk.p_runner_up);
    if (max_null.size() > 0) {
      max_null = max_null.cwiseMax(chunk.max_null);  // -inf where a chunk had no target
      family_wise();
    }
  }

  /// Recomputes p_fwe from observed and max_null: the rank of each observed score among the
  /// maxima over targets of the same model.
  void family_wise() {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    const double denominator = static_cast<double>(permutations) + 1.0;
    p_fwe.resize(models(), targets());
    std::vector<double> sorted(static_cast<std::size_t>(max_null.rows()));
    for (index_t d = 0; d < models(); ++d) {
      for (index_t q = 0; q < max_null.rows(); ++q)
        sorted[static_cast<std::size_t>(q)] = max_null(q, d);
      std::sort(sorted.begin(), sorted.end());
      for (index_t t = 0; t < targets(); ++t) {
        const double o = observed(d, t);
        const auto at_least = sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), o);
        p_fwe(d, t) = std::isnan(o) ? nan : (static_cast<double>(at_least) + 1.0) / denominator;
      }
    }
  }
};

namespace detail {

// Writes the source pair of every pair under permutation number `sample` into sources (pairs
// entries). labels is scratch; no allocation once it has its size.
inline void permuted_pairs(index_t conditions, permutation_scheme scheme, std::uint64_t seed,
                           std::uint64_t sample, std::vector<index_t>& labels,
                           std::span<index_t> sources) {
  if (scheme == permutation_scheme::pairs) {
    random_permutation(seed, sample, sources);
    return;
  }
  labels.resize(static_cast<std::size_t>(conditions));
  random_permutation(seed, sample, labels);
  source_pairs(conditions, labels, repeated_pair::mark, sources);
}

// Fewer targets are tested by permuting them (permutation_strategy::automatic).
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
template <typename Scalar>
using target_view = Eigen::Map<const target_matrix<Scalar>, 0, Eigen::OuterStride<>>;

// The indices of the largest and second-largest non-NaN scores (the first index on ties); −1
// where there are not that many.
[[nodiscard]] inline std::pair<index_t, index_t> top_two(std::span<const double> scores) noexcept {
  index_t first = -1, second = -1;
  for (std::size_t k = 0; k < scores.size(); ++k) {
    const double v = scores[k];
    if (std::isnan(v)) continue;
    const auto d = static_cast<index_t>(k);
    if (first < 0 || v > scores[static_cast<std::size_t>(first)]) {
      second = first;
      first = d;
    } else if (second < 0 || v > scores[static_cast<std::size_t>(second)]) {
      second = d;
    }
  }
  return {first, second};
}

// The largest score minus the second largest (NaN-ignoring); NaN with fewer than 2 scores.
[[nodiscard]] inline double margin_of(std::span<const double> scores) noexcept {
  const auto [first, second] = top_two(scores);
  return second < 0
             ? std::numeric_limits<double>::quiet_NaN()
             : scores[static_cast<std::size_t>(first)] - scores[static_cast<std::size_t>(second)];
}

// NaN-ignoring maximum; NaN if all are NaN.
[[nodiscard]] inline double best_of(std::span<const double> scores) noexcept {
  double best = std::numeric_limits<double>::quiet_NaN();
  for (const double v : scores)
    if (v > best || std::isnan(best)) best = v;
  return best;
}

/// \brief The null accumulator of a permutation test: per target, how many null values reached
/// each observed score (D scores, D² ordered differences, the best score), the permutation that
/// stopped each p-value under sequential stopping, and per permutation the maximum over targets.
/// Strategies hand it the null scores of any permutations of any targets, in permutation order
/// per target; finish() turns the counts into p-values.
class null_counter {
 public:
  null_counter(const Eigen::MatrixXd& observed, const permutation_options& options)
      : m_models(observed.rows()),
        m_best_row(m_models + (options.differences ? m_models * m_models : 0)),
        m_tracked(m_best_row + 1 + (options.runner_up ? 1 : 0)),
        m_stop_after(options.stop_after),
        m_differences(options.differences),
        m_runner_up(options.runner_up),
        m_observed(m_tracked, observed.cols()),
        m_exceed(counts::Zero(m_tracked, observed.cols())),
        m_stopped(counts::Zero(sequential() ? m_tracked : 0, sequential() ? observed.cols() : 0)) {
    for (index_t t = 0; t < observed.cols(); ++t) {
      const auto o = observed.col(t);
      m_observed.col(t).head(m_models) = o;
      if (m_differences)
        for (index_t a = 0; a < m_models; ++a)
          for (index_t b = 0; b < m_models; ++b)
            m_observed(m_models + a * m_models + b, t) = o[a] - o[b];
      m_observed(m_best_row, t) = best_of(std::span(o.data(), static_cast<std::size_t>(m_models)));
      if (m_runner_up)
        m_observed(m_best_row + 1, t) =
            margin_of(std::span(o.data(), static_cast<std::size_t>(m_models)));
    }
    if (!sequential())
      m_max_null.setConstant(options.permutations, m_models,
                             -std::numeric_limits<double>::infinity());
  }

  [[nodiscard]] bool sequential() const noexcept { return m_stop_after > 0; }

  /// Whether target t still has an open p-value (always, without sequential stopping).
  [[nodiscard]] bool open(index_t t) const {
    if (!sequential()) return true;
    for (index_t s = 0; s < m_tracked; ++s)
      if (m_stopped(s, t) == 0 && !std::isnan(m_observed(s, t))) return true;
    return false;
  }

  /// Counts permutations [first, first + size) of the targets ids[j0 + j], j < width: the D
  /// scores of permutation first + q of target ids[j0 + j] start at scores + q·q_stride +
  /// j·j_stride.
  void tally(index_t first, index_t size, std::span<const index_t> ids, index_t j0, index_t width,
             const double* scores, index_t q_stride, index_t j_stride) {
    const auto null = [=](index_t q, index_t j) { return scores + q * q_stride + j * j_stride; };
    const bool seq = sequential(), differences = m_differences, runner_up = m_runner_up;
    const index_t h = m_stop_after, tracked = m_tracked, best_row = m_best_row;
    DNN2BRAIN_OMP(parallel for schedule(static) if (width * size * tracked > (index_t(1) << 16)))
    for (index_t j = 0; j < width; ++j) {
      const index_t t = ids[static_cast<std::size_t>(j0 + j)];
      index_t* const e = m_exceed.col(t).data();
      const double* const o = m_observed.col(t).data();
      const auto tally_one = [&](index_t s, double value, index_t q) {
        if (seq) {
          if (m_stopped(s, t) == 0 && value >= o[s] && ++e[s] == h) m_stopped(s, t) = first + q + 1;
        } else {
          e[s] += value >= o[s];
        }
      };
      // A local bound: the counts written through e could otherwise alias a member, and the
      // loops would not vectorise.
      const index_t size_d = m_models;
      for (index_t q = 0; q < size; ++q) {
        const double* const v = null(q, j);
        if (seq) {
          for (index_t d = 0; d < size_d; ++d) tally_one(d, v[d], q);
          if (differences)
            for (index_t a = 0; a < size_d; ++a)
              for (index_t b = 0; b < size_d; ++b)
                tally_one(size_d + a * size_d + b, v[a] - v[b], q);
        } else {  // branch-free, vectorised over b
          for (index_t d = 0; d < size_d; ++d) e[d] += v[d] >= o[d];
          if (differences)
            for (index_t a = 0; a < size_d; ++a) {
              index_t* const ea = e + size_d + a * size_d;
              const double* const oa = o + size_d + a * size_d;
              for (index_t b = 0; b < size_d; ++b) ea[b] += v[a] - v[b] >= oa[b];
            }
        }
        tally_one(best_row, best_of(std::span(v, static_cast<std::size_t>(size_d))), q);
        if (runner_up) {
          const double margin = margin_of(std::span(v, static_cast<std::size_t>(size_d)));
          if (!std::isnan(margin)) tally_one(best_row + 1, margin, q);
        }
      }
    }
    if (seq) return;
    std::vector<double> top(static_cast<std::size_t>(m_models));  // a contiguous copy of the row
    for (index_t q = 0; q < size; ++q) {
      for (index_t d = 0; d < m_models; ++d)
        top[static_cast<std::size_t>(d)] = m_max_null(first + q, d);
      for (index_t j = 0; j < width; ++j) {
        const double* const v = null(q, j);
        for (std::size_t d = 0; d < top.size(); ++d) top[d] = std::max(top[d], v[d]);
      }  // std::max keeps the first argument against NaN, so NaN never wins
      for (index_t d = 0; d < m_models; ++d)
        m_max_null(first + q, d) = top[static_cast<std::size_t>(d)];
    }
  }

  /// The p-values after `permutations` permutations; observed: the D × T scores.
  [[nodiscard]] permutation_result finish(Eigen::MatrixXd observed, index_t permutations) && {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    const index_t count = observed.cols(), models = m_models;
    const double denominator = static_cast<double>(permutations) + 1.0;
    const auto stop_of = [&](index_t s, index_t t) { return sequential() ? m_stopped(s, t) : 0; };
    const auto p_of = [&](index_t s, index_t t) {
      if (std::isnan(m_observed(s, t))) return nan;
      if (stop_of(s, t) > 0)
        return static_cast<double>(m_stop_after) / static_cast<double>(m_stopped(s, t));
      return (static_cast<double>(m_exceed(s, t)) + 1.0) / denominator;
    };
    permutation_result r;
    r.permutations = permutations;
    r.observed = std::move(observed);
    r.p_value.resize(models, count);
    r.evaluated.resize(models, count);
    r.p_best.resize(count);
    if (m_differences) r.p_differences.resize(models * models, count);
    if (m_runner_up) r.p_runner_up.resize(count);
    for (index_t t = 0; t < count; ++t) {
      for (index_t d = 0; d < models; ++d) {
        r.p_value(d, t) = p_of(d, t);
        r.evaluated(d, t) = stop_of(d, t) > 0 ? m_stopped(d, t) : permutations;
      }
      if (m_differences)
        for (index_t a = 0; a < models; ++a)
          for (index_t b = 0; b < models; ++b)
            r.p_differences(a * models + b, t) = a == b ? nan : p_of(models + a * models + b, t);
      r.p_best[t] = p_of(m_best_row, t);
      if (m_runner_up) r.p_runner_up[t] = p_of(m_best_row + 1, t);
    }
    if (!sequential()) {
      r.max_null = std::move(m_max_null);
      r.family_wise();
    }
    return r;
  }

 private:
  using counts = Eigen::Matrix<index_t, Eigen::Dynamic, Eigen::Dynamic>;
  index_t m_models, m_best_row, m_tracked, m_stop_after;
  bool m_differences, m_runner_up;
  // Rows [0, D) the scores, then D² ordered differences a·D + b, then the best score, then the
  // best's margin over the runner-up.
  Eigen::MatrixXd m_observed;
  counts m_exceed;
  counts m_stopped;  // the permutation that stopped a p-value, 0 while open (sequential only)
  Eigen::MatrixXd m_max_null;
};

// Strategy permute_targets: scores permutations [first, first + round) of the live targets by
// gathering them through each permutation, `per` permutations of `chunk` targets per call.
template <typename Statistic, typename Scalar>
void count_permuted_targets(const Statistic& statistic, const target_view<Scalar>& targets,
                            const permutation_options& options, index_t first, index_t round,
                            std::span<const index_t> ids, null_counter& counter,
                            Eigen::MatrixXd& nulls) {
  const index_t m = targets.rows(), live = targets.cols(), models = statistic.size();
  const index_t n = condensed_conditions(m);
  const index_t chunk = std::min(live, options.batch);
  const index_t per = std::max<index_t>(1, options.batch / chunk);
  nulls.resize(models, round * live);  // permutation q: columns [q·live, (q + 1)·live)
  const index_t batches = (round + per - 1) / per;
  parallel_error errors;
  DNN2BRAIN_OMP(parallel if (batches > 1))
  {
    target_matrix<Scalar> permuted;
    std::vector<index_t> maps, labels;  // maps: per × m source pairs
    DNN2BRAIN_OMP(for schedule(dynamic, 1))
    for (index_t b = 0; b < batches; ++b) {
      errors.run(b, [&] {
        const index_t at = b * per, size = std::min(per, round - at);
        maps.resize(static_cast<std::size_t>(per * m));
        for (index_t q = 0; q < size; ++q)
          permuted_pairs(n, options.scheme, options.seed,
                         static_cast<std::uint64_t>(first + at + q), labels,
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
  counter.tally(first, round, ids, 0, live, nulls.data(), live * models, models);
}

// Strategy relabel_models: one pass over the live targets scores permutations [first, first +
// round), moved onto the models, and counts them slice by slice: the scores of a slice (and the
// fit's temporaries) are small enough to be reused from the heap instead of mapped afresh.
template <typename Statistic, typename Scalar>
void count_relabelled_models(const Statistic& statistic, const target_view<Scalar>& targets,
                             const permutation_options& options, index_t first, index_t round,
                             std::span<const index_t> ids, null_counter& counter) {
  const index_t m = targets.rows(), live = targets.cols(), models = statistic.size();
  const index_t n = condensed_conditions(m);
  std::vector<index_t> sources(static_cast<std::size_t>(m)), labels;
  std::vector<std::vector<index_t>> inverses(static_cast<std::size_t>(round),
                                             std::vector<index_t>(sources.size()));
  for (index_t q = 0; q < round; ++q) {
    permuted_pairs(n, options.scheme, options.seed, static_cast<std::uint64_t>(first + q), labels,
                   sources);
    auto& inverse = inverses[static_cast<std::size_t>(q)];
    for (index_t k = 0; k < m; ++k) inverse[static_cast<std::size_t>(sources[k])] = k;
  }
  const Statistic permuted = [&] {
    if constexpr (stacking_statistic<Statistic>)
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
          "permutation_test",
          concat("expected the gathered statistic to give ", round * models, " x ", width,
                 " scores, got ", scores.rows(), " x ", scores.cols()));
    counter.tally(first, round, ids, j0, width, scores.data(), models, scores.outerStride());
  }
}

// y: the targets, read in place when they are column-major with unit inner stride.
template <typename Statistic, typename Scalar>
permutation_result permutation_engine(
    const Statistic& statistic,
    const Eigen::Ref<const target_matrix<Scalar>, 0, Eigen::OuterStride<>>& y,
    const permutation_options& options) {
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
  const index_t permutations = options.permutations;
  const target_view<Scalar> all(y.data(), m, count, Eigen::OuterStride<>(y.outerStride()));
  Eigen::MatrixXd observed = statistic(all);
  null_counter counter(observed, options);
  const bool sequential = counter.sequential();
  const bool relabel =
      options.strategy == permutation_strategy::relabel_models ||
      (options.strategy == permutation_strategy::automatic && count >= relabel_models_from);
  // Relabelled models of several permutations side by side when the statistic can stack them:
  // one pass over the targets then serves them all.
  const index_t per_pass = stacking_statistic<Statistic> ? stacked_permutations : 1;
  std::vector<index_t> active(static_cast<std::size_t>(count));
  std::iota(active.begin(), active.end(), index_t(0));
  target_matrix<Scalar> kept;  // the active targets' columns, once sequential stopping dropped some
  bool dropped = false;
  Eigen::MatrixXd nulls;
  for (index_t first = 0; first < permutations && !active.empty();) {
    const target_view<Scalar> targets =
        dropped ? target_view<Scalar>(kept.data(), m, kept.cols(), Eigen::OuterStride<>(m)) : all;
    const index_t live = targets.cols();
    index_t round = per_pass;  // permutations of this round
    if (!relabel) {
      const index_t per = std::max<index_t>(1, options.batch / std::min(live, options.batch));
      round = std::max<index_t>(1, null_budget / (models * live)) / per * per;
      round = std::max(per, sequential ? std::min(round, 8 * per) : round);  // stop soon
    }
    round = std::min(round, permutations - first);
    if (relabel)
      count_relabelled_models(statistic, targets, options, first, round, active, counter);
    else
      count_permuted_targets(statistic, targets, options, first, round, active, counter, nulls);
    first += round;

    if (sequential) {  // drop targets whose every p-value has stopped (or is undefined)
      std::vector<index_t> still;
      for (const index_t t : active)
        if (counter.open(t)) still.push_back(t);
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
  return std::move(counter).finish(std::move(observed), permutations);
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
/// models: a resampling_statistic (regression_statistic, partition_statistic,
/// correlation_statistic), or a design_set or variance_partitioning (adjusted scores); targets: an
/// m × T Eigen matrix (column-major is read in place), an xtensor array of shape (m, T), an
/// rdm_stack or one rdm.
///
/// Undefined scores (a constant target) have NaN p-values. \throws invalid_argument for fewer
/// than 4 conditions, targets not over the models' pairs, no permutations or a negative
/// stop_after.
template <resampling_models Models, target_rdms Targets>
[[nodiscard]] permutation_result permutation_test(const Models& models, const Targets& targets,
                                                  permutation_options options = {}) {
  return detail::with_statistic(
      models, targets, "permutation_test", [&](const auto& statistic, const auto& y) {
        using Scalar = typename std::remove_cvref_t<decltype(y)>::Scalar;
        const Eigen::Ref<const detail::target_matrix<Scalar>, 0, Eigen::OuterStride<>> view(y);
        return detail::permutation_engine<std::remove_cvref_t<decltype(statistic)>, Scalar>(
            statistic, view, options);
      });
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_PERMUTATION_HPP
