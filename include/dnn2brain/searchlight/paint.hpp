#ifndef DNN2BRAIN_SEARCHLIGHT_PAINT_HPP
#define DNN2BRAIN_SEARCHLIGHT_PAINT_HPP

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/searchlight/brain_mask.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>

namespace dnn2brain {

/// Where a block searchlight's value goes in the volume.
enum class block_painting {
  /// The block's core (the stride³ box that made it a searchlight), mask voxels only.
  core,
  /// Dwivedi et al. (2021), `blocks2sl`: a box of the block's (truncated) outer size starting at
  /// the core, blocks painted in order so later ones overwrite earlier ones, never re-masked. The
  /// result equals `core` inside the mask except at the volume's high edges, where boxes bleed.
  paper,
};

/// \brief Puts one or more values per searchlight back into a volume: NaN where no searchlight
/// paints (outside the mask).
///
/// \param values searchlights × q (or a vector, q = 1), in table order.
/// \return (nx, ny, nz) for q = 1, else (nx, ny, nz, q): volume t holds column t, ready for
///         io::write_nifti with the mask's geometry.
/// Voxel centres paint their centre voxel; blocks follow `rule`.
template <typename Derived>
requires floating_eigen<Derived>
[[nodiscard]] xt::xarray<typename Derived::Scalar> paint(
    const brain_mask& mask, const neighbor_table& table, const Eigen::MatrixBase<Derived>& values,
    block_painting rule = block_painting::core) {
  using Scalar = typename Derived::Scalar;
  constexpr const char* function = "paint";
  if (!table.geometry().same_grid(mask.geometry(), 0.0) || table.mask_voxels() != mask.size())
    detail::throw_invalid_argument(function,
                                   "expected the neighbour table of this mask, got one "
                                   "built on another grid or mask");
  if (std::size_t(values.rows()) != table.size())
    detail::throw_invalid_argument(
        function, detail::concat("expected one row of values per searchlight (", table.size(),
                                 "), got ", values.rows()));
  const auto& shape = mask.geometry().shape;
  const auto q = std::size_t(values.cols());
  std::vector<std::size_t> dims{shape[0], shape[1], shape[2]};
  if (q != 1) dims.push_back(q);
  xt::xarray<Scalar> volume(dims, std::numeric_limits<Scalar>::quiet_NaN());
  Scalar* out = volume.data();  // row-major: voxel-linear index × q + t
  const auto put = [&](const ijk& v, Eigen::Index row) {
    const std::size_t at = mask.geometry().linear(v) * q;
    for (std::size_t t = 0; t < q; ++t) out[at + t] = values(row, Eigen::Index(t));
  };

  if (table.kind() == center_kind::voxel) {
    for (std::size_t c = 0; c < table.size(); ++c) put(table.centers()[c], Eigen::Index(c));
    return volume;
  }
  const auto& blocks = table.blocks();
  const int edge = 2 * blocks.radius + blocks.stride;
  for (std::size_t c = 0; c < table.size(); ++c) {
    const ijk corner = table.centers()[c];
    ijk from{corner.i + blocks.radius, corner.j + blocks.radius, corner.k + blocks.radius};
    ijk to{};  // exclusive, clipped to the volume
    const auto clip = [&](int start, int length, std::size_t axis) {
      return std::min(start + length, static_cast<int>(shape[axis]));
    };
    if (rule == block_painting::core) {
      to = {clip(from.i, blocks.stride, 0), clip(from.j, blocks.stride, 1),
            clip(from.k, blocks.stride, 2)};
    } else {
      // The truncated outer size of the block, laid from the core's first voxel.
      const int si = clip(corner.i, edge, 0) - corner.i, sj = clip(corner.j, edge, 1) - corner.j,
                sk = clip(corner.k, edge, 2) - corner.k;
      to = {clip(from.i, si, 0), clip(from.j, sj, 1), clip(from.k, sk, 2)};
    }
    for (int i = from.i; i < to.i; ++i)
      for (int j = from.j; j < to.j; ++j)
        for (int k = from.k; k < to.k; ++k)
          if (rule == block_painting::paper || mask.column({i, j, k}) >= 0)
            put({i, j, k}, Eigen::Index(c));
  }
  return volume;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_PAINT_HPP
