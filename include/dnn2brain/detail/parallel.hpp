#ifndef DNN2BRAIN_DETAIL_PARALLEL_HPP
#define DNN2BRAIN_DETAIL_PARALLEL_HPP
// IWYU pragma: private

#include <exception>
#include <limits>
#include <mutex>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dnn2brain::detail {

/// Carries an exception out of an OpenMP region, where throwing is undefined behaviour. Of several
/// failing work items it keeps the one with the lowest index, so the error a caller sees does not
/// depend on the thread count.
class parallel_error {
 public:
  template <typename F>
  void run(Eigen::Index item, F&& work) noexcept {
    try {
      work();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(m_mutex);
      if (item < m_item) {
        m_item = item;
        m_error = std::current_exception();
      }
    }
  }

  void rethrow() const {
    if (m_error) std::rethrow_exception(m_error);
  }

 private:
  std::mutex m_mutex;
  Eigen::Index m_item = std::numeric_limits<Eigen::Index>::max();
  std::exception_ptr m_error;
};

/// Threads an OpenMP parallel region would use here (1 without OpenMP).
[[nodiscard]] inline int max_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// The calling thread's number within the current parallel region (0 outside one).
[[nodiscard]] inline int thread_num() noexcept {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_PARALLEL_HPP
