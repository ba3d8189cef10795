#ifndef DNN2BRAIN_ANALYSIS_PARTITION_ANALYSIS_HPP
#define DNN2BRAIN_ANALYSIS_PARTITION_ANALYSIS_HPP

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/analysis/scoring.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/regression/design.hpp>
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/regression/variance_partitioning.hpp>
#include <dnn2brain/stats/bootstrap.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/paper.hpp>
#include <dnn2brain/stats/permutation.hpp>
#include <dnn2brain/stats/statistic.hpp>
#include <dnn2brain/stats/ttest.hpp>

namespace dnn2brain {

/// Which fractions form the family of a multiple-comparison correction (with every ROI).
enum class partition_family {
  unique_fractions,  ///< the k unique fractions of each ROI: the bars of the paper's figures
  all_fractions,     ///< all 2^k − 1 fractions of each ROI
};

/// Options of top_k_partitioning() and grouped_partitioning().
struct partition_analysis_options {
  /// top_k_partitioning: how many of the best models are partitioned (clamped to the set's size;
  /// at most variance_partitioning::max_groups). grouped_partitioning takes every group.
  index_t top = 3;
  /// top_k_partitioning without a roi_result: the score that ranks the models on each ROI's
  /// subject-mean RDM (the paper: R = √max(adjusted R², 0), which ranks as adjusted R² does).
  dnn2brain::scoring rank_by{};
  /// What is partitioned: adjusted R² (the paper, the default) or R².
  partition_options partition{};
  /// Partition each subject's RDM among the same models and t-test the fractions. Needs 2
  /// subjects.
  bool subject_tests = true;
  /// Condition-label permutations of each subject-mean RDM; 0 skips the permutation tests.
  index_t permutations = 10000;
  /// conditions (correct, the default) or pairs (the paper's entry permutation).
  permutation_scheme scheme = permutation_scheme::conditions;
  /// Also count the null of every ordered fraction difference ((2^k − 1)² counts per
  /// permutation): the pairwise tests of unique fractions.
  bool differences = true;
  /// top_k_partitioning: also test every fraction against the null of the whole procedure
  /// (rank, select the top k, partition) repeated on every permutation, which accounts for the
  /// selection. Costs a fit of every set of at most k models per permutation.
  bool selection_adjusted = true;
  /// Condition bootstrap samples (the selected models fixed); 0 skips the bootstrap.
  index_t bootstrap_samples = 1000;
  error_bar_method error_bars = error_bar_method::bootstrap;
  double level = 0.95;
  /// Correction of the fraction p-values across ROIs × the family's fractions, and of the
  /// pairwise p-values across ROIs × pairs.
  dnn2brain::correction correction = dnn2brain::correction::benjamini_hochberg;
  partition_family family = partition_family::unique_fractions;
  /// The permutations use random_stream(seed, b), the bootstrap random_stream(seed + 1, b).
  std::uint64_t seed = 0;
  progress_callback progress{};
};

/// One bar of the paper's Fig. 2 / Fig. 3b panels: a model (or group) and its unique variance.
/// NaN for what was not computed.
struct partition_bar {
  std::string name;
  index_t index = -1;  ///< the model's (or group's) index in the model set
  double score = 0.0;  ///< its own score (rank_by) on the subject-mean RDM, which ranked it
  double unique = 0.0;
  double standard_error = 0.0, lower = 0.0, upper = 0.0;  ///< condition bootstrap
  double p_value = 0.0, p_corrected = 0.0;                ///< permutation, selection fixed
  double p_selection = 0.0, p_selection_corrected = 0.0;  ///< permutation of the procedure
  double subject_p = 0.0, subject_p_corrected = 0.0;      ///< t-test of subject fractions
};

/// \brief Variance partitioning per ROI among k models (the top k of each ROI, in rank order) or
/// among the model set's k groups (in group order): F = 2^k − 1 fractions × R ROIs in every
/// matrix.
///
/// Row s − 1 of a fraction matrix is the subset s of positions (bit j = position j: the j-th
/// ranked model, or group j); subset() gives it, unique(j) the unique fraction of position j.
/// Which model sits at position j of an ROI is members(j, roi). Empty members belong to a part
/// that was switched off.
struct partition_analysis_result {
  std::vector<std::string> names;  ///< every model (or group) name: members index them
  std::vector<std::string> rois;   ///< the R columns
  bool groups = false;             ///< whether the positions are the model set's groups
  index_t k = 0;                   ///< models (groups) partitioned per ROI
  dnn2brain::scoring rank_by;      ///< the score that ranked them
  partition_options partition;     ///< what was partitioned

  /// k × R: the model (or group) at each position, and its own score on the subject-mean RDM.
  Eigen::Matrix<index_t, Eigen::Dynamic, Eigen::Dynamic> members;
  Eigen::MatrixXd member_scores;
  /// F × R: the (adjusted) R² of every union of positions, and the fractions (commonality
  /// analysis) of each ROI's subject-mean RDM; the fractions of an ROI sum to total().
  Eigen::MatrixXd unions, fractions;

  /// Per ROI, F × S: the fractions of each subject's RDM (the same k models).
  std::vector<Eigen::MatrixXd> subject_fractions;
  /// F × R: mean, standard error and one-sample t-test (greater than 0) of the subject fractions.
  Eigen::MatrixXd subject_mean, subject_sem, subject_t, subject_p;
  Eigen::MatrixXd subject_p_corrected;  ///< F × R, NaN outside the family

  /// Permutation test of the fractions with the models fixed: p_value (F × R, one-sided, a larger
  /// fraction), p_difference(s − 1, s' − 1) (one-sided), p_fwe (family-wise across ROIs).
  permutation_result permutation;
  Eigen::MatrixXd p_corrected;  ///< F × R, NaN outside the family
  /// (k·k) × R, row a·k + b: two-sided permutation p-value of unique(a) − unique(b),
  /// min(1, 2·min(p(a beats b), p(b beats a))); NaN for a = b. Read through p_pair().
  Eigen::MatrixXd p_pairs;
  Eigen::MatrixXd p_pairs_corrected;  ///< across ROIs × the k(k − 1)/2 pairs

  /// top-k with selection_adjusted: the permutation test of the whole procedure (ranking,
  /// selection of the top k and partitioning on every permuted RDM): p_value is F × R.
  permutation_result selection;
  Eigen::MatrixXd p_selection_corrected;  ///< F × R, NaN outside the family

  /// Condition bootstrap of the fractions with the models fixed: standard_error, lower, upper
  /// (F × R), difference(s − 1, s' − 1).
  bootstrap_result bootstrap;

  /// F = 2^k − 1.
  [[nodiscard]] index_t fraction_count() const noexcept { return (index_t(1) << k) - 1; }
  /// The row of a set of positions. \throws invalid_argument for no position, a position out of
  /// [0, k) or a repeated one.
  [[nodiscard]] index_t subset(std::span<const index_t> positions) const {
    return detail::subset_row(k, positions, "partition_analysis_result::subset");
  }
  [[nodiscard]] index_t subset(std::initializer_list<index_t> positions) const {
    return subset(std::span<const index_t>(positions.begin(), positions.size()));
  }
  /// 1 × R: the unique fraction of position j.
  [[nodiscard]] Eigen::RowVectorXd unique(index_t j) const { return fractions.row(subset({j})); }
  /// 1 × R: R² (adjusted, as partitioned) of all k together.
  [[nodiscard]] Eigen::RowVectorXd total() const { return unions.row(unions.rows() - 1); }
  /// The name of the model (or group) at position j of an ROI.
  [[nodiscard]] const std::string& name(index_t j, index_t roi) const {
    check(j, roi, "partition_analysis_result::name");
    return names[static_cast<std::size_t>(members(j, roi))];
  }
  /// Column of an ROI by name. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t roi_index(std::string_view roi) const {
    const auto it = std::ranges::find(rois, roi);
    if (it == rois.end())
      detail::throw_invalid_argument("partition_analysis_result::roi_index",
                                     detail::concat("expected the name of one of the ", rois.size(),
                                                    " ROIs, got '", roi, "'"));
    return static_cast<index_t>(it - rois.begin());
  }
  /// 1 × R: two-sided p-value of the difference of the unique fractions of positions a and b.
  [[nodiscard]] Eigen::RowVectorXd p_pair(index_t a, index_t b) const {
    if (p_pairs.rows() != k * k || a < 0 || b < 0 || a >= k || b >= k)
      detail::throw_invalid_argument(
          "partition_analysis_result::p_pair",
          detail::concat("expected positions in [0, ", k, ") of a result with differences, got ", a,
                         " and ", b));
    return p_pairs.row(a * k + b);
  }

  /// \brief The bars of an ROI's panel, one per position (rank order, or group order): name,
  /// unique fraction, bootstrap SE and interval, p-values. The panel's title is total()[roi].
  [[nodiscard]] std::vector<partition_bar> bars(index_t roi) const {
    check(0, roi, "partition_analysis_result::bars");
    const auto at = [roi](const Eigen::MatrixXd& m, index_t row) {
      return m.size() == 0 ? std::numeric_limits<double>::quiet_NaN() : m(row, roi);
    };
    std::vector<partition_bar> out;
    for (index_t j = 0; j < k; ++j) {
      const index_t row = subset({j});
      out.push_back({.name = name(j, roi),
                     .index = members(j, roi),
                     .score = at(member_scores, j),
                     .unique = fractions(row, roi),
                     .standard_error = at(bootstrap.standard_error, row),
                     .lower = at(bootstrap.lower, row),
                     .upper = at(bootstrap.upper, row),
                     .p_value = at(permutation.p_value, row),
                     .p_corrected = at(p_corrected, row),
                     .p_selection = at(selection.p_value, row),
                     .p_selection_corrected = at(p_selection_corrected, row),
                     .subject_p = at(subject_p, row),
                     .subject_p_corrected = at(subject_p_corrected, row)});
    }
    return out;
  }
  [[nodiscard]] std::vector<partition_bar> bars(std::string_view roi) const {
    return bars(roi_index(roi));
  }

 private:
  void check(index_t j, index_t roi, const char* function) const {
    if (j < 0 || j >= k || roi < 0 || roi >= members.cols())
      detail::throw_invalid_argument(
          function, detail::concat("expected a position in [0, ", k, ") and an ROI in [0, ",
                                   members.cols(), "), got ", j, " and ", roi));
  }
};

namespace detail {

// Designs of more sets than this make the selection-adjusted test too costly to be a default.
inline constexpr index_t max_selection_designs = 20000;

// Throws if the selection-adjusted test of the top k of D models needs more than
// max_selection_designs designs (Σ C(D, j) for j ≤ k).
inline void check_selection_size(index_t count, index_t k) {
  index_t designs = 0;
  for (index_t j = 1, c = 1; j <= k; ++j) {  // stops once it is too many, before any overflow
    c = c * (count - j + 1) / j;
    designs += c;
    if (designs > max_selection_designs)
      throw_invalid_argument(
          "top_k_partitioning",
          concat("expected at most ", max_selection_designs,
                 " sets of at most k models for the selection-adjusted test, got more for k = ", k,
                 " of ", count, " models (selection_adjusted = false does without)"));
  }
}

/// \brief The fractions of the top k models of each target, the models ranked on that target
/// by `Ranker` (any resampling statistic of the set's D models): the statistic of the whole
/// select-then-partition procedure, whose permutation null accounts for the selection.
///
/// Every set of at most k models is one design of a design_set (one fit per target scores them
/// all); a target's top k pick the 2^k − 1 unions of its partitioning, whose fractions follow by
/// commonality(). Row s − 1: the subset s of rank positions.
template <typename Ranker>
class top_k_statistic {
 public:
  top_k_statistic(Ranker ranker, const model_set& models, index_t k, partition_options options)
      : top_k_statistic(std::move(ranker), k, options, sets_of(models, k)) {}

  [[nodiscard]] index_t size() const noexcept { return (index_t(1) << m_k) - 1; }
  [[nodiscard]] index_t pairs() const noexcept { return m_unions.pairs(); }
  [[nodiscard]] index_t min_pairs() const noexcept {
    return std::max<index_t>(m_ranker.min_pairs(), m_unions.min_pairs());
  }

  template <typename Derived>
  [[nodiscard]] Eigen::MatrixXd operator()(const Eigen::MatrixBase<Derived>& targets) const {
    const Eigen::MatrixXd ranks = m_ranker(targets);
    const Eigen::MatrixXd unions = fit(m_unions, targets.derived()).score(m_options.score);
    Eigen::MatrixXd selected(size(), targets.cols());
    std::vector<index_t> members;
    for (index_t t = 0; t < targets.cols(); ++t) {
      const std::vector<index_t> order = descending_order(ranks.col(t));
      for (index_t s = 1; s <= size(); ++s) {
        members.clear();
        for (index_t j = 0; j < m_k; ++j)
          if (s >> j & 1) members.push_back(order[static_cast<std::size_t>(j)]);
        std::sort(members.begin(), members.end());
        selected(s - 1, t) = unions(m_index->at(members), t);
      }
    }
    return commonality(selected);
  }

  [[nodiscard]] top_k_statistic gathered(std::span<const index_t> sources) const {
    return top_k_statistic(m_ranker.gathered(sources), m_k, m_options,
                           {m_index, m_unions.gathered(sources)});
  }

 private:
  using set_index = std::map<std::vector<index_t>, index_t>;  // sorted models → design
  struct sets {
    std::shared_ptr<const set_index> index;
    design_set<double> designs;
  };

  top_k_statistic(Ranker ranker, index_t k, partition_options options, sets all)
      : m_ranker(std::move(ranker)),
        m_k(k),
        m_options(options),
        m_index(std::move(all.index)),
        m_unions(std::move(all.designs)) {}

  // One design per set of 1 to k models (their layer RDMs side by side), and its index.
  static sets sets_of(const model_set& models, index_t k) {
    const index_t count = models.size(), layers = models.layer_count();
    auto index = std::make_shared<set_index>();
    std::vector<Eigen::MatrixXd> rdms;
    for (index_t d = 0; d < count; ++d) rdms.push_back(models.rdms(d).values());
    std::vector<design> all;
    std::vector<index_t> members;
    // Every sorted set of 1 to k models, by recursion on the next member.
    const auto add = [&](const auto& self, index_t from) -> void {
      if (!members.empty()) {
        Eigen::MatrixXd x(models.pairs(), static_cast<index_t>(members.size()) * layers);
        for (std::size_t i = 0; i < members.size(); ++i)
          x.middleCols(static_cast<index_t>(i) * layers, layers) =
              rdms[static_cast<std::size_t>(members[i])];
        index->emplace(members, static_cast<index_t>(all.size()));
        all.emplace_back(x);
      }
      if (static_cast<index_t>(members.size()) == k) return;
      for (index_t d = from; d < count; ++d) {
        members.push_back(d);
        self(self, d + 1);
        members.pop_back();
      }
    };
    add(add, 0);
    return {std::move(index), design_set<double>(std::move(all))};
  }

  Ranker m_ranker;
  index_t m_k;
  partition_options m_options;
  std::shared_ptr<const set_index> m_index;
  design_set<double> m_unions;
};

// The rows of the fractions in a correction family: the unique fractions (rows 2^j − 1) or all.
[[nodiscard]] inline std::vector<index_t> family_rows(index_t k, partition_family family) {
  std::vector<index_t> rows;
  for (index_t s = 1; s < (index_t(1) << k); ++s)
    if (family == partition_family::all_fractions ||
        std::has_single_bit(static_cast<std::uint64_t>(s)))
      rows.push_back(s - 1);
  return rows;
}

// p restricted to the rows `rows` (with every column) and corrected as one family; NaN elsewhere.
[[nodiscard]] inline Eigen::MatrixXd corrected_rows(const Eigen::MatrixXd& p,
                                                    const std::vector<index_t>& rows,
                                                    correction method) {
  Eigen::MatrixXd out =
      Eigen::MatrixXd::Constant(p.rows(), p.cols(), std::numeric_limits<double>::quiet_NaN());
  if (p.size() == 0) return Eigen::MatrixXd();
  Eigen::MatrixXd family(static_cast<index_t>(rows.size()), p.cols());
  for (std::size_t i = 0; i < rows.size(); ++i)
    family.row(static_cast<index_t>(i)) = p.row(rows[i]);
  const Eigen::MatrixXd adjusted = corrected(family, method);
  for (std::size_t i = 0; i < rows.size(); ++i)
    out.row(rows[i]) = adjusted.row(static_cast<index_t>(i));
  return out;
}

inline void check_partition_options(const partition_analysis_options& options,
                                    const char* function) {
  check_resampling(options.permutations, options.bootstrap_samples, options.level, function);
  if (options.partition.score == regression_score::multiple_r) throw_bad_partition_score(function);
}

// Everything but the selection-adjusted test. ROI r is partitioned by partitionings[which[r]]
// (ROIs with the same models share one). out has names, rois, groups, k, members and
// member_scores.
inline void partition_rois(const std::vector<variance_partitioning<double>>& partitionings,
                           const std::vector<variance_partitioning<double>>& summed,
                           const std::vector<index_t>& which, const roi_set& rois,
                           const partition_analysis_options& options,
                           partition_analysis_result& out) {
  const index_t count = rois.size(), f = out.fraction_count(), k = out.k;
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  out.unions.resize(f, count);
  out.fractions.resize(f, count);
  if (options.subject_tests)
    for (Eigen::MatrixXd* m : {&out.subject_mean, &out.subject_sem, &out.subject_t, &out.subject_p})
      m->setConstant(f, count, nan);
  const permutation_options po{.permutations = options.permutations,
                               .seed = options.seed,
                               .scheme = options.scheme,
                               .differences = options.differences,
                               .strategy = permutation_strategy::permute_targets};
  report(options.progress, "partitions", 0, count);
  for (index_t r = 0; r < count; ++r) {
    const auto& vp = partitionings[static_cast<std::size_t>(which[static_cast<std::size_t>(r)])];
    const rdm<double> mean = rois.mean_rdm(r);
    const partition_result fitted = fit(vp, mean, options.partition);
    out.unions.col(r) = fitted.unions.col(0);
    out.fractions.col(r) = fitted.fractions.col(0);
    if (options.subject_tests) {
      out.subject_fractions.push_back(fit(vp, rois.subject_rdms(r), options.partition).fractions);
      const ttest_result t = ttest_one_sample(out.subject_fractions.back().transpose(), 0.0,
                                              alternative::greater, nan_policy::propagate);
      out.subject_mean.col(r) = t.estimate;
      out.subject_sem.col(r) = t.sem;
      out.subject_t.col(r) = t.statistic;
      out.subject_p.col(r) = t.p_value;
    }
    if (options.permutations > 0)
      out.permutation.append(
          permutation_test(partition_statistic<double>(vp, options.partition), mean, po));
    report(options.progress, "partitions", r + 1, count);
  }

  if (options.bootstrap_samples > 0) {
    // One bootstrap per partitioning, of all its ROIs: every resample refits the models once, and
    // a target's draws do not depend on the other targets, so the result is that of one ROI at a
    // time.
    const rdm_stack<double> means = rois.mean_rdms();
    Eigen::MatrixXd estimate(f, count), draws(options.bootstrap_samples, f * count);
    const auto distinct = static_cast<index_t>(partitionings.size());
    report(options.progress, "bootstrap", 0, distinct);
    for (index_t q = 0; q < distinct; ++q) {
      std::vector<index_t> members;
      for (index_t r = 0; r < count; ++r)
        if (which[static_cast<std::size_t>(r)] == q) members.push_back(r);
      Eigen::MatrixXd targets(means.pairs(), static_cast<index_t>(members.size()));
      for (std::size_t j = 0; j < members.size(); ++j)
        targets.col(static_cast<index_t>(j)) = means.column(members[j]);
      const bootstrap_options bo{
          .samples = options.bootstrap_samples, .seed = options.seed + 1, .level = options.level};
      const bootstrap_result part =
          options.error_bars == error_bar_method::paper_subsamples
              ? subsample_conditions(partition_statistic<double>(
                                         summed[static_cast<std::size_t>(q)], options.partition),
                                     targets, rois.conditions() * 9 / 10, bo)
              : bootstrap_conditions(
                    partition_statistic<double>(partitionings[static_cast<std::size_t>(q)],
                                                options.partition),
                    targets, bo);
      for (std::size_t j = 0; j < members.size(); ++j) {
        const index_t r = members[j];
        estimate.col(r) = part.estimate.col(static_cast<index_t>(j));
        for (index_t s = 0; s < f; ++s)
          draws.col(s + f * r) = part.distribution(s, static_cast<index_t>(j));
      }
      report(options.progress, "bootstrap", q + 1, distinct);
    }
    out.bootstrap = bootstrap_result(std::move(estimate), std::move(draws), options.level);
  }

  const std::vector<index_t> family = family_rows(k, options.family);
  if (options.subject_tests)
    out.subject_p_corrected = corrected_rows(out.subject_p, family, options.correction);
  if (options.permutations == 0) return;
  out.p_corrected = corrected_rows(out.permutation.p_value, family, options.correction);
  if (!options.differences) return;
  out.p_pairs.setConstant(k * k, count, nan);
  std::vector<index_t> pairs;  // rows a·k + b, a < b
  for (index_t a = 0; a < k; ++a)
    for (index_t b = a + 1; b < k; ++b) {
      const index_t ra = (index_t(1) << a) - 1, rb = (index_t(1) << b) - 1;
      const Eigen::RowVectorXd ab = out.permutation.p_difference(ra, rb),
                               ba = out.permutation.p_difference(rb, ra);
      for (index_t r = 0; r < count; ++r)
        if (!std::isnan(ab[r]) && !std::isnan(ba[r]))
          out.p_pairs(a * k + b, r) = out.p_pairs(b * k + a, r) =
              std::min(1.0, 2.0 * std::min(ab[r], ba[r]));
      pairs.push_back(a * k + b);
    }
  out.p_pairs_corrected = corrected_rows(out.p_pairs, pairs, options.correction);
  for (index_t a = 0; a < k; ++a)  // mirrored
    for (index_t b = a + 1; b < k; ++b)
      out.p_pairs_corrected.row(b * k + a) = out.p_pairs_corrected.row(a * k + b);
}

inline void check_partition_inputs(const model_set& models, const roi_set& rois, bool groups,
                                   const partition_analysis_options& options,
                                   const char* function) {
  check_partition_options(options, function);
  check_inputs(
      models, rois, groups,
      options.subject_tests ? "subject tests (subject_tests = false does without)" : nullptr,
      function);
}

// Throws unless the top k of `given` (a roi_result's scores) are those of `own` (the same score
// on these ROIs' subject-mean RDMs): the selection-adjusted test repeats the ranking on this data.
inline void check_same_selection(const Eigen::MatrixXd& own, const Eigen::MatrixXd& given,
                                 const roi_set& rois, index_t k, const char* function) {
  for (index_t r = 0; r < rois.size(); ++r) {
    const std::vector<index_t> a = descending_order(own.col(r)), b = descending_order(given.col(r));
    if (!std::equal(a.begin(), a.begin() + k, b.begin()))
      throw_invalid_argument(
          function,
          concat("expected an roi_result of these ROIs' data for the selection-adjusted test, "
                 "which ranks the models again on it; got other top models for ROI '",
                 rois.names()[static_cast<std::size_t>(r)],
                 "' (a ranking from independent data needs selection_adjusted = false)"));
  }
}

// The top-k analysis with ranking scores `scores` (D × R) and the statistic that made them.
template <typename Ranker>
partition_analysis_result top_k_with(const Ranker& ranker, const Eigen::MatrixXd& scores,
                                     const model_set& models, const roi_set& rois,
                                     const dnn2brain::scoring& rank_by,
                                     const partition_analysis_options& options) {
  const index_t count = rois.size(), k = std::min(options.top, models.size());
  if (options.permutations > 0 && options.selection_adjusted)
    check_selection_size(models.size(), k);
  partition_analysis_result out;
  out.names = models.names();
  out.rois = rois.names();
  out.k = k;
  out.rank_by = rank_by;
  out.partition = options.partition;
  out.members.resize(k, count);
  out.member_scores.resize(k, count);
  // One partitioning per distinct ranked set of models.
  std::vector<std::vector<index_t>> sets;
  std::vector<variance_partitioning<double>> partitionings, summed;
  std::vector<index_t> which;
  for (index_t r = 0; r < count; ++r) {
    const std::vector<index_t> order = descending_order(scores.col(r));
    const std::vector<index_t> top(order.begin(), order.begin() + k);
    for (index_t j = 0; j < k; ++j) {
      out.members(j, r) = top[static_cast<std::size_t>(j)];
      out.member_scores(j, r) = scores(out.members(j, r), r);
    }
    const auto known = std::ranges::find(sets, top);
    which.push_back(static_cast<index_t>(known - sets.begin()));
    if (known == sets.end()) {
      sets.push_back(top);
      partitionings.push_back(models.partitioning<double>(top));
      if (options.error_bars == error_bar_method::paper_subsamples) {
        std::vector<Eigen::MatrixXd> layers;
        layers.reserve(top.size());
        for (const index_t d : top) layers.push_back(models.rdms(d).values());
        summed.push_back(paper::summed_partitioning(layers));
      }
    }
  }
  partition_rois(partitionings, summed, which, rois, options, out);

  if (options.permutations > 0 && options.selection_adjusted) {
    const top_k_statistic<Ranker> statistic(ranker, models, k, options.partition);
    const permutation_options po{.permutations = options.permutations,
                                 .seed = options.seed,
                                 .scheme = options.scheme,
                                 .differences = options.differences,
                                 .strategy = permutation_strategy::permute_targets};
    report(options.progress, "selection permutations", 0, count);
    for (index_t r = 0; r < count; ++r) {
      out.selection.append(permutation_test(statistic, rois.mean_rdm(r), po));
      report(options.progress, "selection permutations", r + 1, count);
    }
    out.p_selection_corrected =
        corrected_rows(out.selection.p_value, family_rows(k, options.family), options.correction);
  }
  return out;
}

}  // namespace detail

/// \brief The paper's Fig. 2 analysis: on each ROI, the k models whose scores (options.rank_by)
/// on the subject-mean RDM are highest, in rank order, and the partitioning of that RDM's
/// variance among them (each model one group of its layer RDMs): every unique and shared
/// fraction, the total R², and their inference.
///
/// - fractions: fit(model_set::partitioning(top), mean RDM), adjusted R² by default;
/// - permutation (models fixed): each fraction against the condition-label null, one-sided, and
///   the two-sided differences of unique fractions (p_pairs);
/// - selection (selection_adjusted): each fraction against the null of the whole procedure,
///   ranking and selection included, repeated on every permuted RDM;
/// - bootstrap (models fixed): standard errors and percentile intervals of every fraction;
/// - subject tests: the fractions of every subject's RDM, t-tested against 0;
/// - corrections across ROIs × fractions (options.family) and ROIs × pairs.
///
/// The k models are chosen on the data they are then tested on; see docs/analysis.md for what
/// each p-value does and does not control. Results are the same for any thread count.
/// \throws invalid_argument for top < 1, more than variance_partitioning::max_groups models, the
/// score multiple_r as what is partitioned, and as roi_analysis().
[[nodiscard]] inline partition_analysis_result top_k_partitioning(
    const model_set& models, const roi_set& rois, const partition_analysis_options& options = {}) {
  constexpr const char* function = "top_k_partitioning";
  if (options.top < 1 || options.top > variance_partitioning<double>::max_groups)
    detail::throw_invalid_argument(
        function, detail::concat("expected top in [1, ", variance_partitioning<double>::max_groups,
                                 "], got ", options.top));
  detail::check_partition_inputs(models, rois, false, options, function);
  return detail::with_model_statistic<double>(
      models, options.rank_by, false, function, [&](const auto& ranker) {
        const Eigen::MatrixXd scores = ranker(rois.mean_rdms().values());
        return detail::top_k_with(ranker, scores, models, rois, options.rank_by, options);
      });
}

/// \brief top_k_partitioning() with the ranking of an roi_analysis() of the same models (not
/// groups) and ROIs: its scores rank the models, and its scoring is the ranking score
/// (options.rank_by is ignored).
///
/// A ranking from independent data (other subjects or sessions, whose roi_set has the same ROI
/// names) makes the selection independent of the RDMs tested, and the fixed-set p-values valid;
/// set selection_adjusted = false then, since that test ranks the models again on these RDMs.
/// \throws invalid_argument if the result's models or ROIs are not the set's, it scored groups,
/// or (selection_adjusted) its top k differ from the top k of these ROIs' own scores.
[[nodiscard]] inline partition_analysis_result top_k_partitioning(
    const model_set& models, const roi_set& rois, const roi_result& ranking,
    const partition_analysis_options& options = {}) {
  constexpr const char* function = "top_k_partitioning";
  if (ranking.groups || ranking.models != models.names() || ranking.rois != rois.names() ||
      ranking.scores.rows() != models.size() || ranking.scores.cols() != rois.size())
    detail::throw_invalid_argument(
        function, detail::concat("expected an roi_result of the set's ", models.size(),
                                 " models on its ", rois.size(), " ROIs, got one of ",
                                 ranking.models.size(), ranking.groups ? " groups" : " models",
                                 " on ", ranking.rois.size(), " ROIs"));
  auto adjusted = options;
  adjusted.rank_by = ranking.scoring;
  if (options.top < 1 || options.top > variance_partitioning<double>::max_groups)
    detail::throw_invalid_argument(
        function, detail::concat("expected top in [1, ", variance_partitioning<double>::max_groups,
                                 "], got ", options.top));
  detail::check_partition_inputs(models, rois, false, adjusted, function);
  return detail::with_model_statistic<double>(
      models, ranking.scoring, false, function, [&](const auto& ranker) {
        if (adjusted.permutations > 0 && adjusted.selection_adjusted)
          detail::check_same_selection(ranker(rois.mean_rdms().values()), ranking.scores, rois,
                                       std::min(adjusted.top, models.size()), function);
        return detail::top_k_with(ranker, ranking.scores, models, rois, ranking.scoring, adjusted);
      });
}

/// \brief The paper's Fig. 3b analysis: on each ROI, the partitioning of the subject-mean RDM's
/// variance among all the model set's groups (each group its mean layer RDMs), in group order,
/// with the inference of top_k_partitioning() (no selection: `selection` stays empty).
/// member_scores are the groups' own scores (options.rank_by).
/// \throws invalid_argument for a set without groups or with more than
/// variance_partitioning::max_groups, and as top_k_partitioning().
[[nodiscard]] inline partition_analysis_result grouped_partitioning(
    const model_set& models, const roi_set& rois, const partition_analysis_options& options = {}) {
  constexpr const char* function = "grouped_partitioning";
  detail::check_partition_inputs(models, rois, true, options, function);
  const index_t groups = models.group_count(), count = rois.size();
  if (groups > variance_partitioning<double>::max_groups)
    detail::throw_invalid_argument(
        function, detail::concat("expected at most ", variance_partitioning<double>::max_groups,
                                 " groups, got ", groups));
  partition_analysis_result out;
  out.names = models.group_names();
  out.rois = rois.names();
  out.groups = true;
  out.k = groups;
  out.rank_by = options.rank_by;
  out.partition = options.partition;
  out.members.resize(groups, count);
  for (index_t r = 0; r < count; ++r)
    for (index_t g = 0; g < groups; ++g) out.members(g, r) = g;
  out.member_scores = detail::with_model_statistic<double>(
      models, options.rank_by, true, function, [&](const auto& statistic) -> Eigen::MatrixXd {
        return statistic(rois.mean_rdms().values());
      });
  std::vector<variance_partitioning<double>> summed;
  if (options.error_bars == error_bar_method::paper_subsamples) {
    std::vector<Eigen::MatrixXd> layers;
    layers.reserve(static_cast<std::size_t>(groups));
    for (index_t g = 0; g < groups; ++g) layers.push_back(models.group_rdms(g).values());
    summed.push_back(paper::summed_partitioning(layers));
  }
  detail::partition_rois({models.group_partitioning<double>()}, summed,
                         std::vector<index_t>(static_cast<std::size_t>(count), 0), rois, options,
                         out);
  return out;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_PARTITION_ANALYSIS_HPP
