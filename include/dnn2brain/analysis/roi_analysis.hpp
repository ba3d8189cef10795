#ifndef DNN2BRAIN_ANALYSIS_ROI_ANALYSIS_HPP
#define DNN2BRAIN_ANALYSIS_ROI_ANALYSIS_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/ceiling.hpp>
#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/scoring.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/stats/bootstrap.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>
#include <dnn2brain/stats/permutation.hpp>
#include <dnn2brain/stats/ttest.hpp>

namespace dnn2brain {

/// \brief Regions of interest: each a named stack of the subjects' RDMs (pairs × subjects) over
/// the same conditions, with the same subjects in every region, and each region's subject-mean
/// RDM (the target of the paper's analyses).
///
/// RDMs come in float or double and are held in double: 25 ROIs × 15 subjects × 1225 pairs is
/// 3.7 MB. A subject's RDM must be finite and not constant (a constant RDM has no score).
class roi_set {
 public:
  roi_set() = default;

  /// \brief Adds a region: one subject RDM per column, in the same subject order as every other
  /// region. \throws invalid_argument for an empty or repeated name, no subject, fewer than 3
  /// conditions, conditions or a subject count that differ from the set's, non-finite entries
  /// or a constant subject RDM (naming the region, the subject and the pair).
  template <std::floating_point S>
  roi_set& add(std::string_view name, const rdm_stack<S>& subjects) {
    constexpr const char* function = "roi_set::add";
    if (name.empty() || index_of(name) >= 0)
      detail::throw_invalid_argument(
          function, detail::concat("expected a new, non-empty ROI name, got '", name, "'",
                                   name.empty() ? "" : ", which is already in the set"));
    if (subjects.size() < 1 || subjects.conditions() < 3)
      detail::throw_invalid_argument(
          function, detail::concat("expected at least one subject RDM of at least 3 conditions, "
                                   "got ",
                                   subjects.size(), " RDMs of ", subjects.conditions(),
                                   " conditions for ROI '", name, "'"));
    if (size() > 0 && subjects.conditions() != m_conditions)
      detail::throw_invalid_argument(
          function,
          detail::concat("expected RDMs over the set's ", m_conditions, " conditions, got ",
                         subjects.conditions(), " for ROI '", name, "'"));
    if (size() > 0 && subjects.size() != this->subjects())
      detail::throw_invalid_argument(
          function,
          detail::concat("expected the set's ", this->subjects(), " subjects, got RDMs of ",
                         subjects.size(), " for ROI '", name, "'"));
    Eigen::MatrixXd values = subjects.values().template cast<double>();
    detail::require_finite(values, function, "dissimilarities", [&](index_t k, index_t s) {
      return detail::concat(detail::pair_name(values.rows(), k), " of subject ", s, " in ROI '",
                            name, "'");
    });
    for (index_t s = 0; s < values.cols(); ++s)
      if (values.col(s).minCoeff() == values.col(s).maxCoeff())
        detail::throw_invalid_argument(
            function, detail::concat("expected subject RDMs that vary, got a constant RDM (",
                                     values(0, s), ") for subject ", s, " in ROI '", name, "'"));
    if (size() == 0) {
      m_conditions = subjects.conditions();
      m_means.resize(values.rows(), 0);
    }
    m_means.conservativeResize(Eigen::NoChange, m_means.cols() + 1);
    m_means.col(m_means.cols() - 1) = subject_mean(values);
    m_names.emplace_back(name);
    m_rdms.push_back(rdm_stack<double>::from_columns(values, m_conditions));
    return *this;
  }

  /// Number of regions.
  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(m_names.size()); }
  /// Subjects of every region (0 before the first).
  [[nodiscard]] index_t subjects() const noexcept {
    return m_rdms.empty() ? 0 : m_rdms.front().size();
  }
  /// Conditions of every RDM (0 before the first).
  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }
  [[nodiscard]] index_t pairs() const noexcept { return m_means.rows(); }
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return m_names; }

  /// Index of a region by name. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t index(std::string_view name) const {
    const index_t r = index_of(name);
    if (r < 0)
      detail::throw_invalid_argument(
          "roi_set::index",
          detail::concat("expected the name of one of the ", size(), " ROIs, got '", name, "'"));
    return r;
  }

  /// Region r's subject RDMs: pairs × subjects. \throws invalid_argument out of range.
  [[nodiscard]] const rdm_stack<double>& subject_rdms(index_t r) const {
    check(r, "roi_set::subject_rdms");
    return m_rdms[static_cast<std::size_t>(r)];
  }
  /// Region r's subject-mean RDM (subjects summed in order, then divided by their count).
  [[nodiscard]] rdm<double> mean_rdm(index_t r) const {
    check(r, "roi_set::mean_rdm");
    return rdm<double>(m_means.col(r));
  }
  /// Every region's subject-mean RDM: pairs × regions, in names() order.
  [[nodiscard]] rdm_stack<double> mean_rdms() const {
    if (size() == 0)
      detail::throw_invalid_argument("roi_set::mean_rdms", "expected a set with ROIs, got none");
    return rdm_stack<double>::from_columns(m_means, m_conditions);
  }

 private:
  [[nodiscard]] index_t index_of(std::string_view name) const noexcept {
    const auto it = std::ranges::find(m_names, name);
    return it == m_names.end() ? -1 : static_cast<index_t>(it - m_names.begin());
  }
  void check(index_t r, const char* function) const {
    if (r < 0 || r >= size())
      detail::throw_invalid_argument(
          function, detail::concat("expected an ROI in [0, ", size(), "), got ", r));
  }
  [[nodiscard]] static Eigen::VectorXd subject_mean(const Eigen::MatrixXd& values) {
    Eigen::VectorXd sum = values.col(0);
    for (index_t s = 1; s < values.cols(); ++s) sum += values.col(s);
    return sum / static_cast<double>(values.cols());
  }

  std::vector<std::string> m_names;
  std::vector<rdm_stack<double>> m_rdms;  // per region: pairs × subjects
  Eigen::MatrixXd m_means;                // pairs × regions
  index_t m_conditions = 0;
};

/// How the error bars (bootstrap_result) of an analysis resample the conditions.
enum class error_bar_method {
  /// A condition bootstrap with replacement, refitting the analysed models (the default).
  bootstrap,
  /// The paper's: subsamples of int(0.9 n) conditions without replacement (45 of 50); variance
  /// partitioning refits its summed unions (paper::summed_partitioning). The error bar is
  /// standard_error. About 3× too narrow, and for partitions not an error of the plotted
  /// fractions: the bootstrap_result's estimate, intervals and differences then describe the
  /// summed models. For reproducing the paper only.
  paper_subsamples,
};

/// Options of roi_analysis().
struct roi_options {
  /// How a model (or group) is scored against an RDM.
  dnn2brain::scoring score{};
  /// Score the model set's groups (their mean layer RDMs) instead of its models.
  bool groups = false;
  /// Score every subject's RDM and test the subject scores (t-tests). Needs 2 subjects.
  bool subject_tests = true;
  /// Condition-label permutations of each subject-mean RDM; 0 skips the permutation test.
  index_t permutations = 10000;
  /// conditions (correct, the default) or pairs (the paper's entry permutation, anti-conservative).
  permutation_scheme scheme = permutation_scheme::conditions;
  /// Also test every ordered model difference by permutation (D² counts per permutation).
  bool differences = true;
  /// Condition bootstrap samples for standard errors and intervals; 0 skips the bootstrap.
  index_t bootstrap_samples = 1000;
  error_bar_method error_bars = error_bar_method::bootstrap;
  /// Coverage of the bootstrap percentile intervals.
  double level = 0.95;
  /// Correction of the permutation and subject p-values across the D × R family of models (or
  /// groups) and ROIs.
  dnn2brain::correction correction = dnn2brain::correction::benjamini_hochberg;
  ceiling_options ceiling{};
  /// The permutations use random_stream(seed, b), the bootstrap random_stream(seed + 1, b).
  std::uint64_t seed = 0;
  progress_callback progress{};
};

namespace detail {

// Indices of scores by descending value, NaN last, ties in index order.
[[nodiscard]] inline std::vector<index_t> descending_order(
    const Eigen::Ref<const Eigen::VectorXd>& scores) {
  std::vector<index_t> order(static_cast<std::size_t>(scores.size()));
  std::iota(order.begin(), order.end(), index_t(0));
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
    const double x = scores[a], y = scores[b];
    if (std::isnan(y)) return !std::isnan(x);
    return x > y;
  });
  return order;
}

}  // namespace detail

/// \brief What roi_analysis() found: D models (or groups) × R ROIs in every matrix.
///
/// Empty members belong to a part that was switched off (subject tests, permutations, bootstrap,
/// noise ceilings).
struct roi_result {
  std::vector<std::string> models;  ///< the D rows: model names, or group names
  std::vector<std::string> rois;    ///< the R columns
  dnn2brain::scoring scoring;       ///< how the scores were computed
  bool groups = false;              ///< whether the rows are the model set's groups
  index_t subjects = 0;

  /// D × R: the score of each ROI's subject-mean RDM (what the paper ranks and plots).
  Eigen::MatrixXd scores;

  /// Per ROI, D × S: the score of each subject's RDM.
  std::vector<Eigen::MatrixXd> subject_scores;
  /// D × R: mean and standard error of the subject scores, and their one-sample t-test against 0
  /// (alternative: greater), with S − 1 degrees of freedom.
  Eigen::MatrixXd subject_mean, subject_sem, subject_t, subject_p;
  /// D × R: subject_p corrected across the D × R family (roi_options::correction).
  Eigen::MatrixXd subject_p_corrected;
  /// (D·D) × R, row a·D + b: paired t-test of the subject scores of a − b (two-sided); NaN for
  /// a = b. Read through subject_t_difference() and subject_p_difference().
  Eigen::MatrixXd subject_differences_t, subject_differences_p;

  /// The permutation test of the subject-mean RDMs (observed = scores): p_value (D × R), p_best
  /// (R: the best model against the null of the best score over models), p_fwe (D × R:
  /// family-wise across ROIs, per model) and p_difference(a, b) (1 × R: a beats b).
  permutation_result permutation;
  /// D × R: permutation.p_value corrected across the D × R family.
  Eigen::MatrixXd p_corrected;

  /// The condition bootstrap of the subject-mean RDMs: standard_error, lower, upper (D × R) and
  /// difference(a, b).
  bootstrap_result bootstrap;

  /// Noise ceilings per ROI (1 × R), and each ROI's full result (per-subject bounds).
  Eigen::RowVectorXd ceiling_lower, ceiling_upper;
  std::vector<noise_ceiling_result> ceilings;
  /// The ceiling options as used (automatic choices resolved; compute = false if skipped).
  ceiling_options ceiling;

  /// Row of a model (or group) by name. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t model_index(std::string_view name) const {
    return find(models, name, "roi_result::model_index", "models");
  }
  /// Column of an ROI by name. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t roi_index(std::string_view name) const {
    return find(rois, name, "roi_result::roi_index", "ROIs");
  }

  /// \brief The models of an ROI by descending score (scores), NaN last, ties in model order.
  /// \throws invalid_argument for an ROI out of range.
  [[nodiscard]] std::vector<index_t> ranking(index_t roi) const {
    if (roi < 0 || roi >= scores.cols())
      detail::throw_invalid_argument(
          "roi_result::ranking",
          detail::concat("expected an ROI in [0, ", scores.cols(), "), got ", roi));
    return detail::descending_order(scores.col(roi));
  }
  [[nodiscard]] std::vector<index_t> ranking(std::string_view roi) const {
    return ranking(roi_index(roi));
  }
  /// The best-scoring model of an ROI; −1 if every score is NaN.
  [[nodiscard]] index_t best(index_t roi) const {
    const std::vector<index_t> order = ranking(roi);
    return std::isnan(scores(order.front(), roi)) ? -1 : order.front();
  }
  [[nodiscard]] index_t best(std::string_view roi) const { return best(roi_index(roi)); }

  /// 1 × R: paired t (and its two-sided p) of the subject scores of a − b.
  /// \throws invalid_argument without subject tests or for a model out of range.
  [[nodiscard]] Eigen::RowVectorXd subject_t_difference(index_t a, index_t b) const {
    return subject_differences_t.row(difference_row(a, b, "roi_result::subject_t_difference"));
  }
  [[nodiscard]] Eigen::RowVectorXd subject_p_difference(index_t a, index_t b) const {
    return subject_differences_p.row(difference_row(a, b, "roi_result::subject_p_difference"));
  }

 private:
  static index_t find(const std::vector<std::string>& names, std::string_view name,
                      const char* function, const char* what) {
    const auto it = std::ranges::find(names, name);
    if (it == names.end())
      detail::throw_invalid_argument(
          function, detail::concat("expected the name of one of the ", names.size(), " ", what,
                                   ", got '", name, "'"));
    return static_cast<index_t>(it - names.begin());
  }
  [[nodiscard]] index_t difference_row(index_t a, index_t b, const char* function) const {
    const auto d = static_cast<index_t>(models.size());
    if (subject_differences_t.rows() != d * d || a < 0 || b < 0 || a >= d || b >= d)
      detail::throw_invalid_argument(
          function,
          detail::concat("expected models in [0, ", d, ") of a result with subject tests, got ", a,
                         " and ", b,
                         subject_differences_t.rows() == d * d ? "" : " without subject tests"));
    return a * d + b;
  }
};

namespace detail {

// A D × R (or any) matrix of p-values corrected as one family; NaN stays NaN and out of it.
[[nodiscard]] inline Eigen::MatrixXd corrected(const Eigen::MatrixXd& p, correction method) {
  return adjust_p_values(p, method, nan_policy::omit).reshaped(p.rows(), p.cols());
}

inline void report(const progress_callback& progress, std::string_view step, index_t done,
                   index_t total) {
  if (progress) progress(step, done, total);
}

// Throws unless the resampling options make sense (0 switches a part off).
inline void check_resampling(index_t permutations, index_t samples, double level,
                             const char* function) {
  if (permutations < 0 || samples < 0)
    throw_invalid_argument(function, concat("expected permutations and bootstrap samples >= 0 (0 "
                                            "switches them off), got ",
                                            permutations, " and ", samples));
  if (samples > 0 && !(level > 0.0 && level < 1.0))
    throw_invalid_argument(function, concat("expected a bootstrap level in (0, 1), got ", level));
}

// Throws unless models and ROIs can be analysed together; per_subject: what needs 2 subjects and
// the options that switch it off, or null.
inline void check_inputs(const model_set& models, const roi_set& rois, bool groups,
                         const char* per_subject, const char* function) {
  models.check_complete(function);
  if (groups && models.group_count() == 0)
    throw_invalid_argument(function, "expected a model set with groups, got none");
  if (rois.size() == 0) throw_invalid_argument(function, "expected at least one ROI, got none");
  if (rois.conditions() != models.conditions())
    throw_invalid_argument(function,
                           concat("expected ROI RDMs over the model set's ", models.conditions(),
                                  " conditions, got ", rois.conditions(), " conditions"));
  if (per_subject != nullptr && rois.subjects() < 2)
    throw_invalid_argument(function,
                           concat("expected at least 2 subjects for ", per_subject, ", got ",
                                  rois.subjects(), " in ROI '", rois.names().front(), "'"));
}

// The subject-level part of an ROI analysis for ROI r: scores (D × S), one-sample and paired
// t-tests.
template <typename Statistic>
void subject_level(const Statistic& statistic, const rdm_stack<double>& subjects, index_t r,
                   roi_result& out) {
  const Eigen::MatrixXd scores = statistic(subjects.values());  // D × S
  const index_t d = scores.rows();
  const Eigen::MatrixXd samples = scores.transpose();  // S × D
  const ttest_result one =
      ttest_one_sample(samples, 0.0, alternative::greater, nan_policy::propagate);
  out.subject_mean.col(r) = one.estimate;
  out.subject_sem.col(r) = one.sem;
  out.subject_t.col(r) = one.statistic;
  out.subject_p.col(r) = one.p_value;
  Eigen::MatrixXd a(samples.rows(), d * d), b(samples.rows(), d * d);
  for (index_t i = 0; i < d; ++i)
    for (index_t j = 0; j < d; ++j) {
      a.col(i * d + j) = samples.col(i);
      b.col(i * d + j) = samples.col(j);
    }
  const ttest_result paired = ttest_paired(a, b, alternative::two_sided, nan_policy::propagate);
  out.subject_differences_t.col(r) = paired.statistic;
  out.subject_differences_p.col(r) = paired.p_value;
  for (index_t i = 0; i < d; ++i)  // a − a: no test
    out.subject_differences_t(i * d + i, r) = out.subject_differences_p(i * d + i, r) =
        std::numeric_limits<double>::quiet_NaN();
  out.subject_scores.push_back(scores);
}

template <typename Statistic>
roi_result roi_analysis_with(const Statistic& statistic, const model_set& models,
                             const roi_set& rois, const roi_options& options) {
  const index_t d = statistic.size(), count = rois.size();
  roi_result out;
  out.models = options.groups ? models.group_names() : models.names();
  out.rois = rois.names();
  out.scoring = options.score;
  out.groups = options.groups;
  out.subjects = rois.subjects();
  const rdm_stack<double> means = rois.mean_rdms();

  report(options.progress, "scores", 0, 1);
  out.scores = statistic(means.values());
  report(options.progress, "scores", 1, 1);

  if (options.subject_tests) {
    const auto nan = std::numeric_limits<double>::quiet_NaN();
    for (Eigen::MatrixXd* m : {&out.subject_mean, &out.subject_sem, &out.subject_t, &out.subject_p})
      m->setConstant(d, count, nan);
    out.subject_differences_t.setConstant(d * d, count, nan);
    out.subject_differences_p.setConstant(d * d, count, nan);
    report(options.progress, "subject scores", 0, count);
    for (index_t r = 0; r < count; ++r) {
      subject_level(statistic, rois.subject_rdms(r), r, out);
      report(options.progress, "subject scores", r + 1, count);
    }
    out.subject_p_corrected = corrected(out.subject_p, options.correction);
  }

  if (options.permutations > 0) {
    // One ROI at a time, for progress; the merged result is that of one call on all ROIs (a
    // target's counts do not depend on the others, and the strategy is pinned).
    const permutation_options po{.permutations = options.permutations,
                                 .seed = options.seed,
                                 .scheme = options.scheme,
                                 .differences = options.differences,
                                 .strategy = permutation_strategy::permute_targets};
    report(options.progress, "permutations", 0, count);
    for (index_t r = 0; r < count; ++r) {
      out.permutation.append(permutation_test(statistic, means.column(r), po));
      report(options.progress, "permutations", r + 1, count);
    }
    out.p_corrected = corrected(out.permutation.p_value, options.correction);
  }

  if (options.bootstrap_samples > 0) {
    // All ROIs in one call: every resample refits the models once for all of them.
    report(options.progress, "bootstrap", 0, 1);
    const bootstrap_options bo{
        .samples = options.bootstrap_samples, .seed = options.seed + 1, .level = options.level};
    out.bootstrap = options.error_bars == error_bar_method::paper_subsamples
                        ? subsample_conditions(statistic, means, rois.conditions() * 9 / 10, bo)
                        : bootstrap_conditions(statistic, means, bo);
    report(options.progress, "bootstrap", 1, 1);
  }

  out.ceiling = resolved_ceiling(options.ceiling, options.score.score);
  if (options.ceiling.compute) {
    out.ceiling_lower.resize(count);
    out.ceiling_upper.resize(count);
    report(options.progress, "noise ceilings", 0, count);
    for (index_t r = 0; r < count; ++r) {
      out.ceilings.push_back(ceiling_of(rois.subject_rdms(r), out.ceiling));
      out.ceiling_lower[r] = out.ceilings.back().lower;
      out.ceiling_upper[r] = out.ceilings.back().upper;
      report(options.progress, "noise ceilings", r + 1, count);
    }
  }
  return out;
}

}  // namespace detail

/// \brief Scores every model (or, with options.groups, every group) of a model set on every ROI,
/// with inference by subjects, by condition-label permutation and by condition bootstrap, and the
/// ROIs' noise ceilings.
///
/// - scores: the score (options.score) of each ROI's subject-mean RDM, D × R;
/// - subject tests: the score of each subject's RDM (D × S per ROI), their one-sample t-test
///   against 0 (greater) and paired t-tests of every model difference (two-sided);
/// - permutation_test of the subject-mean RDMs (condition labels by default): model p, best-model
///   p, model-difference p, family-wise across ROIs;
/// - bootstrap_conditions of the subject-mean RDMs: standard errors and percentile intervals;
/// - the permutation and subject p-values corrected across the D × R family;
/// - noise ceilings per ROI, on the scale of the subject scores (see ceiling_options).
///
/// The same permutations and resamples serve every ROI and model, and every part is a function
/// of (seed, sample), so the result is the same for any thread count.
/// \throws invalid_argument for an incomplete model set, no groups when asked for, no ROI, ROIs
/// over other conditions than the models', fewer than 2 subjects for subject tests or noise
/// ceilings, negative permutation or sample counts, a level outside (0, 1), or a scoring::layer
/// that is not a layer of the set.
[[nodiscard]] inline roi_result roi_analysis(const model_set& models, const roi_set& rois,
                                             const roi_options& options = {}) {
  constexpr const char* function = "roi_analysis";
  detail::check_resampling(options.permutations, options.bootstrap_samples, options.level,
                           function);
  detail::check_inputs(models, rois, options.groups,
                       options.subject_tests || options.ceiling.compute
                           ? "subject tests and noise ceilings (subject_tests = false and "
                             "ceiling.compute = false do without)"
                           : nullptr,
                       function);
  return detail::with_model_statistic<double>(
      models, options.score, options.groups, function, [&](const auto& statistic) {
        return detail::roi_analysis_with(statistic, models, rois, options);
      });
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_ROI_ANALYSIS_HPP
