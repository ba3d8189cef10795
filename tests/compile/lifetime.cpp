// Builds as is; with DNN2BRAIN_TEST_DANGLING_COLUMN it must not compile: a column view of a
// temporary rdm_stack would dangle, so rdm_stack::column() is deleted on rvalues (ctest checks the
// diagnostic).
#include <dnn2brain/core/rdm_stack.hpp>

int main() {
#ifdef DNN2BRAIN_TEST_DANGLING_COLUMN
  const auto column = dnn2brain::rdm_stack<double>(5, 2).column(0);
#else
  const dnn2brain::rdm_stack<double> stack(5, 2);
  const auto column = stack.column(0);
#endif
  return column.size() == 10 ? 0 : 1;
}
