// Shared helpers for the dnn2brain tests: thread-count control and deviation reporting.
#ifndef DNN2BRAIN_TESTS_SUPPORT_TEST_HELPERS_HPP
#define DNN2BRAIN_TESTS_SUPPORT_TEST_HELPERS_HPP

#include <cmath>
#include <limits>
#include <random>

#include <Eigen/Core>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace dnn2brain::test {

/// Sets the OpenMP thread count for the scope (no-op without OpenMP).
class thread_count {
 public:
  explicit thread_count([[maybe_unused]] int threads) {
#ifdef _OPENMP
    m_previous = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
  }
  ~thread_count() {
#ifdef _OPENMP
    omp_set_num_threads(m_previous);
#endif
  }
  thread_count(const thread_count&) = delete;
  thread_count& operator=(const thread_count&) = delete;

 private:
  int m_previous = 1;
};

/// Largest |a − b| over entries, NaN-aware: a NaN on one side only counts as infinite.
/// Sizes must match: a mismatch counts as an infinite deviation.
template <typename A, typename B>
double max_abs_diff(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (Eigen::Index k = 0; k < a.size(); ++k) {
    const double x = static_cast<double>(a.reshaped()(k));
    const double y = static_cast<double>(b.reshaped()(k));
    if (std::isnan(x) && std::isnan(y)) continue;
    const double d =
        std::isnan(x) || std::isnan(y) ? std::numeric_limits<double>::infinity() : std::abs(x - y);
    worst = std::max(worst, d);
  }
  return worst;
}

/// n × p standard-normal matrix from a fixed seed.
inline Eigen::MatrixXd gaussian(Eigen::Index n, Eigen::Index p, unsigned seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(n, p);
  for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = normal(engine);
  return x;
}

}  // namespace dnn2brain::test

#endif
