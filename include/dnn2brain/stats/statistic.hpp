#ifndef DNN2BRAIN_STATS_STATISTIC_HPP
#define DNN2BRAIN_STATS_STATISTIC_HPP

#include <concepts>
#include <span>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/regression/variance_partitioning.hpp>

namespace dnn2brain {

/// \brief What resampling procedures (permutation_test, bootstrap_conditions, ...) score: D model
/// scores per target RDM, and the same models on a gathered set of pairs.
///
/// s(targets) maps m × T target RDMs to D × T scores in double; s.gathered(sources) is the
/// statistic whose models keep only (and repeat) the pairs sources[k], so that a bootstrap can
/// refit on resampled conditions and a permutation can be moved from the targets to the models;
/// s.min_pairs() is the fewest pairs gathered() accepts (a bootstrap resample with fewer pairs is
/// undefined, NaN, rather than an error).
/// A statistic may also offer `S gathered_each(std::span<const std::vector<index_t>> lists)
/// const` (concept stacking_statistic): the models gathered on each of P source lists in one
/// statistic of P·D scores (row q·D + d), each score as gathered(lists[q]) gives it;
/// permutation_test then scores 8 permutations per call.
template <typename S>
concept resampling_statistic = std::copy_constructible<S> &&
    requires(const S& s, const Eigen::MatrixXd& targets, std::span<const index_t> sources) {
  { s(targets) } -> std::convertible_to<Eigen::MatrixXd>;
  { s.size() } -> std::convertible_to<index_t>;
  { s.pairs() } -> std::convertible_to<index_t>;
  { s.min_pairs() } -> std::convertible_to<index_t>;
  { s.gathered(sources) } -> std::same_as<S>;
};

/// A resampling statistic that scores several gathered copies of its models at once.
template <typename S>
concept stacking_statistic = resampling_statistic<S> &&
    requires(const S& s, std::span<const std::vector<index_t>> lists) {
  { s.gathered_each(lists) } -> std::same_as<S>;
};

/// Regression scores of every design of a set.
template <std::floating_point Scalar>
class regression_statistic {
 public:
  explicit regression_statistic(design_set<Scalar> models,
                                regression_score score = regression_score::adjusted_r_squared)
      : m_models(std::move(models)), m_score(score) {}

  [[nodiscard]] index_t size() const noexcept { return m_models.size(); }
  [[nodiscard]] index_t pairs() const noexcept { return m_models.pairs(); }
  [[nodiscard]] const design_set<Scalar>& models() const noexcept { return m_models; }

  template <typename Derived>
  [[nodiscard]] Eigen::MatrixXd operator()(const Eigen::MatrixBase<Derived>& targets) const {
    return fit(m_models, targets).score(m_score);
  }
  /// The fewest pairs every design can be fitted on: its predictors + 1.
  [[nodiscard]] index_t min_pairs() const noexcept { return m_models.min_pairs(); }

  [[nodiscard]] regression_statistic gathered(std::span<const index_t> sources) const {
    return regression_statistic(m_models.gathered(sources), m_score);
  }
  [[nodiscard]] regression_statistic gathered_each(
      std::span<const std::vector<index_t>> sources) const {
    return regression_statistic(m_models.gathered_each(sources), m_score);
  }

 private:
  design_set<Scalar> m_models;
  regression_score m_score;
};

/// Variance-partitioning fractions (2^k − 1 per target, row s − 1 for subset s; the unique
/// variance of group g is row 2^g − 1).
template <std::floating_point Scalar>
class partition_statistic {
 public:
  explicit partition_statistic(const variance_partitioning<Scalar>& partitioning,
                               partition_options options = {})
      : partition_statistic(partitioning.unions(), partitioning.groups(), options) {}

  [[nodiscard]] index_t size() const noexcept { return m_unions.size(); }
  [[nodiscard]] index_t pairs() const noexcept { return m_unions.pairs(); }

  template <typename Derived>
  [[nodiscard]] Eigen::MatrixXd operator()(const Eigen::MatrixBase<Derived>& targets) const {
    const Eigen::MatrixXd unions = fit(m_unions, targets.derived()).score(m_options.score);
    // The 2^k − 1 unions of each gathered copy (gathered_each) in turn.
    const index_t subsets = (index_t(1) << m_groups) - 1;
    Eigen::MatrixXd fractions(size(), unions.cols());
    for (index_t at = 0; at < size(); at += subsets)
      fractions.middleRows(at, subsets) = detail::commonality(unions.middleRows(at, subsets));
    return fractions;
  }

  /// The fewest pairs the union of all groups can be fitted on.
  [[nodiscard]] index_t min_pairs() const noexcept { return m_unions.min_pairs(); }
  [[nodiscard]] partition_statistic gathered(std::span<const index_t> sources) const {
    return partition_statistic(m_unions.gathered(sources), m_groups, m_options);
  }
  [[nodiscard]] partition_statistic gathered_each(
      std::span<const std::vector<index_t>> sources) const {
    return partition_statistic(m_unions.gathered_each(sources), m_groups, m_options);
  }

 private:
  partition_statistic(design_set<Scalar> unions, index_t groups, partition_options options)
      : m_unions(std::move(unions)), m_options(options), m_groups(groups) {
    if (options.score == regression_score::multiple_r)
      detail::throw_bad_partition_score("partition_statistic");
  }

  design_set<Scalar> m_unions;  // every union of groups, gathered_each copies side by side
  partition_options m_options;
  index_t m_groups;
};

/// \brief The unique variance of each of D predictor groups among all of them: R²(all) − R²(all
/// but d), the unique fractions of variance_partitioning for any D from D + 1 fits instead of
/// 2^D − 1 (the paper's Fig. 3a scores its 3 groups so).
///
/// leave_one_out: D + 1 designs, entry 0 the union of all groups and entry d + 1 the union without
/// group d (model_set::leave_one_out_designs builds them).
template <std::floating_point Scalar>
class unique_statistic {
 public:
  explicit unique_statistic(design_set<Scalar> leave_one_out, partition_options options = {})
      : unique_statistic(std::move(leave_one_out), options, -1) {}

  [[nodiscard]] index_t size() const noexcept {
    return m_designs.size() / (m_groups + 1) * m_groups;
  }
  [[nodiscard]] index_t pairs() const noexcept { return m_designs.pairs(); }

  template <typename Derived>
  [[nodiscard]] Eigen::MatrixXd operator()(const Eigen::MatrixBase<Derived>& targets) const {
    const Eigen::MatrixXd r = fit(m_designs, targets.derived()).score(m_options.score);
    // Each gathered copy (gathered_each) holds its D + 1 designs in turn.
    Eigen::MatrixXd unique(size(), r.cols());
    for (index_t q = 0, at = 0; at < r.rows(); ++q, at += m_groups + 1)
      for (index_t d = 0; d < m_groups; ++d)
        unique.row(q * m_groups + d) = r.row(at) - r.row(at + 1 + d);
    return unique;
  }

  /// The fewest pairs the union of all groups can be fitted on.
  [[nodiscard]] index_t min_pairs() const noexcept { return m_designs.min_pairs(); }
  [[nodiscard]] unique_statistic gathered(std::span<const index_t> sources) const {
    return unique_statistic(m_designs.gathered(sources), m_options, m_groups);
  }
  [[nodiscard]] unique_statistic gathered_each(
      std::span<const std::vector<index_t>> sources) const {
    return unique_statistic(m_designs.gathered_each(sources), m_options, m_groups);
  }

 private:
  unique_statistic(design_set<Scalar> designs, partition_options options, index_t groups)
      : m_designs(std::move(designs)), m_options(options), m_groups(groups) {
    if (options.score == regression_score::multiple_r)
      detail::throw_bad_partition_score("unique_statistic");
    if (groups < 0) {  // from the public constructor: the D + 1 designs of one copy
      if (m_designs.size() < 3)
        detail::throw_invalid_argument(
            "unique_statistic",
            detail::concat("expected D + 1 >= 3 designs (all D groups, then each left out), got ",
                           m_designs.size()));
      m_groups = m_designs.size() - 1;
    }
  }

  design_set<Scalar> m_designs;  // D + 1 designs per gathered_each copy, side by side
  partition_options m_options;
  index_t m_groups;
};

/// Correlations (any rdm_measure) of D model RDMs with every target.
template <rdm_measure Measure = measure::pearson>
class correlation_statistic {
 public:
  /// models: m × D, one model RDM per column. \throws invalid_argument for fewer than 2 pairs,
  /// no models or non-finite entries.
  template <floating_eigen Derived>
  explicit correlation_statistic(const Eigen::MatrixBase<Derived>& models, Measure measure = {})
      : m_models(models.template cast<double>()), m_measure(std::move(measure)) {
    if (m_models.rows() < 2 || m_models.cols() < 1)
      detail::throw_invalid_argument(
          "correlation_statistic",
          detail::concat("expected at least 1 model RDM of at least 2 pairs, got a ",
                         m_models.rows(), " x ", m_models.cols(), " matrix"));
    for (index_t d = 0; d < m_models.cols(); ++d)
      detail::check_entries(m_models.col(d), nan_policy::raise, "model", d,
                            "correlation_statistic");
  }
  template <std::floating_point S>
  explicit correlation_statistic(const rdm_stack<S>& models, Measure measure = {})
      : correlation_statistic(models.values(), measure) {}

  /// From an xtensor array of shape (m, D) (1-D: one model).
  template <floating_xexpression E>
  explicit correlation_statistic(const xt::xexpression<E>& models, Measure measure = {})
      : correlation_statistic(
            xtensor_matrix<typename E::value_type>(models, "correlation_statistic").matrix(),
            std::move(measure)) {}

  [[nodiscard]] index_t size() const noexcept { return m_models.cols(); }
  [[nodiscard]] index_t pairs() const noexcept { return m_models.rows(); }
  /// A correlation needs 2 pairs.
  [[nodiscard]] index_t min_pairs() const noexcept { return 2; }
  [[nodiscard]] const Measure& measure() const noexcept { return m_measure; }

  template <typename Derived>
  [[nodiscard]] Eigen::MatrixXd operator()(const Eigen::MatrixBase<Derived>& targets) const {
    Eigen::MatrixXd scores(size(), targets.cols());
    for (index_t d = 0; d < size(); ++d)
      scores.row(d) = compare_columns(m_models.col(d), targets, m_measure).transpose();
    return scores;
  }

  [[nodiscard]] correlation_statistic gathered(std::span<const index_t> sources) const {
    Eigen::MatrixXd models(static_cast<index_t>(sources.size()), size());
    gather(sources, models, "correlation_statistic::gathered");
    return correlation_statistic(models, m_measure);
  }
  [[nodiscard]] correlation_statistic gathered_each(
      std::span<const std::vector<index_t>> sources) const {
    constexpr const char* function = "correlation_statistic::gathered_each";
    if (sources.empty())
      detail::throw_invalid_argument(function,
                                     "expected at least one list of source pairs, got none");
    const index_t lists = static_cast<index_t>(sources.size());
    Eigen::MatrixXd models(static_cast<index_t>(sources.front().size()), lists * size());
    for (index_t q = 0; q < lists; ++q) {
      if (static_cast<index_t>(sources[static_cast<std::size_t>(q)].size()) != models.rows())
        detail::throw_invalid_argument(
            function, detail::concat("expected source lists of equal length, got ", models.rows(),
                                     " and ", sources[static_cast<std::size_t>(q)].size()));
      auto block = models.middleCols(q * size(), size());
      gather(sources[static_cast<std::size_t>(q)], block, function);
    }
    return correlation_statistic(models, m_measure);
  }

 private:
  // Row k of out = model row sources[k].
  template <typename Out>
  void gather(std::span<const index_t> sources, Out& out, const char* function) const {
    for (index_t k = 0; k < out.rows(); ++k) {
      const index_t from = sources[static_cast<std::size_t>(k)];
      if (from < 0 || from >= pairs())
        detail::throw_invalid_argument(
            function, detail::concat("expected source pairs in [0, ", pairs(), "), got ", from,
                                     " at position ", k));
      out.row(k) = m_models.row(from);
    }
  }

  Eigen::MatrixXd m_models;
  Measure m_measure;
};

/// What the resampling procedures (permutation_test, bootstrap_conditions, subsample_conditions)
/// take as models: a resampling_statistic, or a design_set (scored by adjusted R²) or a
/// variance_partitioning (its adjusted fractions) directly.
template <typename M>
concept resampling_models =
    resampling_statistic<M> || detail::is_design_set<M> || detail::is_variance_partitioning<M>;

/// What they take as targets: an m × T Eigen matrix (one RDM per column), an xtensor array of
/// shape (m, T) (1-D: one RDM), an rdm_stack or one rdm.
template <typename T>
concept target_rdms =
    floating_eigen<T> || floating_xexpression<T> || detail::is_rdm<T> || detail::is_rdm_stack<T>;

namespace detail {

// Calls f(statistic, targets) with the models as a resampling_statistic and the targets as an
// Eigen expression (m × T); a statistic is passed by reference, never copied.
template <typename Models, typename Targets, typename F>
decltype(auto) with_statistic(const Models& models, const Targets& targets, const char* function,
                              F&& f) {
  const auto call = [&](const auto& statistic) -> decltype(auto) {
    if constexpr (floating_xexpression<Targets>) {
      const xtensor_matrix<typename Targets::value_type> y(targets, function);
      return f(statistic, y.matrix());
    } else if constexpr (is_rdm<Targets> || is_rdm_stack<Targets>) {
      return f(statistic, targets.values());
    } else {
      return f(statistic, targets);
    }
  };
  if constexpr (is_design_set<Models>)
    return call(regression_statistic<typename Models::scalar_type>(models));
  else if constexpr (is_variance_partitioning<Models>)
    return call(partition_statistic<typename Models::scalar_type>(models));
  else
    return call(models);
}

}  // namespace detail

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_STATISTIC_HPP
