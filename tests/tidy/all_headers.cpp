// The translation unit clang-tidy checks: every public header, with their templates instantiated.
#include <dnn2brain/dnn2brain.hpp>

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
  return (s > -100 && d.pairs() == 15 && e.pairs() == 3) ? 0 : 1;
} catch (const std::exception&) {
  return 2;
}
