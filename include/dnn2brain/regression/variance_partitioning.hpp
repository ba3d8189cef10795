#ifndef DNN2BRAIN_REGRESSION_VARIANCE_PARTITIONING_HPP
#define DNN2BRAIN_REGRESSION_VARIANCE_PARTITIONING_HPP

#include <concepts>
#include <initializer_list>
#include <ranges>
#include <span>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/regression/design.hpp>
#include <dnn2brain/regression/ols.hpp>

namespace dnn2brain {

/// Which R² variance partitioning splits.
struct partition_options {
  /// Adjusted R² (Dwivedi et al. 2021, the default) or plain R² (Net2Brain). multiple_r is not a
  /// variance and cannot be partitioned.
  regression_score score = regression_score::adjusted_r_squared;
};

namespace detail {
// Row s − 1 of the subset s of these groups (bit g for group g).
[[nodiscard]] inline index_t subset_row(index_t groups, std::span<const index_t> members,
                                        const char* function) {
  index_t s = 0;
  for (const index_t g : members) {
    if (g < 0 || g >= groups || (s >> g & 1))
      throw_invalid_argument(function,
                             concat("expected distinct groups in [0, ", groups, "), got ", g));
    s |= index_t(1) << g;
  }
  if (s == 0) throw_invalid_argument(function, "expected at least one group, got none");
  return s - 1;
}

[[noreturn]] DNN2BRAIN_COLD inline void throw_bad_partition_score(const char* function) {
  throw_invalid_argument(function,
                         "expected the score r_squared or adjusted_r_squared, got multiple_r (a "
                         "square root of R² is not a variance and cannot be partitioned)");
}
}  // namespace detail

/// \brief Variance partitioning of k predictor groups over T targets.
///
/// Groups are named by their indices 0 … k − 1 in every accessor. Inside the matrices a subset of
/// groups S is a bit set s (bit g for group g) and owns row s − 1 (1 ≤ s < 2^k); subset() gives
/// that row for a list of groups.
struct partition_result {
  index_t groups = 0;
  /// (2^k − 1) × T: R² (adjusted or plain, as asked) of the model with the groups of each subset.
  Eigen::MatrixXd unions;
  /// (2^k − 1) × T: the variance shared by exactly the groups of each subset (commonality
  /// analysis); negative values are kept. The fractions of a target sum to its R² of all groups.
  Eigen::MatrixXd fractions;
  status info = status::success;            ///< as ols_result::info
  std::vector<index_t> degenerate_targets;  ///< constant targets: NaN throughout

  /// The row of `unions` and `fractions` that belongs to a set of groups (in any order).
  /// \throws invalid_argument for no group, a group outside [0, groups) or a repeated group.
  [[nodiscard]] index_t subset(std::span<const index_t> members) const {
    return detail::subset_row(groups, members, "partition_result::subset");
  }
  [[nodiscard]] index_t subset(std::initializer_list<index_t> members) const {
    return subset(std::span<const index_t>(members.begin(), members.size()));
  }

  /// Unique variance of group g (1 × T): R²(all) − R²(all but g); shared({g}).
  [[nodiscard]] Eigen::RowVectorXd unique(index_t g) const { return fractions.row(subset({g})); }
  /// Variance shared by exactly these groups (1 × T): shared({0, 2}) is common to groups 0 and 2
  /// and to no other.
  [[nodiscard]] Eigen::RowVectorXd shared(std::initializer_list<index_t> members) const {
    return fractions.row(subset(members));
  }
  [[nodiscard]] Eigen::RowVectorXd shared(std::span<const index_t> members) const {
    return fractions.row(subset(members));
  }
  /// R² of the model with these groups together (1 × T).
  [[nodiscard]] Eigen::RowVectorXd union_score(std::initializer_list<index_t> members) const {
    return unions.row(subset(members));
  }
  [[nodiscard]] Eigen::RowVectorXd union_score(std::span<const index_t> members) const {
    return unions.row(subset(members));
  }
  /// R² of all groups together (1 × T).
  [[nodiscard]] Eigen::RowVectorXd total() const { return unions.row(unions.rows() - 1); }
};

/// \brief Commonality analysis of k groups of predictors (a group is one DNN's layer RDMs, or a
/// DNN group's averaged RDMs), for 1 ≤ k ≤ max_groups.
///
/// All 2^k − 1 unions of groups are factored once, as one design_set, and fitted to the same
/// targets in one pass. With g(B) = R²(all) − R²(all without the groups of B), the fraction of
/// subset S is the Möbius inversion f(S) = Σ_{B ⊆ S} (−1)^{|S|−|B|} g(B). For k = 2 and 3 these
/// are the paper's formulas: f({1,2}) = R1 + R2 − R12, f({1,2,3}) = R1 + R2 + R3 − R12 − R13 −
/// R23 + R123, unique f({1}) = R123 − R23.
///
/// Unlike the paper's n-group function (which drops single layer columns), "all without group g"
/// drops the whole group: every layer of that DNN.
template <std::floating_point Scalar = double>
class variance_partitioning {
 public:
  using scalar_type = Scalar;
  /// 2^10 − 1 = 1023 fits; beyond that the subsets outgrow the targets.
  static constexpr index_t max_groups = 10;

  /// groups: a range of m × p_g predictor matrices (Eigen, or xtensor of shape (m, p_g)) or
  /// rdm_stacks, one per group.
  /// \throws invalid_argument for no groups, more than max_groups, differing pair counts, or a
  /// union that is not a valid design (see design).
  template <std::ranges::forward_range Groups>
  explicit variance_partitioning(const Groups& groups, design_options options = {})
      : m_sets(make_set(groups, options)) {}

  /// \brief From prebuilt union designs, entry s − 1 for subset s of `groups` groups (unions that
  /// are not the concatenation of the groups, e.g. paper::summed_partitioning). \throws
  /// invalid_argument for groups outside [1, max_groups] or other than 2^groups − 1 unions.
  variance_partitioning(index_t groups, design_set<Scalar> unions)
      : m_groups(groups), m_sets(std::move(unions)) {
    if (groups < 1 || groups > max_groups || m_sets.size() != (index_t(1) << groups) - 1)
      detail::throw_invalid_argument(
          "variance_partitioning",
          detail::concat("expected 2^k - 1 union designs of k in [1, ", max_groups,
                         "] groups, got ", m_sets.size(), " designs for ", groups, " groups"));
  }

  [[nodiscard]] index_t groups() const noexcept { return m_groups; }
  /// The row of a set of groups in every per-subset result (fit(), permutation_test(),
  /// bootstrap_conditions() of a partition_statistic): see partition_result::subset.
  [[nodiscard]] index_t subset(std::span<const index_t> members) const {
    return detail::subset_row(m_groups, members, "variance_partitioning::subset");
  }
  [[nodiscard]] index_t subset(std::initializer_list<index_t> members) const {
    return subset(std::span<const index_t>(members.begin(), members.size()));
  }
  /// The 2^k − 1 union designs: entry s − 1 holds the groups of subset s.
  [[nodiscard]] const design_set<Scalar>& unions() const noexcept { return m_sets; }

  /// The same partitioning on the pairs `sources` (see design::gathered).
  [[nodiscard]] variance_partitioning gathered(std::span<const index_t> sources) const {
    return variance_partitioning(m_groups, m_sets.gathered(sources));
  }

 private:
  template <typename S>
  static const auto& values(const rdm_stack<S>& stack) {
    return stack.values();
  }
  template <typename Derived>
  static const Derived& values(const Eigen::MatrixBase<Derived>& matrix) {
    return matrix.derived();
  }
  template <floating_xexpression E>
  static Eigen::MatrixXd values(const xt::xexpression<E>& array) {
    return xtensor_matrix<typename E::value_type>(array, "variance_partitioning")
        .matrix()
        .template cast<double>();
  }

  template <typename Groups>
  design_set<Scalar> make_set(const Groups& groups, design_options options) {
    std::vector<Eigen::MatrixXd> columns;
    columns.reserve(static_cast<std::size_t>(std::ranges::distance(groups)));
    for (const auto& g : groups) columns.emplace_back(values(g).template cast<double>());
    m_groups = static_cast<index_t>(columns.size());
    if (m_groups < 1 || m_groups > max_groups)
      detail::throw_invalid_argument(
          "variance_partitioning",
          detail::concat("expected 1 to ", max_groups, " groups, got ", m_groups));
    const index_t m = columns.front().rows();
    for (index_t g = 0; g < m_groups; ++g)
      if (columns[static_cast<std::size_t>(g)].rows() != m)
        detail::throw_invalid_argument(
            "variance_partitioning",
            detail::concat("expected every group over ", m, " pairs, got ",
                           columns[static_cast<std::size_t>(g)].rows(), " in group ", g));
    std::vector<design> unions;
    const index_t subsets = (index_t(1) << m_groups) - 1;
    for (index_t s = 1; s <= subsets; ++s) {
      index_t p = 0;
      for (index_t g = 0; g < m_groups; ++g)
        if (s >> g & 1) p += columns[static_cast<std::size_t>(g)].cols();
      Eigen::MatrixXd x(m, p);
      for (index_t g = 0, at = 0; g < m_groups; ++g)
        if (s >> g & 1) {
          const Eigen::MatrixXd& c = columns[static_cast<std::size_t>(g)];
          x.middleCols(at, c.cols()) = c;
          at += c.cols();
        }
      unions.emplace_back(x, options);
    }
    return design_set<Scalar>(std::move(unions));
  }

  index_t m_groups = 0;
  design_set<Scalar> m_sets;
};

namespace detail {
template <typename T>
inline constexpr bool is_variance_partitioning = false;
template <typename S>
inline constexpr bool is_variance_partitioning<variance_partitioning<S>> = true;
}  // namespace detail

namespace detail {

/// Fractions (commonality analysis) of every target from the R² of its 2^k − 1 unions, row s − 1
/// for subset s: g(B) = R²(all) − R²(all \ B), with R²(∅) = 0, then the in-place Möbius transform
/// over the subset lattice, one group at a time.
[[nodiscard]] inline Eigen::MatrixXd commonality(const Eigen::Ref<const Eigen::MatrixXd>& unions) {
  const index_t subsets = unions.rows(), all = subsets;
  Eigen::MatrixXd fractions(subsets, unions.cols());
  std::vector<double> g(static_cast<std::size_t>(subsets + 1));
  for (index_t t = 0; t < unions.cols(); ++t) {
    const double total = unions(all - 1, t);
    g[0] = 0.0;
    for (index_t b = 1; b <= subsets; ++b) {
      const index_t rest = all & ~b;
      g[static_cast<std::size_t>(b)] = total - (rest == 0 ? 0.0 : unions(rest - 1, t));
    }
    for (index_t bit = 1; bit <= all; bit <<= 1)
      for (index_t s = 1; s <= subsets; ++s)
        if (s & bit) g[static_cast<std::size_t>(s)] -= g[static_cast<std::size_t>(s ^ bit)];
    for (index_t s = 1; s <= subsets; ++s) fractions(s - 1, t) = g[static_cast<std::size_t>(s)];
  }
  return fractions;
}

}  // namespace detail

/// \brief Partitions the variance of m × T targets (or an rdm_stack / rdm) among the groups.
/// \throws invalid_argument as fit(design_set, ...), or for the score multiple_r.
template <std::floating_point Scalar, typename Targets>
[[nodiscard]] partition_result fit(const variance_partitioning<Scalar>& partitioning,
                                   const Targets& targets, partition_options options = {}) {
  if (options.score == regression_score::multiple_r) detail::throw_bad_partition_score("fit");
  ols_result fitted = fit(partitioning.unions(), targets);
  partition_result result;
  result.groups = partitioning.groups();
  result.info = fitted.info;
  result.degenerate_targets = std::move(fitted.degenerate_targets);
  result.unions = std::move(fitted).score(options.score);
  result.fractions = detail::commonality(result.unions);
  return result;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_REGRESSION_VARIANCE_PARTITIONING_HPP
