// Linked with b.cpp: both include every header, so a non-inline definition would clash.
#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/simulate.hpp>

#include <cstdio>

double odr_b();

int main() {
  const Eigen::MatrixXd x = Eigen::MatrixXd::Identity(4, 6);
  const double a = dnn2brain::compare(dnn2brain::compute_rdm(x),
                                      dnn2brain::compute_rdm(x, dnn2brain::metric::cosine{}),
                                      dnn2brain::measure::kendall_tau_a{});
  const double b = odr_b();
  std::printf("odr: %g %g\n", a, b);
  return a == b ? 0 : 1;
}
