// The searchlight analysis and functional maps, end to end on the planted-truth dataset, and
// against direct computations with the building blocks.
#include <catch2/catch.hpp>

#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/simulate.hpp>

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

d2b::model_set models_of(const d2b::simulate::dataset& data) {
  d2b::model_set models(data.models.layers);
  for (std::size_t d = 0; d < data.models.names.size(); ++d)
    for (std::size_t l = 0; l < data.models.layers.size(); ++l)
      models.add_activations(data.models.names[d], data.models.layers[l],
                             data.models.activations[d][l],
                             d2b::metric::correlation{.center_features = true});
  for (const auto& group : d2b::paper::task_groups()) models.add_group(group.name, group.members);
  return models;
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
  const d2b::model_set models = models_of(data);
  const d2b::neighbor_table table =
      d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{2.0});
  d2b::searchlight_analysis_options options;
  options.permutations = reduced ? 20 : 400;
  options.seed = 7;
  const d2b::searchlight_result result =
      d2b::searchlight_analysis(models, data.subject_data, table, options);
  REQUIRE(result.searchlights() == data.mask.size());
  REQUIRE(result.models() == 19);
  REQUIRE(result.names == models.names());

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
  const d2b::model_set models = models_of(data);
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
  const d2b::model_set models = models_of(data);
  const auto table = d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{1.5});
  d2b::searchlight_analysis_options options;
  options.permutations = 49;
  options.seed = 3;
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
  CHECK(chunked.score == whole.score);
  CHECK(chunked.permutation.p_value == whole.permutation.p_value);
  CHECK(chunked.permutation.p_best == whole.permutation.p_best);
  CHECK(chunked.permutation.p_runner_up == whole.permutation.p_runner_up);
  CHECK(chunked.permutation.max_null == whole.permutation.max_null);
  CHECK(chunked.permutation.p_fwe == whole.permutation.p_fwe);
  CHECK(chunked.subject_p == whole.subject_p);
  CHECK(chunked.runner_up_subject_p == whole.runner_up_subject_p);
  CHECK(chunked.ceilings.lower == whole.ceilings.lower);
  CHECK(chunked.ceilings.upper == whole.ceilings.upper);
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
  CHECK(whole.score == scores);
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
  CHECK(ceilings.lower == whole.ceilings.lower);
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
  CHECK(from_stacks.ceilings.lower == whole.ceilings.lower);
  options.subject_tests = options.ceiling.compute = false;
  const auto from_mean = d2b::searchlight_analysis(
      models, d2b::rdm_stack<float>::from_columns(mean, models.conditions()), options);
  CHECK(from_mean.permutation.p_best == whole.permutation.p_best);

  // Groups instead of models; a correlation score of one layer.
  options.groups = true;
  const auto grouped = d2b::searchlight_analysis(models, data.subject_data, table, options);
  CHECK(grouped.names == std::vector<std::string>{"2D", "3D", "semantic"});
  CHECK(grouped.score == d2b::fit(models.group_designs<float>(), mean).adjusted_r_squared);
  options.groups = false;
  options.score = {.score = d2b::model_score::spearman, .layer = "encoder_output"};
  const auto correlated = d2b::searchlight_analysis(models, data.subject_data, table, options);
  const d2b::correlation_statistic<d2b::measure::spearman> spearman(models.layer("encoder_output"));
  CHECK(correlated.score.isApprox(spearman(mean), 1e-12));
}

TEST_CASE("searchlight analyses and maps reject what does not fit", "[analysis][searchlight]") {
  auto o = brain(0.3, 3);
  o.stimuli = 20;
  const auto data = d2b::simulate::make_dataset(o);
  const d2b::model_set models = models_of(data);
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
                    Contains("one column per mask voxel"));
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
