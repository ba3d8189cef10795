#ifndef DNN2BRAIN_STATS_PERMUTATION_HPP
#define DNN2BRAIN_STATS_PERMUTATION_HPP

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
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/stats/random.hpp>

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
  /// Test adjusted R² (the paper's score) or plain R².
  bool adjusted = true;
  /// Also count the null of every ordered model difference (D² counts per target).
  bool differences = true;
  /// Permuted targets fitted together in one call (memory: pairs × this many values per thread).
  index_t batch = 512;
};

/// \brief Results of a permutation test of D models over T targets with N permutations; every
/// p-value is (number of null values ≥ the observed one + 1) / (N + 1), one-sided (a better fit).
struct permutation_result {
  Eigen::MatrixXd observed;  ///< D × T scores
  Eigen::MatrixXd p_value;   ///< D × T
  /// D × T, family-wise over targets: against the null of the maximum over targets, per model.
  Eigen::MatrixXd p_fwe;
  /// (D·D) × T: row a·D + b tests whether model a beats model b by the observed margin
  /// (null of score_a − score_b); the diagonal is NaN. Empty unless options.differences.
  Eigen::MatrixXd p_difference;
  /// N × D: the maximum over targets of every permutation's scores (the FWE null).
  Eigen::MatrixXd max_null;
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

/// \brief Condition-label permutation test of every model of a design set on every target.
///
/// Permutation b reorders the conditions of every target (a gather through an index map drawn
/// from random_stream(seed, b)) while the factored designs stay fixed; one pass per batch of
/// permuted targets gives, for every target and model, the null count of its score, the null
/// counts of every pairwise model difference and the maximum over targets for family-wise error.
/// Parallel over batches of permutations; counts are integers and every permutation is a function
/// of (seed, b), so results are bit-identical for any thread count and batch size.
///
/// Constant targets have NaN scores and NaN p-values. \throws invalid_argument for fewer than
/// 4 conditions, no permutations, or targets that are not condensed RDMs of the designs' pairs.
template <std::floating_point Scalar, typename Derived>
[[nodiscard]] permutation_result permutation_test(const design_set<Scalar>& models,
                                                  const Eigen::MatrixBase<Derived>& targets,
                                                  permutation_options options = {}) {
  constexpr const char* function = "permutation_test";
  const index_t m = targets.rows(), count = targets.cols(), designs = models.size();
  const index_t n = condensed_conditions(m);
  if (n < 4)
    detail::throw_invalid_argument(
        function, detail::concat("expected target RDMs of at least 4 conditions (6 pairs), got ", m,
                                 " pairs"));
  if (options.permutations < 1 || options.batch < 1)
    detail::throw_invalid_argument(
        function, detail::concat("expected at least 1 permutation and a batch of at least 1, got ",
                                 options.permutations, " and ", options.batch));
  const auto score = [&](ols_result&& r) {
    return options.adjusted ? std::move(r.adjusted_r_squared) : std::move(r.r_squared);
  };
  const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> y = targets;
  permutation_result result;
  result.permutations = options.permutations;
  result.observed = score(fit(models, y));
  const index_t permutations = options.permutations;
  result.max_null.setConstant(permutations, designs, -std::numeric_limits<double>::infinity());

  // Each batch holds `per` permutations of `chunk` targets.
  const index_t chunk = std::min(count, std::max<index_t>(1, options.batch));
  const index_t per = std::max<index_t>(1, options.batch / chunk);
  const index_t batches = (permutations + per - 1) / per;
  const bool differences = options.differences;
  using counts = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>;
  counts total = counts::Zero(designs, count);
  counts total_difference = counts::Zero(differences ? designs * designs : 0, count);
  detail::parallel_error errors;
  DNN2BRAIN_OMP(parallel if (batches > 1))
  {
    counts local = counts::Zero(designs, count);
    counts local_difference = counts::Zero(differences ? designs * designs : 0, count);
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> permuted;
    std::vector<index_t> maps, labels, offsets;  // maps: per × m source pairs
    DNN2BRAIN_OMP(for schedule(dynamic, 1) nowait)
    for (index_t b = 0; b < batches; ++b) {
      errors.run(b, [&] {
        const index_t first = b * per, size = std::min(per, permutations - first);
        maps.resize(static_cast<std::size_t>(per * m));
        for (index_t q = 0; q < size; ++q)
          detail::permuted_pairs(n, options.scheme, options.seed,
                                 static_cast<std::uint64_t>(first + q), labels, offsets,
                                 std::span(maps).subspan(static_cast<std::size_t>(q * m),
                                                         static_cast<std::size_t>(m)));
        for (index_t t0 = 0; t0 < count; t0 += chunk) {
          const index_t width = std::min(chunk, count - t0);
          permuted.resize(m, size * width);
          for (index_t q = 0; q < size; ++q)
            for (index_t t = 0; t < width; ++t)
              for (index_t k = 0; k < m; ++k)
                permuted(k, q * width + t) = y(maps[static_cast<std::size_t>(q * m + k)], t0 + t);
          const Eigen::MatrixXd null = score(fit(models, permuted));
          for (index_t q = 0; q < size; ++q)
            for (index_t t = 0; t < width; ++t) {
              const index_t j = t0 + t, c = q * width + t;
              for (index_t d = 0; d < designs; ++d) {
                local(d, j) += null(d, c) >= result.observed(d, j);
                double& top = result.max_null(first + q, d);
                if (null(d, c) > top) top = null(d, c);  // NaN never wins
              }
              if (differences)
                for (index_t a = 0; a < designs; ++a)
                  for (index_t d = 0; d < designs; ++d)
                    local_difference(a * designs + d, j) +=
                        null(a, c) - null(d, c) >= result.observed(a, j) - result.observed(d, j);
            }
        }
      });
    }
    DNN2BRAIN_OMP(critical)
    {
      total += local;
      if (differences) total_difference += local_difference;
    }
  }
  errors.rethrow();

  const double denominator = static_cast<double>(permutations) + 1.0;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const auto p_of = [&](std::int64_t c, double observed) {
    return std::isnan(observed) ? nan : (static_cast<double>(c) + 1.0) / denominator;
  };
  result.p_value.resize(designs, count);
  for (index_t j = 0; j < count; ++j)
    for (index_t d = 0; d < designs; ++d)
      result.p_value(d, j) = p_of(total(d, j), result.observed(d, j));
  if (differences) {
    result.p_difference.resize(designs * designs, count);
    for (index_t j = 0; j < count; ++j)
      for (index_t a = 0; a < designs; ++a)
        for (index_t d = 0; d < designs; ++d)
          result.p_difference(a * designs + d, j) =
              a == d ? nan
                     : p_of(total_difference(a * designs + d, j),
                            result.observed(a, j) - result.observed(d, j));
  }
  // Family-wise over targets: the rank of each observed score among the sorted maxima.
  result.p_fwe.resize(designs, count);
  std::vector<double> sorted(static_cast<std::size_t>(permutations));
  for (index_t d = 0; d < designs; ++d) {
    for (index_t q = 0; q < permutations; ++q)
      sorted[static_cast<std::size_t>(q)] = result.max_null(q, d);
    std::sort(sorted.begin(), sorted.end());
    for (index_t j = 0; j < count; ++j) {
      const double observed = result.observed(d, j);
      const auto at_least = sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), observed);
      result.p_fwe(d, j) = p_of(at_least, observed);
    }
  }
  return result;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_PERMUTATION_HPP
