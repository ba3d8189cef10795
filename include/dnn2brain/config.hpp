#ifndef DNN2BRAIN_CONFIG_HPP
#define DNN2BRAIN_CONFIG_HPP

#include <dnn2brain/version.hpp>

#if defined(__GNUC__) || defined(__clang__)
#define DNN2BRAIN_COLD __attribute__((cold, noinline))
#else
#define DNN2BRAIN_COLD
#endif

// OpenMP directives that vanish, without an unknown-pragma warning, when OpenMP is off:
// DNN2BRAIN_OMP(parallel for schedule(static)).
#define DNN2BRAIN_STRINGIFY(...) #__VA_ARGS__
#if defined(_OPENMP)
#define DNN2BRAIN_OMP(...) _Pragma(DNN2BRAIN_STRINGIFY(omp __VA_ARGS__))
#else
#define DNN2BRAIN_OMP(...)
#endif

// Internal-invariant checks: on unless NDEBUG, forced on by DNN2BRAIN_ENABLE_ASSERTS. Users may
// define DNN2BRAIN_ASSERT themselves before including any dnn2brain header (as Eigen's
// eigen_assert); do it identically in every translation unit.
#ifndef DNN2BRAIN_ASSERT
#if defined(NDEBUG) && !defined(DNN2BRAIN_ENABLE_ASSERTS)
#define DNN2BRAIN_ASSERT(cond, msg) static_cast<void>(0)
#else
#include <cstdio>
#include <cstdlib>
namespace dnn2brain::detail {
[[noreturn]] DNN2BRAIN_COLD inline void assert_fail(const char* cond, const char* msg,
                                                    const char* file, int line) noexcept {
  std::fprintf(stderr, "%s:%d: dnn2brain assertion '%s' failed: %s\n", file, line, cond, msg);
  std::abort();
}
}  // namespace dnn2brain::detail
#define DNN2BRAIN_ASSERT(cond, msg) \
  ((cond) ? static_cast<void>(0) : ::dnn2brain::detail::assert_fail(#cond, msg, __FILE__, __LINE__))
#endif
#endif

#endif  // DNN2BRAIN_CONFIG_HPP
