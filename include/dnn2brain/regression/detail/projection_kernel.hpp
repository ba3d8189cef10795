#ifndef DNN2BRAIN_REGRESSION_DETAIL_PROJECTION_KERNEL_HPP
#define DNN2BRAIN_REGRESSION_DETAIL_PROJECTION_KERNEL_HPP
// IWYU pragma: private

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>
#include <dnn2brain/detail/simd.hpp>

namespace dnn2brain::detail {

#if DNN2BRAIN_VECTOR_EXTENSIONS
inline namespace DNN2BRAIN_SIMD_NAMESPACE {

// A half-width vector for the last basis columns when they fill only half a vector (19 DNNs ×
// 2 layers in float with AVX-512: 2 × 16 + 8 columns instead of 3 × 16, 17 % less arithmetic,
// 5 % faster on a Zen 4 core).
// Used with 32- and 64-byte vectors only.
inline constexpr bool projection_halves = simd_bytes >= 32;
template <typename Scalar>
using projection_half = simd_vector<Scalar, simd_bytes / (projection_halves ? 2 : 1)>;

/// Basis columns per half vector: what the union width is rounded up to.
template <typename Scalar>
inline constexpr Eigen::Index projection_granule = simd_lanes<Scalar> / (projection_halves ? 2 : 1);

/// \brief Z(r, j) += Σ_{k0 ≤ k < k0 + kn} B(k, r) (y_j(k) − shift_j) for a tile of V vectors
/// (and H = 0 or 1 half vector after them) of basis columns and N targets.
///
/// B is row-major (row k holds the basis values of pair k, leading dimension ldb), so each step
/// loads the tile's vectors of B into registers and broadcasts one centred entry of every target:
/// an outer-product update of (V + H) × N accumulators, which start from Z and go back to it. Wide
/// tiles matter: on AVX2 a broadcast competes with the FMAs for the vector ports. Every output is
/// thus one sequential sum over k, vectorised across basis columns only: its value does not depend
/// on which tile, block or chunk the target lands in, nor on the vector width, so fits are
/// bit-identical however the targets are split.
template <int V, int H, int N, typename Scalar>
void projection_tile(const Scalar* b, Eigen::Index ldb, const Scalar* const* y, const Scalar* shift,
                     Eigen::Index k0, Eigen::Index kn, Scalar* z, Eigen::Index ldz) noexcept {
  using vec = simd_vector<Scalar>;
  using half = projection_half<Scalar>;
  constexpr Eigen::Index lanes = simd_lanes<Scalar>;
  vec acc[std::max(V, 1)][N];
  half acc_half[N];
  for (int n = 0; n < N; ++n) {
    for (int v = 0; v < V; ++v) acc[v][n] = simd_load(z + n * ldz + v * lanes);
    if constexpr (H == 1) std::memcpy(&acc_half[n], z + n * ldz + V * lanes, sizeof(half));
  }
  const Scalar* ys[N];
  for (int n = 0; n < N; ++n) ys[n] = y[n] + k0;
  for (Eigen::Index k = 0; k < kn; ++k) {
    const Scalar* row = b + (k0 + k) * ldb;
    vec bv[std::max(V, 1)];
    for (int v = 0; v < V; ++v) {
      bv[v] = simd_load(row + v * lanes);
      in_register(bv[v]);
    }
    half bh;
    if constexpr (H == 1) {
      std::memcpy(&bh, row + V * lanes, sizeof(half));
      in_register(bh);
    }
    for (int n = 0; n < N; ++n) {
      const Scalar centred = ys[n][k] - shift[n];
      for (int v = 0; v < V; ++v) acc[v][n] += bv[v] * centred;
      if constexpr (H == 1) acc_half[n] += bh * centred;
    }
  }
  for (int n = 0; n < N; ++n) {
    for (int v = 0; v < V; ++v) std::memcpy(z + n * ldz + v * lanes, &acc[v][n], sizeof(vec));
    if constexpr (H == 1) std::memcpy(z + n * ldz + V * lanes, &acc_half[n], sizeof(half));
  }
}

/// Targets per tile for R vectors of basis columns: R·N accumulators, R basis vectors and one
/// broadcast in the vector registers: 32 with AVX-512 (where 5 × 4 tiles made the double kernel
/// 1.3× faster than 5 × 2 on a Zen 4 core), 16 otherwise.
template <int R>
inline constexpr int projection_targets = simd_bytes == 64 ? (R >= 5   ? 4
                                                              : R == 4 ? 6
                                                              : R == 3 ? 8
                                                                       : 12)
                                                           : (R >= 4 ? 2 : 12 / R);

/// Target counts the caller pads its arrays to: a multiple of every tile's target count.
inline constexpr Eigen::Index projection_target_multiple = 24;

/// \brief Z = Bᵀ (Y − 1 shiftᵀ) for `count` targets. y, shift and z have room for count rounded
/// up to projection_target_multiple (the caller pads with pointers to a zero column and zero
/// shifts); each group of basis vectors computes count rounded up to its tile's target count.
///
/// B: m × width, row-major with leading dimension width (a multiple of projection_granule<Scalar>,
/// zero-padded). y: pointers to the target columns (m entries each). z: width × padded count,
/// column-major with leading dimension width. The basis columns go in whole vectors plus at most
/// one half vector at the end, in near-equal groups of at most 5 (19 DNNs × 2 layers in double
/// with AVX-512: 5 vectors, one group of 5 × 4 tiles); the pairs go in slabs of 128 so that a
/// group's rows of B stay in L1 or L2 while the targets' slabs stream from L2.
template <typename Scalar>
void project(const Scalar* b, Eigen::Index width, Eigen::Index m, const Scalar* const* y,
             const Scalar* shift, Eigen::Index count, Scalar* z) noexcept {
  constexpr Eigen::Index lanes = simd_lanes<Scalar>, slab = 128;
  // A width from a translation unit built for another vector width would read past B's rows.
  DNN2BRAIN_ASSERT(width % lanes == 0 || (projection_halves && 2 * (width % lanes) == lanes),
                   "project: basis width not a multiple of this build's half vector");
  const Eigen::Index full = width / lanes, vectors = full + (width % lanes != 0 ? 1 : 0);
  std::fill_n(z, width * round_up(count, projection_target_multiple), Scalar(0));
  for (Eigen::Index k0 = 0; k0 < m; k0 += slab) {
    const Eigen::Index kn = std::min(slab, m - k0);
    // The vectors in near-equal groups of at most 5; the half vector, if any, is the last one.
    const Eigen::Index groups = (vectors + 4) / 5;
    for (Eigen::Index g = 0, v0 = 0; g < groups; ++g) {
      const Eigen::Index size = (vectors - v0) / (groups - g);
      const bool with_half = v0 + size > full;
      const auto tiles = [&]<int V, int H>() {
        constexpr int n_tile = projection_targets<V + H>;
        for (Eigen::Index j = 0; j < count; j += n_tile)
          projection_tile<V, H, n_tile>(b + v0 * lanes, width, y + j, shift + j, k0, kn,
                                        z + j * width + v0 * lanes, width);
      };
      const auto group = [&]<int R>() {
        if constexpr (projection_halves)
          if (with_half) return tiles.template operator()<R - 1, 1>();
        tiles.template operator()<R, 0>();
      };
      switch (size) {
        case 5:
          group.template operator()<5>();
          break;
        case 4:
          group.template operator()<4>();
          break;
        case 3:
          group.template operator()<3>();
          break;
        case 2:
          group.template operator()<2>();
          break;
        default:
          group.template operator()<1>();
          break;
      }
      v0 += size;
    }
  }
}

}  // namespace DNN2BRAIN_SIMD_NAMESPACE
#else
inline constexpr Eigen::Index projection_target_multiple = 1;
template <typename Scalar>
inline constexpr Eigen::Index projection_granule = 1;

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

#endif  // DNN2BRAIN_REGRESSION_DETAIL_PROJECTION_KERNEL_HPP
