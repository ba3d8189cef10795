// Build RDMs of one activation matrix with two distance metrics and compare them.
//
// The activations come from a toy "layer": 48 stimuli in 4 categories, each stimulus a noisy mix of
// its category's latent code, passed through a random projection and a ReLU to 20,000 units (a
// stand-in for a flattened convolutional layer; any conditions x units matrix works the same way,
// e.g. an Eigen::Map over a numpy buffer). The program builds the correlation-distance RDM (as in
// Dwivedi et al. 2021) and the Euclidean RDM, compares them with each other, and compares both with
// a categorical model RDM (0 within a category, 1 between).
#include <dnn2brain/dnn2brain.hpp>

#include <cstdio>
#include <random>

int main() {
  constexpr Eigen::Index stimuli = 48, categories = 4, latent = 16, units = 20000;
  std::mt19937_64 engine(2021);
  std::normal_distribution<float> normal;
  auto gaussian = [&](Eigen::Index rows, Eigen::Index cols) {
    Eigen::MatrixXf m(rows, cols);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(engine);
    return m;
  };
  const Eigen::MatrixXf codes = gaussian(categories, latent);
  Eigen::MatrixXf mixed = 1.2f * gaussian(stimuli, latent);  // stimulus-specific part
  for (Eigen::Index s = 0; s < stimuli; ++s) mixed.row(s) += codes.row(s % categories);
  const Eigen::MatrixXf activations = (mixed * gaussian(latent, units)).cwiseMax(0.0f);  // ReLU

  const auto correlation = dnn2brain::compute_rdm(activations, dnn2brain::metric::correlation{});
  const auto euclidean = dnn2brain::compute_rdm(activations, dnn2brain::metric::euclidean{});

  dnn2brain::rdm<float> model(stimuli);
  for (Eigen::Index i = 0; i < stimuli; ++i)
    for (Eigen::Index j = i + 1; j < stimuli; ++j)
      model.values()[dnn2brain::condensed_index(stimuli, i, j)] =
          (i % categories != j % categories) ? 1.0f : 0.0f;

  std::printf("activations: %ld stimuli x %ld units (float)\n", long(stimuli), long(units));
  std::printf(
      "RDMs: %ld pairs each; correlation distance in [%.3f, %.3f], euclidean in [%.1f, %.1f]\n",
      long(correlation.pairs()), correlation.values().minCoeff(), correlation.values().maxCoeff(),
      euclidean.values().minCoeff(), euclidean.values().maxCoeff());

  namespace measure = dnn2brain::measure;
  std::printf("\n%-28s %9s %9s %13s\n", "comparison", "spearman", "pearson", "kendall tau-a");
  auto row = [&](const char* label, const auto& a, const auto& b) {
    std::printf("%-28s %9.4f %9.4f %13.4f\n", label, dnn2brain::compare(a, b, measure::spearman{}),
                dnn2brain::compare(a, b, measure::pearson{}),
                dnn2brain::compare(a, b, measure::kendall_tau_a{}));
  };
  row("correlation vs euclidean", correlation, euclidean);
  row("correlation vs category", correlation, model);
  row("euclidean vs category", euclidean, model);

  const double recovered = dnn2brain::compare(correlation, model, measure::spearman{});
  std::printf("\ncategory structure recovered: %s (spearman %.3f)\n",
              recovered > 0.2 ? "yes" : "no", recovered);
  return recovered > 0.2 ? 0 : 1;
}
