// Builds with floating-point activations; with DNN2BRAIN_TEST_INTEGER_SCALAR it must not compile,
// because RDMs of integer activations are rejected at compile time (ctest checks the diagnostic).
#include <dnn2brain/rdm/compute_rdm.hpp>

int main() {
#ifdef DNN2BRAIN_TEST_INTEGER_SCALAR
  using Scalar = int;
#else
  using Scalar = double;
#endif
  const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x =
      Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>::Identity(3, 4);
  return dnn2brain::compute_rdm(x).conditions() == 3 ? 0 : 1;
}
