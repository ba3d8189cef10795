#ifndef DNN2BRAIN_DETAIL_PROJECTION_KERNEL_HPP
#define DNN2BRAIN_DETAIL_PROJECTION_KERNEL_HPP
// IWYU pragma: private

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <Eigen/Core>

#include <dnn2brain/detail/gram_kernel.hpp>

namespace dnn2brain::detail {

#if defined(__GNUC__) || defined(__clang__)
inline namespace DNN2BRAIN_SIMD_NAMESPACE {

// An empty asm that claims to change v: the compiler keeps v in a vector register instead of
// folding its load into every FMA that uses it (one load per basis vector, not one per FMA).
template <typename Vector>
inline void in_register(Vector& v) noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
  asm("" : "+x"(v));
#else
  static_cast<void>(v);
#endif
}

/// \brief Z(r, j) += Σ_{k0 ≤ k < k0 + kn} B(k, r) (y_j(k) − shift_j) for a tile of V vectors of
/// basis columns and N targets.
///
/// B is row-major (row k holds the basis values of pair k, leading dimension ldb), so each step
/// loads V vectors of B into registers and broadcasts one centred entry of every target: an
/// outer-product update of V × N accumulators, which start from Z and go back to it. Wide tiles
/// matter: on AVX2 a broadcast competes with the FMAs for the vector ports. Every output is thus
/// one sequential sum over k, vectorised across basis columns only: its value does not depend on
/// which tile, block or chunk the target lands in, nor on the vector width, so fits are
/// bit-identical however the targets are split.
template <int V, int N, typename Scalar>
void projection_tile(const Scalar* b, Eigen::Index ldb, const Scalar* const* y, const Scalar* shift,
                     Eigen::Index k0, Eigen::Index kn, Scalar* z, Eigen::Index ldz) noexcept {
  using vec = gram_vector<Scalar>;
  constexpr Eigen::Index lanes = gram_lanes<Scalar>;
  vec acc[V][N];
  for (int n = 0; n < N; ++n)
    for (int v = 0; v < V; ++v) acc[v][n] = gram_load(z + n * ldz + v * lanes);
  const Scalar* ys[N];
  for (int n = 0; n < N; ++n) ys[n] = y[n] + k0;
  for (Eigen::Index k = 0; k < kn; ++k) {
    const Scalar* row = b + (k0 + k) * ldb;
    vec bv[V];
    for (int v = 0; v < V; ++v) {
      bv[v] = gram_load(row + v * lanes);
      in_register(bv[v]);
    }
    for (int n = 0; n < N; ++n) {
      const Scalar centred = ys[n][k] - shift[n];
      for (int v = 0; v < V; ++v) acc[v][n] += bv[v] * centred;
    }
  }
  for (int n = 0; n < N; ++n)
    for (int v = 0; v < V; ++v) std::memcpy(z + n * ldz + v * lanes, &acc[v][n], sizeof(vec));
}

/// Targets per tile for V basis vectors: V·N accumulators, V basis vectors and one broadcast in
/// the 16 vector registers.
template <int V>
inline constexpr int projection_targets = V >= 4 ? 2 : 12 / V;

/// Target counts the caller pads to: a multiple of every tile's target count.
inline constexpr Eigen::Index projection_target_multiple = 12;

/// \brief Z = Bᵀ (Y − 1 shiftᵀ) for `count` targets, count a multiple of
/// projection_target_multiple (the caller pads with pointers to a zero column and zero shifts).
///
/// B: m × width, row-major with leading dimension width (a multiple of gram_lanes<Scalar>,
/// zero-padded). y: pointers to the target columns (m entries each). z: width × count,
/// column-major with leading dimension width. The basis vectors go in near-equal groups of at
/// most 5 (19 DNNs × 2 layers in float: 5 vectors, one group of 5 × 2 tiles); the pairs go in
/// slabs of 128 so that a group's rows of B (at most 20 KiB) stay in L1 while the targets' slabs
/// stream from L2.
template <typename Scalar>
void project(const Scalar* b, Eigen::Index width, Eigen::Index m, const Scalar* const* y,
             const Scalar* shift, Eigen::Index count, Scalar* z) noexcept {
  constexpr Eigen::Index lanes = gram_lanes<Scalar>, slab = 128;
  const Eigen::Index vectors = width / lanes;
  std::fill_n(z, width * count, Scalar(0));
  for (Eigen::Index k0 = 0; k0 < m; k0 += slab) {
    const Eigen::Index kn = std::min(slab, m - k0);
    // The basis vectors in near-equal groups of at most 5.
    const Eigen::Index groups = (vectors + 4) / 5;
    for (Eigen::Index g = 0, v0 = 0; g < groups; ++g) {
      const Eigen::Index size = (vectors - v0) / (groups - g);
      const auto tiles = [&]<int V>() {
        constexpr int n_tile = projection_targets<V>;
        for (Eigen::Index j = 0; j < count; j += n_tile)
          projection_tile<V, n_tile>(b + v0 * lanes, width, y + j, shift + j, k0, kn,
                                     z + j * width + v0 * lanes, width);
      };
      switch (size) {
        case 5:
          tiles.template operator()<5>();
          break;
        case 4:
          tiles.template operator()<4>();
          break;
        case 3:
          tiles.template operator()<3>();
          break;
        case 2:
          tiles.template operator()<2>();
          break;
        default:
          tiles.template operator()<1>();
          break;
      }
      v0 += size;
    }
  }
}

}  // namespace DNN2BRAIN_SIMD_NAMESPACE
#else
inline constexpr Eigen::Index projection_target_multiple = 1;

// Portable fallback with the same arithmetic: one sequential sum over k per output.
template <typename Scalar>
void project(const Scalar* b, Eigen::Index width, Eigen::Index m, const Scalar* const* y,
             const Scalar* shift, Eigen::Index count, Scalar* z) noexcept {
  for (Eigen::Index j = 0; j < count; ++j)
    for (Eigen::Index r = 0; r < width; ++r) {
      Scalar sum = 0;
      for (Eigen::Index k = 0; k < m; ++k) sum += b[k * width + r] * (y[j][k] - shift[j]);
      z[j * width + r] = sum;
    }
}
#endif

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_PROJECTION_KERNEL_HPP
