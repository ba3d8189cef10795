// The translation unit clang-tidy checks: every public header, with their templates instantiated.
#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/simulate.hpp>

#include <xtensor/xtensor.hpp>

int main() try {
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(6, 40);
  const auto a = dnn2brain::compute_rdm(x);
  const auto b = dnn2brain::compute_rdm(x, dnn2brain::metric::spearman{},
                                        {.method = dnn2brain::rdm_method::direct});
  const auto c =
      dnn2brain::compute_rdm(x, dnn2brain::metric::mahalanobis(Eigen::MatrixXd::Identity(40, 40)));
  const xt::xtensor<double, 3> runs = xt::ones<double>({2, 6, 5});
  const auto d = dnn2brain::compute_crossnobis_rdm(runs);
  const std::vector<Eigen::Index> pick{0, 2, 4};
  const auto e = dnn2brain::subset(a, pick);
  const auto f = dnn2brain::from_square(dnn2brain::to_square(b));
  dnn2brain::rdm_stack<float> stack(6, 2);
  stack.set(0, a);
  stack.set(1, c);
  double s = dnn2brain::compare(a, b, dnn2brain::measure::kendall_tau_b{}) +
             dnn2brain::compare(a, f, dnn2brain::measure::spearman{}) +
             dnn2brain::compare(a, stack, dnn2brain::measure::cosine{}).sum() +
             dnn2brain::compare(a, stack, dnn2brain::measure::kendall_tau_a{}).sum() +
             dnn2brain::compare(a, stack, dnn2brain::measure::pearson{}).sum();
  // Regression, variance partitioning and statistics over the stack's RDMs.
  const Eigen::MatrixXf targets = Eigen::MatrixXf::Random(15, 4);
  const dnn2brain::design_set<float> models(
      std::vector<dnn2brain::design>{dnn2brain::design(stack.values())});
  s += dnn2brain::fit(models, targets, {.coefficients = true}).r_squared.sum();
  const std::vector<Eigen::MatrixXf> groups{stack.values().col(0), stack.values().col(1)};
  s += dnn2brain::fit(dnn2brain::variance_partitioning<float>(groups), targets).total().sum();
  s += dnn2brain::permutation_test(models, targets, {.permutations = 9}).p_value.sum();
  s += dnn2brain::ttest_paired(targets, targets * 2.0f).p_value.sum();
  s += dnn2brain::adjust_p_values(Eigen::VectorXd::Constant(3, 0.5),
                                  dnn2brain::correction::benjamini_hochberg)
           .sum();
  s += dnn2brain::noise_ceiling(dnn2brain::rdm_stack<float>::from_columns(targets, 6),
                                dnn2brain::measure::spearman{})
           .lower;
  // The resampling front ends, their results' accessors, and the RDM and xtensor adapters.
  const auto target_stack = dnn2brain::rdm_stack<float>::from_columns(targets, 6);
  auto chunked = dnn2brain::permutation_test(models, target_stack, {.permutations = 9});
  chunked.append(dnn2brain::permutation_test(models, target_stack.get(0), {.permutations = 9}));
  s += chunked.p_difference(0, 0).sum();
  const auto boot = dnn2brain::bootstrap_conditions(models, targets, {.samples = 9});
  s += boot.difference(0, 0).standard_error.sum() + boot.sample(0).sum();
  s += dnn2brain::subsample_conditions(models, target_stack, 5, {.samples = 3}).estimate.sum();
  const xt::xtensor<double, 3> squares = xt::zeros<double>({2, 4, 4});
  s += dnn2brain::from_squares(squares).values().sum();
  s += dnn2brain::rank_transform(a).values().sum();
  s += dnn2brain::partial_correlation(b, a, stack, dnn2brain::measure::spearman{});
  // The analysis layer on a tiny planted-truth brain.
  dnn2brain::simulate::options tiny;
  tiny.grid = {12, 15, 12};
  tiny.mask_semi_axes = {5.4, 6.6, 5.1};
  tiny.subjects = 2;
  tiny.stimuli = 10;
  const auto data = dnn2brain::simulate::make_dataset(tiny);
  const dnn2brain::model_set set = dnn2brain::simulate::make_model_set(data.models);
  dnn2brain::roi_options regions;
  regions.permutations = 9;
  regions.bootstrap_samples = 9;
  const auto rois = dnn2brain::simulate::make_roi_set(data);
  s += dnn2brain::roi_analysis(set, rois, regions).scores.sum();
  dnn2brain::partition_analysis_options partitions;
  partitions.permutations = 9;
  partitions.bootstrap_samples = 9;
  s += dnn2brain::top_k_partitioning(set, rois, partitions).fractions.sum() +
       dnn2brain::grouped_partitioning(set, rois, partitions).fractions.sum();
  const auto table =
      dnn2brain::make_neighbor_table(data.mask, dnn2brain::neighborhood::sphere{1.0});
  dnn2brain::searchlight_analysis_options searchlights;
  searchlights.permutations = 9;
  const auto analysis =
      dnn2brain::searchlight_analysis(set, data.subject_data, table, searchlights);
  const auto map = dnn2brain::make_functional_map(analysis);
  const std::vector<dnn2brain::index_t> labels(map.label.data(),
                                               map.label.data() + map.label.size());
  s += double(dnn2brain::simulate::score_map(data, labels).discoveries) +
       double(map.label_volume(data.mask, table).size()) +
       double(dnn2brain::paper_palette(set).models.size());
  return (s > -100 && d.pairs() == 15 && e.pairs() == 3) ? 0 : 1;
} catch (const std::exception&) {
  return 2;
}
