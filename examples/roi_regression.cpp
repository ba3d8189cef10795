// Which DNN explains a brain region best, and what do DNNs explain together?
//
// The ROI analysis of Dwivedi et al. (2021, Fig 2 and 3b) on a small synthetic world: 50 stimuli
// with a 2-D shape code and a semantic category. Three toy "DNNs" of two layers each see the shape
// ("edges"), shape plus depth ("depth") or the category ("class"); the "ROI" of 4 subjects
// responds mostly to the category and partly to the shape, plus measurement noise. For each
// subject the program regresses the ROI's RDM on each DNN's two layer RDMs (plus an intercept),
// reports adjusted R² and the paper's ranking score R = sqrt(max(adjusted R², 0)), and partitions
// the explained variance among the three DNNs (unique and shared parts). On the subject-averaged
// RDM it then tests each DNN and each unique variance by permuting condition labels, and puts
// bootstrap confidence intervals (over stimuli) on the scores and on the best DNN's lead.
#include <dnn2brain/dnn2brain.hpp>

#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

std::mt19937_64 engine(2021);

Eigen::MatrixXf gaussian(Eigen::Index rows, Eigen::Index cols) {
  std::normal_distribution<float> normal;
  Eigen::MatrixXf m(rows, cols);
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(engine);
  return m;
}

// A layer: a random projection of its inputs to `units` units, then a ReLU.
Eigen::MatrixXf layer(const Eigen::MatrixXf& inputs, Eigen::Index units) {
  return (inputs * gaussian(inputs.cols(), units)).cwiseMax(0.0f);
}

}  // namespace

int main() {
  constexpr Eigen::Index stimuli = 50, subjects = 4, voxels = 300;
  const Eigen::MatrixXf shape = gaussian(stimuli, 8), depth = gaussian(stimuli, 8);
  Eigen::MatrixXf category = Eigen::MatrixXf::Zero(stimuli, 5);
  for (Eigen::Index s = 0; s < stimuli; ++s) category(s, s % 5) = 3.0f;

  // Each DNN: its input code plus a little stimulus-specific noise, through two layers.
  struct dnn {
    std::string name;
    dnn2brain::rdm_stack<float> layers;
  };
  std::vector<dnn> dnns;
  const dnn2brain::metric::correlation paper_metric{.center_features = true};
  for (const auto& [name, code] :
       {std::pair{"edges", Eigen::MatrixXf(shape)},
        std::pair{"depth",
                  Eigen::MatrixXf((Eigen::MatrixXf(stimuli, 16) << shape, depth).finished())},
        std::pair{"class", Eigen::MatrixXf(category)}}) {
    const Eigen::MatrixXf block4 = layer(code + 0.3f * gaussian(stimuli, code.cols()), 4096);
    const Eigen::MatrixXf encoder = layer(block4, 1024);
    const std::vector<dnn2brain::rdm<float>> rdms{dnn2brain::compute_rdm(block4, paper_metric),
                                                  dnn2brain::compute_rdm(encoder, paper_metric)};
    dnns.push_back(
        {name, dnn2brain::rdm_stack<float>(std::span<const dnn2brain::rdm<float>>(rdms))});
  }

  // The ROI: category and shape signals in voxel space plus noise, per subject.
  std::vector<dnn2brain::rdm<float>> roi;
  for (Eigen::Index s = 0; s < subjects; ++s) {
    const Eigen::MatrixXf patterns = category * gaussian(5, voxels) +
                                     0.9f * shape * gaussian(8, voxels) +
                                     3.0f * gaussian(stimuli, voxels);
    roi.push_back(dnn2brain::compute_rdm(patterns, dnn2brain::metric::correlation{}));
  }
  const dnn2brain::rdm_stack<float> targets{std::span<const dnn2brain::rdm<float>>(roi)};

  // One design per DNN, fitted to all subjects in one pass.
  std::vector<dnn2brain::design> designs;
  for (const auto& d : dnns) designs.emplace_back(d.layers);
  const dnn2brain::design_set<float> models(designs);
  const auto scores = fit(models, targets);

  std::printf(
      "ROI of %ld subjects, %ld stimuli (%ld pairs); each DNN: 2 layer RDMs + intercept\n\n",
      long(subjects), long(stimuli), long(targets.pairs()));
  std::printf("%-6s %25s %10s %8s\n", "DNN", "adjusted R2 per subject", "mean", "R");
  Eigen::Index best = 0;
  for (Eigen::Index d = 0; d < models.size(); ++d) {
    const double mean = scores.adjusted_r_squared.row(d).mean();
    std::printf("%-6s", dnns[std::size_t(d)].name.c_str());
    for (Eigen::Index s = 0; s < subjects; ++s)
      std::printf(" %6.3f", scores.adjusted_r_squared(d, s));
    std::printf(" %10.3f %8.3f\n", mean, dnn2brain::multiple_r(mean));
    if (mean > scores.adjusted_r_squared.row(best).mean()) best = d;
  }
  std::printf("best DNN: %s\n", dnns[std::size_t(best)].name.c_str());

  // Variance partitioning among the three DNNs (all 7 unions fitted once each).
  std::vector<dnn2brain::rdm_stack<float>> groups;
  for (const auto& d : dnns) groups.push_back(d.layers);
  const auto parts = fit(dnn2brain::variance_partitioning<float>(groups), targets);
  std::printf("\nvariance partitioning (adjusted R2, mean over subjects)\n");
  const std::vector<std::pair<const char*, std::vector<Eigen::Index>>> subsets{
      {"edges", {0}},          {"depth", {1}},          {"class", {2}},
      {"edges+depth", {0, 1}}, {"edges+class", {0, 2}}, {"depth+class", {1, 2}},
      {"all three", {0, 1, 2}}};
  for (const auto& [label, members] : subsets)
    std::printf("  %-12s %s %7.4f\n", label, members.size() == 1 ? "unique" : "shared",
                parts.shared(members).mean());
  std::printf("  %-12s %-6s %7.4f\n", "total", "", parts.total().mean());

  // Inference over stimuli on the subject-averaged RDM: condition-label permutations (the
  // correct null; the paper permuted RDM entries) and the bootstrap over conditions.
  const Eigen::VectorXf average = targets.values().rowwise().mean();
  const dnn2brain::regression_statistic<float> adjusted(models);
  const auto test =
      dnn2brain::permutation_test(adjusted, average, {.permutations = 1000, .seed = 1});
  const auto ci = dnn2brain::bootstrap_conditions(adjusted, average, {.samples = 500, .seed = 2});
  std::printf(
      "\nsubject-averaged RDM: adjusted R2, permutation p (1000 condition-label "
      "permutations), 95 %% bootstrap CI (500 resamples of the stimuli)\n");
  Eigen::Index top = 0, second = -1;
  for (Eigen::Index d = 0; d < models.size(); ++d) {
    std::printf("  %-6s %7.3f  p = %.4f  [%6.3f, %6.3f]\n", dnns[std::size_t(d)].name.c_str(),
                test.observed(d, 0), test.p_value(d, 0), ci.lower(d, 0), ci.upper(d, 0));
    if (test.observed(d, 0) > test.observed(top, 0)) top = d;
  }
  for (Eigen::Index d = 0; d < models.size(); ++d)
    if (d != top && (second < 0 || test.observed(d, 0) > test.observed(second, 0))) second = d;
  const auto lead = ci.difference(top, second);
  std::printf(
      "  best: %s (p = %.4f against the best of permuted fits); ahead of %s by %.3f, "
      "p = %.4f, 95 %% CI [%.3f, %.3f]\n",
      dnns[std::size_t(top)].name.c_str(), test.p_best[0], dnns[std::size_t(second)].name.c_str(),
      lead.estimate(0, 0), test.p_difference(top, second)[0], lead.lower(0, 0), lead.upper(0, 0));
  const dnn2brain::variance_partitioning<float> partitioning(groups);
  const auto unique = dnn2brain::permutation_test(
      partitioning, average, {.permutations = 1000, .seed = 3, .differences = false});
  std::printf("  unique variance p:");
  for (Eigen::Index g = 0; g < 3; ++g)
    std::printf(" %s %.4f", dnns[std::size_t(g)].name.c_str(),
                unique.p_value(partitioning.subset({g}), 0));
  std::printf("\n");
  return 0;
}
