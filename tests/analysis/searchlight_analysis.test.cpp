// The searchlight analysis and functional maps, end to end on the planted-truth dataset, and
// against direct computations with the building blocks.
#include <catch2/catch.hpp>

#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/simulate.hpp>

#include "support/test_helpers.hpp"

#include <cstdio>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

namespace d2b = dnn2brain;

// Sanitizer builds run at -O0: a smaller brain there, checked for the same properties where
// they do not need the full size's power.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr bool reduced = true;
#else
constexpr bool reduced = false;
#endif

d2b::simulate::options brain(double scale, d2b::index_t subjects) {
  d2b::simulate::options o;
  for (std::size_t a = 0; a < 3; ++a) {
    o.grid[a] = static_cast<std::size_t>(std::ceil(static_cast<double>(o.grid[a]) * scale));
    o.mask_semi_axes[Eigen::Index(a)] *= scale;
  }
  o.subjects = subjects;
  return o;
}

std::vector<d2b::index_t> labels_of(const d2b::functional_map& map) {
  return {map.label.data(), map.label.data() + map.label.size()};
}

void print(const char* what, const d2b::simulate::recovery& r) {
  std::printf(
      "%s: %lld labelled, group %.3f, DNN %.3f, power inside/core/rim %.2f/%.2f/%.2f, noise FP "
      "%.4f\n",
      what, static_cast<long long>(r.discoveries), r.group_recovery, r.model_recovery,
      r.power_inside, r.power_core, r.power_rim, r.noise_false_positive);
}

}  // namespace

TEST_CASE(
    "the functional map recovers the planted truth, and the naive rule does not control "
    "false positives",
    "[analysis][searchlight]") {
  // 0.7 of the default brain (9,680 centres), 12 subjects; under the sanitizers 0.4 and 3.
  const auto data = d2b::simulate::make_dataset(reduced ? brain(0.4, 3) : brain(0.7, 12));
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  const d2b::neighbor_table table =
      d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{2.0});
  d2b::searchlight_analysis_options options;
  options.permutations = reduced ? 20 : 400;
  options.seed = 7;
  options.runner_up = true;
  const d2b::searchlight_result result =
      d2b::searchlight_analysis(models, data.subject_data, table, options);
  REQUIRE(result.searchlights() == data.mask.size());
  REQUIRE(result.model_count() == 19);
  REQUIRE(result.models == models.names());

  const d2b::functional_map map = d2b::make_functional_map(result);
  const d2b::functional_map naive =
      d2b::make_functional_map(result, {.selection = d2b::map_selection::winner_own_null});
  const auto truth = d2b::simulate::score_map(data, labels_of(map));
  const auto naive_truth = d2b::simulate::score_map(data, labels_of(naive));
  print("max over models", truth);
  print("winner's own null", naive_truth);
  if (reduced) return;  // too few permutations and subjects for the bands
  CHECK(truth.group_recovery >= 0.95);
  CHECK(truth.model_recovery >= 0.85);
  CHECK(truth.noise_false_positive <= 0.02);
  CHECK(truth.power_core >= 0.7);
  // The naive rule lets several times as many pure-noise centres through.
  CHECK(naive_truth.noise_false_positive >= 0.05);
  CHECK(naive_truth.noise_false_positive >= 5 * truth.noise_false_positive);

  // A runner-up test only removes labels.
  const d2b::functional_map strict =
      d2b::make_functional_map(result, {.runner_up = d2b::runner_up_test::permutation});
  CHECK(strict.labelled() <= map.labelled());
  for (d2b::index_t t = 0; t < strict.searchlights(); ++t)
    if (strict.label[t] >= 0) CHECK(strict.label[t] == map.label[t]);
}

TEST_CASE("with no signal planted, no searchlight is labelled", "[analysis][searchlight]") {
  auto o = reduced ? brain(0.4, 3) : brain(0.5, 6);
  o.signal = 0.0;
  const auto data = d2b::simulate::make_dataset(o);
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  const auto table = d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{2.0});
  d2b::searchlight_analysis_options options;
  options.permutations = reduced ? 20 : 300;
  const auto result = d2b::searchlight_analysis(models, data.subject_data, table, options);
  CHECK(d2b::make_functional_map(result).labelled() == 0);
}

TEST_CASE(
    "searchlight analyses are identical for any chunk size and thread count, and equal "
    "the building blocks",
    "[analysis][searchlight]") {
  auto o = brain(0.3, 4);
  o.stimuli = 20;
  const auto data = d2b::simulate::make_dataset(o);
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  const auto table = d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{1.5});
  d2b::searchlight_analysis_options options;
  options.permutations = 49;
  options.seed = 3;
  options.runner_up = true;
  options.subject_tests = true;
  options.ceiling.compute = true;
  const auto whole = d2b::searchlight_analysis(models, data.subject_data, table, options);
  REQUIRE(whole.chunks == 1);

  options.memory_budget = 40 * 190 * sizeof(float) * 5;  // chunks of 40 searchlights
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  omp_set_num_threads(threads > 1 ? 1 : 2);
#endif
  const auto chunked = d2b::searchlight_analysis(models, data.subject_data, table, options);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  CHECK(chunked.chunks > 1);
  CHECK(chunked.scores == whole.scores);
  CHECK(chunked.permutation.p_value == whole.permutation.p_value);
  CHECK(chunked.permutation.p_best == whole.permutation.p_best);
  CHECK(chunked.permutation.p_runner_up == whole.permutation.p_runner_up);
  CHECK(chunked.permutation.max_null == whole.permutation.max_null);
  CHECK(chunked.permutation.p_fwe == whole.permutation.p_fwe);
  CHECK(chunked.subject_p == whole.subject_p);
  CHECK(chunked.runner_up_subject_p == whole.runner_up_subject_p);
  CHECK(chunked.ceiling_lower == whole.ceiling_lower);
  CHECK(chunked.ceiling_upper == whole.ceiling_upper);
  const auto map = d2b::make_functional_map(whole), map_chunked = d2b::make_functional_map(chunked);
  CHECK(map.label == map_chunked.label);
  CHECK(map.p_adjusted == map_chunked.p_adjusted);

  // The building blocks by hand: every subject's searchlight RDMs, their mean, the fit, the
  // permutation test on the mean RDMs, the t-tests, the noise ceilings.
  std::vector<d2b::rdm_stack<float>> subjects;
  for (const auto& x : data.subject_data)
    subjects.push_back(d2b::compute_searchlight_rdms(x, table));
  Eigen::MatrixXf mean = Eigen::MatrixXf::Zero(subjects.front().pairs(), table.size());
  for (const auto& s : subjects) mean += s.values();
  mean /= float(subjects.size());
  const auto designs = models.designs<float>();
  const Eigen::MatrixXd scores = d2b::fit(designs, mean).adjusted_r_squared;
  CHECK(whole.scores == scores);
  const auto direct =
      d2b::permutation_test(designs, mean,
                            {.permutations = 49,
                             .seed = 3,
                             .differences = false,
                             .runner_up = true,
                             .strategy = d2b::permutation_strategy::relabel_models});
  CHECK(direct.p_value == whole.permutation.p_value);
  CHECK(direct.p_best == whole.permutation.p_best);
  CHECK(direct.p_runner_up == whole.permutation.p_runner_up);
  // The ceilings of an R² score: squared Pearson (ceiling_measure::automatic).
  const auto ceilings = d2b::noise_ceiling(std::span<const d2b::rdm_stack<float>>(subjects),
                                           d2b::measure::pearson{}, {.squared = true});
  CHECK(ceilings.lower == whole.ceiling_lower);
  CHECK(ceilings.upper == whole.ceiling_upper);
  for (const d2b::index_t t : {d2b::index_t(0), table.size() / 2, table.size() - 1}) {
    Eigen::MatrixXd per_subject(d2b::index_t(subjects.size()), models.size());
    for (std::size_t s = 0; s < subjects.size(); ++s)
      per_subject.row(d2b::index_t(s)) =
          d2b::fit(designs, subjects[s].values().col(t)).adjusted_r_squared.transpose();
    const auto one = d2b::ttest_one_sample(per_subject, 0.0, d2b::alternative::greater);
    CHECK(whole.subject_p.col(t).isApprox(one.p_value, 1e-12));
  }
  // The same analysis from precomputed subject stacks, and from the subject mean.
  const auto from_stacks =
      d2b::searchlight_analysis(models, std::span<const d2b::rdm_stack<float>>(subjects), options);
  CHECK(from_stacks.permutation.p_value == whole.permutation.p_value);
  CHECK(from_stacks.ceiling_lower == whole.ceiling_lower);
  options.subject_tests = options.ceiling.compute = false;
  const auto from_mean = d2b::searchlight_analysis(
      models, d2b::rdm_stack<float>::from_columns(mean, models.conditions()), options);
  CHECK(from_mean.permutation.p_best == whole.permutation.p_best);

  // Groups instead of models; a correlation score of one layer.
  options.groups = true;
  const auto grouped = d2b::searchlight_analysis(models, data.subject_data, table, options);
  CHECK(grouped.models == std::vector<std::string>{"2D", "3D", "semantic"});
  CHECK(grouped.scores == d2b::fit(models.group_designs<float>(), mean).adjusted_r_squared);
  options.groups = false;
  options.score = {.score = d2b::model_score::spearman, .layer = "encoder_output"};
  const auto correlated = d2b::searchlight_analysis(models, data.subject_data, table, options);
  const d2b::correlation_statistic<d2b::measure::spearman> spearman(models.layer("encoder_output"));
  CHECK(correlated.scores.isApprox(spearman(mean), 1e-12));
}

TEST_CASE("searchlight analyses and maps reject what does not fit", "[analysis][searchlight]") {
  auto o = brain(0.3, 3);
  o.stimuli = 20;
  const auto data = d2b::simulate::make_dataset(o);
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  const auto table = d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{1.0});
  using Catch::Matchers::Contains;

  // Conditions that differ from the models'.
  std::vector<Eigen::MatrixXf> fewer{data.subject_data[0].topRows(10),
                                     data.subject_data[1].topRows(10)};
  CHECK_THROWS_WITH(d2b::searchlight_analysis(models, fewer, table),
                    Contains("searchlight_analysis") && Contains("20 conditions, got 10"));
  // Subjects of different shapes.
  std::vector<Eigen::MatrixXf> mixed{data.subject_data[0], data.subject_data[1].topRows(10)};
  CHECK_THROWS_WITH(d2b::searchlight_analysis(models, mixed, table), Contains("subject 1"));
  // Data that do not match the table.
  std::vector<Eigen::MatrixXf> narrow{data.subject_data[0].leftCols(5)};
  CHECK_THROWS_WITH(d2b::searchlight_analysis(models, narrow, table),
                    Contains("760 mask voxels (the table's), got 20 × 5 for subject 0"));
  // Subject tests from a subject-mean stack, or from one subject.
  d2b::searchlight_analysis_options options;
  options.permutations = 9;
  options.subject_tests = true;
  const std::vector<Eigen::MatrixXf> one{data.subject_data[0]};
  CHECK_THROWS_WITH(d2b::searchlight_analysis(models, one, table, options),
                    Contains("at least 2 subjects"));
  // An incomplete model set; groups without groups.
  d2b::model_set partial{"block4", "encoder_output"};
  partial.add_activations("edge2d", "block4", data.models.activations[6][0]);
  CHECK_THROWS_WITH(d2b::searchlight_analysis(partial, data.subject_data, table),
                    Contains("without layer 'encoder_output'"));
  // Maps need permutations, and the ceilings or subject tests their options ask for.
  options.subject_tests = false;
  options.permutations = 0;
  const auto scores_only = d2b::searchlight_analysis(models, data.subject_data, table, options);
  CHECK_THROWS_WITH(d2b::make_functional_map(scores_only), Contains("with permutations"));
  options.permutations = 9;
  const auto tested = d2b::searchlight_analysis(models, data.subject_data, table, options);
  CHECK_THROWS_WITH(d2b::make_functional_map(tested, {.noise_ceiling_threshold = 0.033}),
                    Contains("noise ceilings"));
  CHECK_THROWS_WITH(d2b::make_functional_map(tested, {.runner_up = d2b::runner_up_test::subjects}),
                    Contains("subject_tests"));
  CHECK_THROWS_WITH(d2b::make_functional_map(tested, {.alpha = 0.0}), Contains("alpha"));
}

TEST_CASE("ROI analyses recover every planted DNN and group", "[analysis][roi]") {
  const auto data = d2b::simulate::make_dataset(reduced ? brain(0.4, 3) : brain(0.7, 12));
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  const d2b::roi_set rois = d2b::simulate::make_roi_set(data);
  d2b::roi_options options;
  options.permutations = reduced ? 19 : 2000;
  options.bootstrap_samples = 0;
  options.differences = false;
  const d2b::roi_result roi = d2b::roi_analysis(models, rois, options);
  d2b::partition_analysis_options grouping;
  grouping.permutations = 0;
  grouping.bootstrap_samples = 0;
  grouping.subject_tests = false;
  const auto grouped = d2b::grouped_partitioning(models, rois, grouping);
  if (reduced) return;
  for (d2b::index_t r = 0; r < rois.size(); ++r) {
    const std::string& planted = data.region_planted[std::size_t(r)];
    INFO("ROI " << roi.rois[std::size_t(r)]);
    if (planted.empty()) {  // the control region: no DNN survives BH over the 19 DNNs
      const Eigen::VectorXd p = roi.permutation.p_value.col(r);
      CHECK((d2b::adjust_p_values(p, d2b::correction::benjamini_hochberg).array() > 0.05).all());
      continue;
    }
    CHECK(roi.models[std::size_t(roi.best(r))] == planted);
    CHECK(roi.p_corrected(roi.best(r), r) <= 0.05);
    // The planted group has the largest unique variance (row 2^g − 1 is group g alone).
    const int group = d2b::simulate::group_of(planted);
    Eigen::Index largest = 0;
    Eigen::VectorXd unique(3);
    for (int g = 0; g < 3; ++g) unique[g] = grouped.fractions((1 << g) - 1, r);
    unique.maxCoeff(&largest);
    CHECK(largest == group);
  }
}

TEST_CASE("the runner-up margin's permutation p-value is calibrated under exchangeability",
          "[analysis][permutation]") {
  // Pure-noise target RDMs against D random model RDMs: the margin of the best over the second
  // best, tested against the same margin on every permutation, rejects at its nominal rate.
  const d2b::index_t n = 12, targets = reduced ? 300 : 3000;
  d2b::random_stream bits(11, 0);
  const auto normal_matrix = [&](d2b::index_t rows, d2b::index_t cols) {
    Eigen::MatrixXd m(rows, cols);
    for (d2b::index_t k = 0; k < m.size(); ++k) m.data()[k] = bits.uniform() - 0.5;
    return m;
  };
  Eigen::MatrixXd y(d2b::condensed_size(n), targets);
  for (d2b::index_t t = 0; t < targets; ++t)
    y.col(t) = d2b::compute_rdm(normal_matrix(n, 6)).values();
  for (const d2b::index_t d : {d2b::index_t(2), d2b::index_t(5)}) {
    Eigen::MatrixXd models(y.rows(), d);
    for (d2b::index_t m = 0; m < d; ++m)
      models.col(m) = d2b::compute_rdm(normal_matrix(n, 6)).values();
    const d2b::correlation_statistic<d2b::measure::pearson> statistic(models);
    const auto r = d2b::permutation_test(
        statistic, y, {.permutations = 99, .seed = 5, .differences = false, .runner_up = true});
    const double rate = double((r.p_runner_up.array() <= 0.05).count()) / double(targets);
    INFO(d << " models: runner-up rejection rate " << rate);
    CHECK(rate >= (reduced ? 0.01 : 0.035));
    CHECK(rate <= (reduced ? 0.10 : 0.065));
  }
}

// Names the headers it checks: analysis/paper_tasks.hpp, simulate/analysis_inputs.hpp.
TEST_CASE("the paper's tasks and groups, and the planted dataset as the analyses take it",
          "[analysis][inputs]") {
  REQUIRE(d2b::paper::tasks.size() == 19);
  std::size_t grouped = 0;
  for (const auto& group : d2b::paper::task_groups()) grouped += group.members.size();
  CHECK(grouped == 18);  // every task but random
  CHECK(d2b::paper::display_name("rgb2depth") == "z-depth");
  CHECK(d2b::paper::display_name("mine") == "mine");
  const auto data = d2b::simulate::make_dataset(brain(0.3, 2));
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  CHECK(models.size() == 19);
  CHECK(models.layer_count() == 2);
  CHECK(models.group_names() == std::vector<std::string>{"2D", "3D", "semantic"});
  const auto first = models.rdms(0);
  CHECK(first.column(1) ==
        d2b::compute_rdm(data.models.activations[0][1], d2b::metric::correlation{true})
            .values()
            .cast<double>());
  const d2b::roi_set rois = d2b::simulate::make_roi_set(data);
  CHECK(rois.names() == data.roi_names);
  CHECK(rois.subjects() == 2);
}

TEST_CASE(
    "the paper's searchlight procedures: groups' unique variance, entry permutations, the "
    "two-stage FDR and the Fig. 3a rule, as the building blocks give them",
    "[analysis][searchlight][paper]") {
  auto o = brain(0.3, 4);
  o.stimuli = 20;
  const auto data = d2b::simulate::make_dataset(o);
  const d2b::model_set models = d2b::simulate::make_model_set(data.models);
  const auto table = d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{1.5});
  const d2b::analysis_presets paper = d2b::analysis_presets::paper().with(99, 5);
  auto options = paper.grouped_searchlight;
  REQUIRE(options.groups);
  REQUIRE(options.differences);
  const auto grouped = d2b::searchlight_analysis(models, data.subject_data, table, options);
  REQUIRE(grouped.models == std::vector<std::string>{"2D", "3D", "semantic"});

  // The groups' unique variance: the unique fractions of the partitioning among the 3 groups.
  // Float RDMs: the two design sets' float projections round differently (float ε ≈ 1.2e-7).
  std::vector<d2b::rdm_stack<float>> subjects;
  for (const auto& x : data.subject_data)
    subjects.push_back(d2b::compute_searchlight_rdms(x, table));
  Eigen::MatrixXf mean = Eigen::MatrixXf::Zero(subjects.front().pairs(), table.size());
  for (const auto& s : subjects) mean += s.values();
  mean /= float(subjects.size());
  const auto fractions = d2b::fit(models.group_partitioning<float>(), mean).fractions;
  for (d2b::index_t g = 0; g < 3; ++g)
    CHECK(d2b::test::max_abs_diff(grouped.scores.row(g),
                                  fractions.row((d2b::index_t(1) << g) - 1)) < 1e-6);
  // The paper's noise ceiling: Spearman against the raw mean of the others.
  const auto ceilings =
      d2b::noise_ceiling(std::span<const d2b::rdm_stack<float>>(subjects), d2b::measure::spearman{},
                         d2b::paper::noise_ceiling_options());
  CHECK(ceilings.lower == grouped.ceiling_lower);

  // The Fig. 3a rule by hand: BH within each searchlight, then per group across the searchlights
  // whose lower ceiling exceeds the threshold; the best group's largest difference p likewise.
  const double threshold = 0.0;  // a family of most searchlights at this small size
  d2b::map_options rule = paper.grouped_map;
  rule.noise_ceiling_threshold = threshold;
  const d2b::functional_map map = d2b::make_functional_map(grouped, rule);
  const auto within = d2b::paper::fdr_within_targets(grouped.permutation);
  const d2b::index_t count = grouped.searchlights();
  std::vector<d2b::index_t> family;
  for (d2b::index_t t = 0; t < count; ++t)
    if (grouped.ceiling_lower[t] > threshold) family.push_back(t);
  REQUIRE(family.size() > 10);
  REQUIRE(family.size() < std::size_t(count));
  Eigen::MatrixXd twice(3, d2b::index_t(family.size()));
  Eigen::VectorXd differences(d2b::index_t(family.size()));
  for (std::size_t f = 0; f < family.size(); ++f) {
    const d2b::index_t t = family[f];
    twice.col(d2b::index_t(f)) = within.p.col(t);
    d2b::index_t best = 0;
    grouped.scores.col(t).maxCoeff(&best);
    differences[d2b::index_t(f)] = within.p_differences.block(best * 3, t, 3, 1).maxCoeff();
  }
  for (d2b::index_t g = 0; g < 3; ++g)
    twice.row(g) = d2b::adjust_p_values(Eigen::VectorXd(twice.row(g).transpose()),
                                        d2b::correction::benjamini_hochberg)
                       .transpose();
  const Eigen::VectorXd across =
      d2b::adjust_p_values(differences, d2b::correction::benjamini_hochberg);
  d2b::index_t labelled = 0;
  for (std::size_t f = 0; f < family.size(); ++f) {
    const d2b::index_t t = family[f];
    d2b::index_t best = 0;
    grouped.scores.col(t).maxCoeff(&best);
    CHECK(map.best[t] == best);
    CHECK(map.p_adjusted[t] == twice(best, d2b::index_t(f)));
    const bool expected = twice(best, d2b::index_t(f)) <= 0.05 && across[d2b::index_t(f)] <= 0.05;
    CHECK((map.label[t] == best) == expected);
    labelled += expected ? 1 : 0;
  }
  CHECK(map.labelled() == labelled);
  for (d2b::index_t t = 0; t < count; ++t)
    if (!(grouped.ceiling_lower[t] > threshold)) CHECK(map.label[t] == -1);

  // Fig. 1 under the paper's procedures: R scores, entry permutations, the same two stages.
  const auto models_result =
      d2b::searchlight_analysis(models, data.subject_data, table, paper.searchlight);
  CHECK(models_result.score_kind == d2b::model_score::multiple_r);
  const auto direct = d2b::permutation_test(
      d2b::regression_statistic<float>(models.designs<float>(), d2b::regression_score::multiple_r),
      mean,
      {.permutations = 99,
       .seed = 5,
       .scheme = d2b::permutation_scheme::pairs,
       .differences = false,
       .strategy = d2b::permutation_strategy::relabel_models});
  CHECK(direct.p_value == models_result.permutation.p_value);
  CHECK_THROWS_WITH(d2b::make_functional_map(models_result,
                                             {.runner_up = d2b::runner_up_test::paper_differences}),
                    Catch::Matchers::Contains("with differences"));
}
