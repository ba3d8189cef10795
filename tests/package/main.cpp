#include <dnn2brain/dnn2brain.hpp>

#include <cstdio>

int main() {
  Eigen::MatrixXd patterns(4, 3);
  patterns << 1, 2, 3,  //
      3, 2, 1,          //
      1, 3, 2,          //
      2, 2, 5;
  const auto r = dnn2brain::compute_rdm(patterns);
  std::printf("consumer: correlation RDM of %ld conditions, %ld pairs\n", long(r.conditions()),
              long(r.pairs()));
  return r(0, 1) == 2.0 ? 0 : 1;
}
