#ifndef DNN2BRAIN_DETAIL_PROJECTION_KERNEL_HPP
#define DNN2BRAIN_DETAIL_PROJECTION_KERNEL_HPP
// IWYU pragma: private

#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#include <dnn2brain/detail/gram_kernel.hpp>

namespace dnn2brain::detail {

#if defined(__GNUC__) || defined(__clang__)
inline namespace DNN2BRAIN_SIMD_NAMESPACE {

/// \brief Z(r, j) = Σ_k B(k, r) (y_j(k) − shift_j) for a tile of V vectors of basis columns and N
/// targets.
///
/// B is row-major (row k holds the basis values of pair k, leading dimension ldb), so each step
/// loads V vectors of B and broadcasts one entry of every target: an outer-product update of
/// V × N accumulators. Every output is one sequential sum over k, vectorised across basis columns
/// only, so its value does not depend on which tile, block or chunk the target lands in, nor on
/// the vector width: fits are bit-identical however the targets are split.
template <int V, int N, typename Scalar>
void projection_tile(const Scalar* b, Eigen::Index ldb, const Scalar* const* y,
                     const Scalar* shift, Eigen::Index m, Scalar* z, Eigen::Index ldz) noexcept {
  using vec = gram_vector<Scalar>;
  constexpr Eigen::Index lanes = gram_lanes<Scalar>;
  vec acc[V][N] = {};
  for (Eigen::Index k = 0; k < m; ++k) {
    const Scalar* row = b + k * ldb;
    vec bv[V];
    for (int v = 0; v < V; ++v) bv[v] = gram_load(row + v * lanes);
    for (int n = 0; n < N; ++n) {
      const Scalar centred = y[n][k] - shift[n];
      for (int v = 0; v < V; ++v) acc[v][n] += bv[v] * centred;
    }
  }
  for (int n = 0; n < N; ++n)
    for (int v = 0; v < V; ++v)
      for (Eigen::Index l = 0; l < lanes; ++l) z[n * ldz + v * lanes + l] = acc[v][n][l];
}

/// Tiles of the projection: 4 basis vectors × 3 targets (12 accumulators, 7 loads per 12 FMAs),
/// and for the last basis columns narrower tiles with more targets, always 12 accumulators.
template <int V>
inline constexpr int projection_targets = 12 / V;

/// \brief Z = Bᵀ (Y − 1 shiftᵀ) for `count` targets.
///
/// B: m × width, row-major with leading dimension width (a multiple of gram_lanes<Scalar>,
/// zero-padded). y: pointers to the count target columns (m entries each). z: width × count,
/// column-major with leading dimension width. scratch: m × 12 Scalars, where targets of an
/// incomplete tile are copied next to zero columns so that every target goes through the same
/// kernel as in a complete tile.
template <typename Scalar>
void project(const Scalar* b, Eigen::Index width, Eigen::Index m, const Scalar* const* y,
             const Scalar* shift, Eigen::Index count, Scalar* z, Scalar* scratch) noexcept {
  constexpr Eigen::Index lanes = gram_lanes<Scalar>;
  const Eigen::Index vectors = width / lanes;
  for (Eigen::Index v0 = 0; v0 < vectors; v0 += 4) {
    const auto tile = [&]<int V>() {
      constexpr int n_tile = projection_targets<V>;
      const Scalar* b_tile = b + v0 * lanes;
      Scalar* z_tile = z + v0 * lanes;
      Eigen::Index j = 0;
      for (; j + n_tile <= count; j += n_tile)
        projection_tile<V, n_tile>(b_tile, width, y + j, shift + j, m, z_tile + j * width, width);
      if (j == count) return;
      // The incomplete tile: copy its targets into scratch, pad with zero columns.
      const Scalar* columns[n_tile];
      Scalar shifts[n_tile] = {};
      Scalar partial[n_tile * lanes * V];
      for (int n = 0; n < n_tile; ++n) {
        Scalar* column = scratch + n * m;
        if (j + n < count) {
          std::copy_n(y[j + n], m, column);
          shifts[n] = shift[j + n];
        } else {
          std::fill_n(column, m, Scalar(0));
        }
        columns[n] = column;
      }
      projection_tile<V, n_tile>(b_tile, width, columns, shifts, m, partial, lanes * V);
      for (Eigen::Index n = 0; j + n < count; ++n)
        std::copy_n(partial + n * lanes * V, lanes * V, z_tile + (j + n) * width);
    };
    switch (std::min<Eigen::Index>(4, vectors - v0)) {
      case 4: tile.template operator()<4>(); break;
      case 3: tile.template operator()<3>(); break;
      case 2: tile.template operator()<2>(); break;
      default: tile.template operator()<1>(); break;
    }
  }
}

}  // namespace DNN2BRAIN_SIMD_NAMESPACE
#else
// Portable fallback with the same arithmetic: one sequential sum over k per output.
template <typename Scalar>
void project(const Scalar* b, Eigen::Index width, Eigen::Index m, const Scalar* const* y,
             const Scalar* shift, Eigen::Index count, Scalar* z, Scalar* /*scratch*/) noexcept {
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
