#ifndef DNN2BRAIN_ANALYSIS_SEARCHLIGHT_ANALYSIS_HPP
#define DNN2BRAIN_ANALYSIS_SEARCHLIGHT_ANALYSIS_HPP

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/ceiling.hpp>
#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/scoring.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>
#include <dnn2brain/searchlight/searchlight_rdms.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>
#include <dnn2brain/stats/permutation.hpp>
#include <dnn2brain/stats/ttest.hpp>

namespace dnn2brain {

/// Options of searchlight_analysis().
struct searchlight_analysis_options {
  scoring score{};
  /// Score the set's groups (their mean layer RDMs) instead of its models (the paper's Fig. 3a).
  bool groups = false;
  /// Condition-label permutations of every searchlight (0: scores only). Permutation b is a
  /// function of (seed, b), so chunks and threads never change a p-value.
  index_t permutations = 1000;
  std::uint64_t seed = 0;
  /// permutation_scheme::pairs is the paper's entry permutation (anti-conservative; for
  /// paper-compatible runs only).
  permutation_scheme scheme = permutation_scheme::conditions;
  /// Besag–Clifford sequential stopping after this many exceedances (0: off). Stopped p-values are
  /// valid and exact as reported, but the family-wise null (p_fwe, max_null) is then not formed.
  index_t stop_after = 0;
  /// Count the null of every ordered model difference too (permutation_result::p_differences,
  /// D² × searchlights): the paper's pairwise tests, which its Fig. 3a map requires
  /// (runner_up_test::paper_differences).
  bool differences = false;
  /// Count the null of the best model's margin over the runner-up (permutation_result::
  /// p_runner_up), for map_options::runner_up = runner_up_test::permutation.
  bool runner_up = false;
  /// Score every subject's searchlight RDMs too, for inference across subjects: a one-sample
  /// t-test per model and a paired t-test of the best against the runner-up per searchlight.
  /// Needs the subjects' RDMs (not a subject-mean stack); costs one fit per subject.
  bool subject_tests = false;
  /// Noise ceilings per searchlight (Nili et al. 2014), from the subjects' RDMs; off by default
  /// (a ranking of every subject's RDM per searchlight under Spearman).
  ceiling_options ceiling{.compute = false};
  /// Bytes of searchlight RDMs held at once (the chunk of centres analysed together, every
  /// subject's RDMs of it when subject_tests or ceiling.compute need them). Results do not depend
  /// on it; larger chunks amortise the per-chunk preparation of the permuted models.
  std::size_t memory_budget = std::size_t{256} << 20;
  /// Called after each chunk with ("searchlights", searchlights done, total).
  progress_callback progress{};
};

/// \brief Results of a searchlight analysis: D models (or groups) × T searchlights, in table order.
struct searchlight_result {
  std::vector<std::string> models;  ///< the D models (or groups) scored
  model_score score_kind = model_score::adjusted_r_squared;
  index_t subjects = 0;  ///< 0 when the analysis was given a subject-mean stack
  /// D × T: the score of every model on the subject-mean RDM of every searchlight.
  Eigen::MatrixXd scores;
  /// The permutation test (p_value, p_best, p_runner_up, p_fwe, max_null); empty without
  /// permutations.
  permutation_result permutation;
  /// D × T one-sample t and p (greater than 0) of the subjects' scores; empty unless subject_tests.
  Eigen::MatrixXd subject_t, subject_p;
  /// T: paired t-test p (greater) of the best model (on the mean RDM) against the runner-up over
  /// subjects; empty unless subject_tests.
  Eigen::VectorXd runner_up_subject_p;
  /// T: lower and upper noise ceilings per searchlight (the scale of `ceiling`); empty unless
  /// ceiling.compute.
  Eigen::VectorXd ceiling_lower, ceiling_upper;
  /// The ceilings' measure and squaring as used (automatic choices resolved).
  ceiling_options ceiling{.compute = false};
  /// Searchlights whose subject-mean RDM has an undefined (NaN) entry: a constant pattern in some
  /// subject, or NaN in precomputed RDMs. Their scores and p-values are NaN.
  index_t degenerate = 0;
  index_t chunks = 0;

  [[nodiscard]] index_t model_count() const noexcept { return scores.rows(); }
  [[nodiscard]] index_t searchlights() const noexcept { return scores.cols(); }
};

namespace detail {

// The RDM stacks of a range of searchlights, from each subject's data or precomputed: one per
// subject, or one subject-mean stack.
template <std::floating_point Scalar>
class searchlight_source {
 public:
  virtual ~searchlight_source() = default;
  [[nodiscard]] virtual index_t conditions() const = 0;
  [[nodiscard]] virtual index_t searchlights() const = 0;
  /// The stacks averaged into the subject-mean RDMs.
  [[nodiscard]] virtual index_t stacks() const = 0;
  /// Whether the stacks are subjects (false: one subject-mean stack).
  [[nodiscard]] virtual bool per_subject() const = 0;
  /// Stack s's RDMs of searchlights [first, first + out.size()) into out.
  virtual void rdms(index_t s, index_t first, rdm_stack<Scalar>& out) const = 0;
};

// An engine over each subject's conditions × voxels data.
template <std::floating_point Scalar>
class data_source final : public searchlight_source<Scalar> {
 public:
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  data_source(std::span<const matrix> data, const neighbor_table& table) : m_table(&table) {
    for (std::size_t s = 0; s < data.size(); ++s) {
      if (data[s].rows() != data.front().rows() || data[s].cols() != table.mask_voxels())
        throw_invalid_argument(
            "searchlight_analysis",
            concat("expected every subject's data as ", data.front().rows(), " conditions × ",
                   table.mask_voxels(), " mask voxels (the table's), got ", data[s].rows(), " × ",
                   data[s].cols(), " for subject ", s));
      try {
        m_engines.emplace_back(data[s], table);
      } catch (const invalid_argument& e) {  // NaN/Inf, a searchlight without voxels
        throw_invalid_argument("searchlight_analysis",
                               concat("expected usable data for subject ", s, ", got: ", e.what()));
      }
    }
  }
  [[nodiscard]] index_t conditions() const override { return m_engines.front().conditions(); }
  [[nodiscard]] index_t searchlights() const override { return m_table->size(); }
  [[nodiscard]] index_t stacks() const override { return index_t(m_engines.size()); }
  [[nodiscard]] bool per_subject() const override { return true; }
  void rdms(index_t s, index_t first, rdm_stack<Scalar>& out) const override {
    m_engines[std::size_t(s)].compute(first, out);
  }

 private:
  const neighbor_table* m_table;
  std::vector<searchlight_engine<Scalar>> m_engines;
};

// Precomputed RDM stacks (pairs × searchlights), which must outlive the source.
template <std::floating_point Scalar>
class stack_source final : public searchlight_source<Scalar> {
 public:
  stack_source(std::span<const rdm_stack<Scalar>> stacks, bool subject_stacks)
      : m_stacks(stacks), m_subjects(subject_stacks) {
    for (std::size_t s = 0; s < stacks.size(); ++s)
      if (stacks[s].pairs() != stacks.front().pairs() || stacks[s].size() != stacks.front().size())
        throw_invalid_argument(
            "searchlight_analysis",
            concat("expected every subject's searchlight RDMs as ", stacks.front().pairs(),
                   " pairs × ", stacks.front().size(), " searchlights, got ", stacks[s].pairs(),
                   " × ", stacks[s].size(), " for subject ", s));
  }
  [[nodiscard]] index_t conditions() const override { return m_stacks.front().conditions(); }
  [[nodiscard]] index_t searchlights() const override { return m_stacks.front().size(); }
  [[nodiscard]] index_t stacks() const override { return index_t(m_stacks.size()); }
  [[nodiscard]] bool per_subject() const override { return m_subjects; }
  void rdms(index_t s, index_t first, rdm_stack<Scalar>& out) const override {
    out.values() = m_stacks[std::size_t(s)].values().middleCols(first, out.size());
  }

 private:
  std::span<const rdm_stack<Scalar>> m_stacks;
  bool m_subjects;
};

template <std::floating_point Scalar>
searchlight_result run_searchlight_analysis(const model_set& models,
                                            const searchlight_source<Scalar>& source,
                                            const searchlight_analysis_options& options) {
  constexpr const char* function = "searchlight_analysis";
  models.check_complete(function);
  const index_t n = source.conditions(), total = source.searchlights(), stacks = source.stacks(),
                subjects = source.per_subject() ? stacks : 0;
  if (n != models.conditions())
    throw_invalid_argument(function, concat("expected searchlight RDMs over the models' ",
                                            models.conditions(), " conditions, got ", n));
  const bool per_subject = options.subject_tests || options.ceiling.compute;
  if (per_subject && subjects < 2)
    throw_invalid_argument(
        function,
        concat("expected the RDMs of at least 2 subjects for subject tests or noise ceilings, got ",
               subjects == 0 ? "a subject-mean stack" : "1 subject"));
  if (options.permutations < 0 || options.stop_after < 0)
    throw_invalid_argument(function, concat("expected permutations and stop_after >= 0, got ",
                                            options.permutations, " and ", options.stop_after));
  if (options.groups && models.group_count() == 0)
    throw_invalid_argument(function,
                           "expected a model set with groups for groups = true, got none");

  const std::size_t per_rdm = std::size_t(condensed_size(n)) * sizeof(Scalar);
  // The mean and every subject's RDMs, or the mean and one stack at a time.
  const std::size_t held = per_rdm * std::size_t(per_subject ? subjects + 1 : 2);
  if (options.memory_budget < held)
    throw_invalid_argument(
        function, concat("expected a memory budget of at least one searchlight's RDMs (", held,
                         " bytes), got ", options.memory_budget));
  const index_t chunk_size =
      std::max<index_t>(1, std::min<index_t>(total, index_t(options.memory_budget / held)));

  searchlight_result r;
  r.models = options.groups ? models.group_names() : models.names();
  r.score_kind = options.score.score;
  r.subjects = subjects;
  const auto d_count = index_t(r.models.size());
  r.scores.resize(d_count, total);
  if (options.subject_tests) {
    r.subject_t.resize(d_count, total);
    r.subject_p.resize(d_count, total);
    r.runner_up_subject_p.resize(total);
  }
  if (options.ceiling.compute) {
    r.ceiling = resolved_ceiling(options.ceiling, options.score.score);
    r.ceiling_lower.resize(total);
    r.ceiling_upper.resize(total);
  }

  permutation_options permuting{.permutations = options.permutations,
                                .seed = options.seed,
                                .scheme = options.scheme,
                                .differences = options.differences,
                                .runner_up = options.runner_up,
                                .stop_after = options.stop_after,
                                // Pinned, so a chunk's p-values are those of a whole-brain run.
                                .strategy = permutation_strategy::relabel_models};
  with_model_statistic<Scalar>(
      models, options.score, options.groups, function, [&](const auto& statistic) {
        rdm_stack<Scalar> mean;
        // Every subject's RDMs of the chunk when per-subject results need them, else one at a time.
        std::vector<rdm_stack<Scalar>> each(std::size_t(per_subject ? subjects : 1));
        Eigen::MatrixXd subject_scores;
        for (index_t first = 0; first < total; first += chunk_size) {
          const index_t count = std::min(chunk_size, total - first);
          if (mean.size() != count) {
            mean = rdm_stack<Scalar>(n, count);
            for (auto& stack : each) stack = rdm_stack<Scalar>(n, count);
          }
          // The subject mean, summed in subject order.
          mean.values().setZero();
          for (index_t s = 0; s < stacks; ++s) {
            auto& stack = each[per_subject ? std::size_t(s) : 0];
            source.rdms(s, first, stack);
            mean.values() += stack.values();
          }
          mean.values() /= Scalar(stacks);
          for (index_t t = 0; t < count; ++t) r.degenerate += mean.values().col(t).hasNaN() ? 1 : 0;

          if (options.permutations > 0) {
            r.permutation.append(permutation_test(statistic, mean.values(), permuting));
            r.scores.middleCols(first, count) = r.permutation.observed.middleCols(first, count);
          } else {
            r.scores.middleCols(first, count) = statistic(mean.values());
          }

          if (options.subject_tests) {
            // Rows s·D + d: subject s, model d; then a t-test per searchlight and model.
            subject_scores.resize(subjects * d_count, count);
            for (index_t s = 0; s < subjects; ++s)
              subject_scores.middleRows(s * d_count, d_count) =
                  statistic(each[std::size_t(s)].values());
            Eigen::MatrixXd samples(subjects, d_count), best(subjects, 1), second(subjects, 1);
            for (index_t t = 0; t < count; ++t) {
              for (index_t s = 0; s < subjects; ++s)
                samples.row(s) = subject_scores.block(s * d_count, t, d_count, 1).transpose();
              const ttest_result one =
                  ttest_one_sample(samples, 0.0, alternative::greater, nan_policy::propagate);
              r.subject_t.col(first + t) = one.statistic;
              r.subject_p.col(first + t) = one.p_value;
              const Eigen::VectorXd observed = r.scores.col(first + t);
              const auto [a, b] =
                  top_two(std::span(observed.data(), static_cast<std::size_t>(d_count)));
              if (b < 0) {
                r.runner_up_subject_p[first + t] = std::numeric_limits<double>::quiet_NaN();
                continue;
              }
              best.col(0) = samples.col(a);
              second.col(0) = samples.col(b);
              r.runner_up_subject_p[first + t] =
                  ttest_paired(best, second, alternative::greater, nan_policy::propagate)
                      .p_value[0];
            }
          }

          if (options.ceiling.compute) {
            const noise_ceilings c =
                ceiling_of(std::span<const rdm_stack<Scalar>>(each), r.ceiling);
            r.ceiling_lower.segment(first, count) = c.lower;
            r.ceiling_upper.segment(first, count) = c.upper;
          }
          ++r.chunks;
          if (options.progress) options.progress("searchlights", first + count, total);
        }
      });
  return r;
}

}  // namespace detail

/// \brief The searchlight analysis of Dwivedi et al. (2021, Fig. 1 and 3a), done correctly:
/// every model (or group) of the set scored on the subject-mean RDM of every searchlight, with
/// condition-label permutation inference, optional inference across subjects and noise ceilings,
/// streaming over chunks of searchlights within options.memory_budget.
///
/// A chunk's subject RDMs are computed (or read), averaged, fitted by every model's design
/// (factored once) and tested with the same permutations as every other chunk: permutation b
/// depends on (seed, b) only, counts are per searchlight, the best-over-models null is per
/// searchlight and the family-wise null merges across chunks by a maximum, so the result is
/// identical for any memory budget and thread count.
///
/// subject_data: per subject, conditions × in-mask voxels (brain_mask::apply of the subject's 4-D
/// betas), the same mask for all; table: the searchlights (spheres in voxels or mm, the paper's
/// blocks, ...), made from that mask. The RDMs are 1 − Pearson r, as the paper's.
/// \throws invalid_argument for an incomplete model set, conditions that differ from the models',
/// subjects of different shapes, fewer than 2 subjects where subject tests or ceilings are asked,
/// or a budget below one searchlight.
template <std::floating_point Scalar>
[[nodiscard]] searchlight_result searchlight_analysis(
    const model_set& models,
    std::span<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> subject_data,
    const neighbor_table& table, const searchlight_analysis_options& options = {}) {
  if (subject_data.empty())
    detail::throw_invalid_argument("searchlight_analysis",
                                   "expected the data of at least one subject, got none");
  const detail::data_source<Scalar> source(subject_data, table);
  return detail::run_searchlight_analysis(models, source, options);
}

/// The same from a std::vector of subjects' data.
template <std::floating_point Scalar>
[[nodiscard]] searchlight_result searchlight_analysis(
    const model_set& models,
    const std::vector<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>& subject_data,
    const neighbor_table& table, const searchlight_analysis_options& options = {}) {
  return searchlight_analysis(
      models, std::span<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>(subject_data),
      table, options);
}

/// \brief The same from precomputed searchlight RDMs: one stack per subject (pairs ×
/// searchlights, as the paper's all_sub_slrdms.npy), averaged here.
template <std::floating_point Scalar>
[[nodiscard]] searchlight_result searchlight_analysis(
    const model_set& models, std::span<const rdm_stack<Scalar>> subject_rdms,
    const searchlight_analysis_options& options = {}) {
  if (subject_rdms.empty())
    detail::throw_invalid_argument("searchlight_analysis",
                                   "expected the RDMs of at least one subject, got none");
  const detail::stack_source<Scalar> source(subject_rdms, true);
  return detail::run_searchlight_analysis(models, source, options);
}

/// \brief The same from the subject-mean searchlight RDMs alone (pairs × searchlights): no
/// subject tests or noise ceilings.
template <std::floating_point Scalar>
[[nodiscard]] searchlight_result searchlight_analysis(
    const model_set& models, const rdm_stack<Scalar>& mean_rdms,
    const searchlight_analysis_options& options = {}) {
  const detail::stack_source<Scalar> source(std::span<const rdm_stack<Scalar>>(&mean_rdms, 1),
                                            false);
  return detail::run_searchlight_analysis(models, source, options);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_SEARCHLIGHT_ANALYSIS_HPP
