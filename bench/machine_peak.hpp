// This machine's limits, measured once per benchmark run so that every figure can be reported as
// a fraction of them: OpenBLAS SYRK and GEMM throughput and streaming read bandwidth.
#ifndef DNN2BRAIN_BENCH_MACHINE_PEAK_HPP
#define DNN2BRAIN_BENCH_MACHINE_PEAK_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

extern "C" {
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc);
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc);
}

namespace bench {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Deterministic pseudo-random fill (a 64-bit LCG), fast enough for multi-GB inputs.
template <typename Scalar>
void fill(Scalar* data, std::size_t size, std::uint64_t seed) {
  std::uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (std::size_t k = 0; k < size; ++k) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    data[k] = static_cast<Scalar>(static_cast<double>(state >> 11) * 0x1.0p-53);
  }
}

/// Best-of-5 OpenBLAS SYRK rate (n²k flop convention: n(n+1)k/2 multiply-adds) for n = 1024,
/// k = 8192: the machine's practical peak for the Gram products RDMs need.
template <typename Scalar>
double syrk_peak_gflops() {
  static const double peak = [] {
    const int n = 1024, k = 8192;
    std::vector<Scalar> a(std::size_t(n) * k), c(std::size_t(n) * n);
    fill(a.data(), a.size(), 1);
    const Scalar one = 1, zero = 0;
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      if constexpr (sizeof(Scalar) == 4)
        ssyrk_("L", "N", &n, &k, &one, a.data(), &n, &zero, c.data(), &n);
      else
        dsyrk_("L", "N", &n, &k, &one, a.data(), &n, &zero, c.data(), &n);
      best = std::max(best, double(n) * n * k / seconds_since(t0) * 1e-9);
    }
    return best;
  }();
  return peak;
}

/// C = Aᵀ B through OpenBLAS (A: k × m, B: k × n, both column-major; C: m × n).
template <typename Scalar>
void gemm_tn(int m, int n, int k, const Scalar* a, const Scalar* b, Scalar* c) {
  const Scalar one = 1, zero = 0;
  if constexpr (sizeof(Scalar) == 4)
    sgemm_("T", "N", &m, &n, &k, &one, a, &k, b, &k, &zero, c, &m);
  else
    dgemm_("T", "N", &m, &n, &k, &one, a, &k, b, &k, &zero, c, &m);
}

/// Best-of-5 OpenBLAS GEMM rate (2n³ flops) for n = 2048: the machine's practical peak.
template <typename Scalar>
double gemm_peak_gflops() {
  static const double peak = [] {
    const int n = 2048;
    std::vector<Scalar> a(std::size_t(n) * n), b(a.size()), c(a.size());
    fill(a.data(), a.size(), 3);
    fill(b.data(), b.size(), 4);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      gemm_tn(n, n, n, a.data(), b.data(), c.data());
      best = std::max(best, 2.0 * n * n * n / seconds_since(t0) * 1e-9);
    }
    return best;
  }();
  return peak;
}

/// Best-of-5 streaming read bandwidth over 512 MiB in GB/s, with OpenMP threads when enabled.
inline double read_bandwidth_gbs() {
  static const double bandwidth = [] {
    const std::size_t size = std::size_t(1) << 27;  // floats
    std::vector<float> a(size);
    fill(a.data(), a.size(), 2);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      const Eigen::Map<const Eigen::VectorXf> v(a.data(), Eigen::Index(size));
      float total = 0;
#pragma omp parallel for reduction(+ : total)
      for (Eigen::Index block = 0; block < 64; ++block)
        total += v.segment(block * Eigen::Index(size / 64), Eigen::Index(size / 64)).sum();
      volatile float sink = total;
      (void)sink;
      best = std::max(best, double(size) * sizeof(float) / seconds_since(t0) * 1e-9);
    }
    return best;
  }();
  return bandwidth;
}

}  // namespace bench

#endif
