#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/simulate.hpp>

double odr_b() {
  const Eigen::MatrixXd x = Eigen::MatrixXd::Identity(4, 6);
  return dnn2brain::compare(dnn2brain::compute_rdm(x),
                            dnn2brain::compute_rdm(x, dnn2brain::metric::cosine{}),
                            dnn2brain::measure::kendall_tau_a{});
}
