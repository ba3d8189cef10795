#ifndef DNN2BRAIN_RDM_DETAIL_GRAM_KERNEL_HPP
#define DNN2BRAIN_RDM_DETAIL_GRAM_KERNEL_HPP
// IWYU pragma: private

#include <algorithm>
#include <cstddef>
#include <cstring>

#include <Eigen/Core>

#include <dnn2brain/detail/simd.hpp>

namespace dnn2brain::detail {

/// Rows per side of a Gram tile: 3 × 3 dot products keep 9 accumulators plus 3 + 1 operands in the
/// 16 registers of AVX2, the densest tile that does not spill.
inline constexpr Eigen::Index gram_tile = 3;

#if DNN2BRAIN_VECTOR_EXTENSIONS
inline namespace DNN2BRAIN_SIMD_NAMESPACE {

/// \brief Adds the lower triangle of B Bᵀ, tile by tile, to the column-major double matrix g.
///
/// B is row-major rows × width with leading dimension ld; rows is a multiple of gram_tile and
/// width a multiple of simd_lanes<Scalar> (the caller pads with zeros). Each entry is a dot
/// product accumulated in Scalar over width / lanes steps, in lanes parallel partial sums, then
/// added to g in double. Diagonal tiles are computed whole, so g's strictly upper part of those
/// tiles is written too.
///
/// At the row counts of RDMs (50 to 1000 conditions) this beat Eigen's packed rank update by
/// 1.3–2× on the development machine (docs/performance.md): the dot-product form reads B in place
/// without packing, and 9 FMAs per 6 loads, with row tiles in L1 and blocks of column tiles in L2,
/// keep it compute-bound. after_tile() runs after every tile: the caller uses it to prefetch its
/// next input a little at a time, so that memory traffic overlaps the arithmetic.
template <typename Scalar, typename AfterTile>
void gram_tiles_add(const Scalar* b, Eigen::Index ld, Eigen::Index rows, Eigen::Index width,
                    double* g, Eigen::Index ldg, AfterTile&& after_tile) noexcept {
  constexpr Eigen::Index t = gram_tile;
  constexpr Eigen::Index lanes = simd_lanes<Scalar>;
  using vec = simd_vector<Scalar>;
  // Column tiles go in blocks whose rows take about 256 KiB, so that for large row counts each
  // block is read from L2 while the 3 rows of a row tile stay in L1.
  const Eigen::Index block_rows = std::max<Eigen::Index>(
      t, Eigen::Index(256 * 1024) / (width * Eigen::Index(sizeof(Scalar))) / t * t);
  for (Eigen::Index jb = 0; jb < rows; jb += block_rows) {
    const Eigen::Index jb_end = std::min(rows, jb + block_rows);
    for (Eigen::Index i0 = jb; i0 < rows; i0 += t) {
      for (Eigen::Index j0 = jb; j0 < jb_end && j0 <= i0; j0 += t) {
        vec acc[t][t] = {};
        const Scalar* a_rows[t];
        const Scalar* b_rows[t];
        for (Eigen::Index r = 0; r < t; ++r) {
          a_rows[r] = b + (i0 + r) * ld;
          b_rows[r] = b + (j0 + r) * ld;
        }
        for (Eigen::Index f = 0; f < width; f += lanes) {
          vec bv[t];
          for (Eigen::Index c = 0; c < t; ++c) bv[c] = simd_load(b_rows[c] + f);
          for (Eigen::Index r = 0; r < t; ++r) {
            const vec av = simd_load(a_rows[r] + f);
            for (Eigen::Index c = 0; c < t; ++c) acc[r][c] += av * bv[c];
          }
        }
        for (Eigen::Index r = 0; r < t; ++r)
          for (Eigen::Index c = 0; c < t; ++c) {
            double sum = 0.0;
            for (Eigen::Index k = 0; k < lanes; ++k) sum += static_cast<double>(acc[r][c][k]);
            g[(i0 + r) + (j0 + c) * ldg] += sum;
          }
        after_tile();
      }
    }
  }
}

}  // namespace DNN2BRAIN_SIMD_NAMESPACE
#endif

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_RDM_DETAIL_GRAM_KERNEL_HPP
