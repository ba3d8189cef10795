#ifndef DNN2BRAIN_DETAIL_SIMD_HPP
#define DNN2BRAIN_DETAIL_SIMD_HPP
// IWYU pragma: private

#include <cstddef>
#include <cstring>
#include <vector>

#include <Eigen/Core>

// The hand-written kernels (Gram tiles, projections, searchlight inner products) use GCC/Clang
// vector extensions. Define DNN2BRAIN_NO_VECTOR_EXTENSIONS before including any dnn2brain header
// (identically in every translation unit) to build their portable fallbacks instead: the same
// results within the documented error models, slower.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(DNN2BRAIN_NO_VECTOR_EXTENSIONS)
#define DNN2BRAIN_VECTOR_EXTENSIONS 1
#else
#define DNN2BRAIN_VECTOR_EXTENSIONS 0
#endif

namespace dnn2brain::detail {

// Bytes per SIMD register the kernels are written for; the compiler lowers the vector type to
// whatever the target has (two SSE registers for one AVX-sized vector, and so on).
// Kernel code depends on the target's vector width, so it lives in an inline namespace named
// after that width: translation units built with different -m flags link distinct kernels. Their
// callers (fit, design_set, compute_rdm) are not in it, and data such as a design_set's padded
// width follow the vector width too, so build every translation unit of a program with the same
// -m flags (as with DNN2BRAIN_NO_VECTOR_EXTENSIONS); project() asserts on a mismatched width.
#if !DNN2BRAIN_VECTOR_EXTENSIONS
inline constexpr std::size_t simd_bytes = 0;
#define DNN2BRAIN_SIMD_NAMESPACE simd_none
#elif defined(__AVX512F__)
inline constexpr std::size_t simd_bytes = 64;
#define DNN2BRAIN_SIMD_NAMESPACE simd64
#elif defined(__AVX__)
inline constexpr std::size_t simd_bytes = 32;
#define DNN2BRAIN_SIMD_NAMESPACE simd32
#else
inline constexpr std::size_t simd_bytes = 16;
#define DNN2BRAIN_SIMD_NAMESPACE simd16
#endif

/// A vector whose data is aligned as Eigen's packets want it (EIGEN_MAX_ALIGN_BYTES). Kernels
/// that hand a buffer to Eigen's vectorised functions (sqrt, inverse) use it: on an unaligned
/// buffer Eigen peels scalar entries until the first aligned one, so which entries take the packet
/// path (with fast math, an approximate square root) would depend on where malloc put the buffer,
/// and results would change from run to run.
template <typename T>
using aligned_vector = std::vector<T, Eigen::aligned_allocator<T>>;

/// x rounded up to a multiple of `multiple`.
[[nodiscard]] constexpr Eigen::Index round_up(Eigen::Index x, Eigen::Index multiple) noexcept {
  return (x + multiple - 1) / multiple * multiple;
}

/// Scalars per SIMD vector (1 without vector extensions).
template <typename Scalar>
inline constexpr Eigen::Index simd_lanes = simd_bytes == 0
                                               ? 1
                                               : static_cast<Eigen::Index>(simd_bytes /
                                                                           sizeof(Scalar));

#if DNN2BRAIN_VECTOR_EXTENSIONS

inline namespace DNN2BRAIN_SIMD_NAMESPACE {

/// A vector of `bytes` bytes of Scalar (float or double).
template <typename Scalar, std::size_t bytes = simd_bytes>
struct simd_vector_type;
template <std::size_t bytes>
struct simd_vector_type<float, bytes> {
  typedef float type __attribute__((vector_size(bytes)));
};
template <std::size_t bytes>
struct simd_vector_type<double, bytes> {
  typedef double type __attribute__((vector_size(bytes)));
};
template <typename Scalar, std::size_t bytes = simd_bytes>
using simd_vector = typename simd_vector_type<Scalar, bytes>::type;

/// Unaligned load and store.
template <typename Scalar>
inline simd_vector<Scalar> simd_load(const Scalar* p) noexcept {
  simd_vector<Scalar> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <typename Scalar>
inline void simd_store(Scalar* p, const simd_vector<Scalar>& v) noexcept {
  std::memcpy(p, &v, sizeof(v));
}

// An empty asm that claims to change v: the compiler keeps v in a vector register instead of
// folding its load into every FMA that uses it (one load per vector, not one per FMA).
// "v" admits all 32 AVX-512 registers, "x" only the first 16.
template <typename Vector>
inline void in_register(Vector& v) noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__AVX512F__)
  asm("" : "+v"(v));
#elif (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
  asm("" : "+x"(v));
#else
  static_cast<void>(v);
#endif
}

}  // namespace DNN2BRAIN_SIMD_NAMESPACE
#endif

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_SIMD_HPP
