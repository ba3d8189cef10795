// The README's usage example, compiled and run by ctest so it cannot go stale.
#include <dnn2brain/dnn2brain.hpp>

#include <iostream>

int main() {
  // Activations of two layers for 50 stimuli (any Eigen matrix or Map, any xtensor array).
  const Eigen::MatrixXf block4 = Eigen::MatrixXf::Random(50, 25088).cwiseAbs();
  const Eigen::MatrixXf encoder = Eigen::MatrixXf::Random(50, 4096).cwiseAbs();

  // RDMs: 1 - Pearson r between the patterns of every pair of stimuli (pdist order).
  const auto rdm4 = dnn2brain::compute_rdm(block4, dnn2brain::metric::correlation{});
  const auto rdm_enc = dnn2brain::compute_rdm(encoder, dnn2brain::metric::correlation{});

  // Compare them: Spearman, or Kendall's tau-a for categorical models.
  const double rho = dnn2brain::compare(rdm4, rdm_enc, dnn2brain::measure::spearman{});
  std::cout << rdm4.pairs() << " pairs, spearman " << rho << '\n';
}
