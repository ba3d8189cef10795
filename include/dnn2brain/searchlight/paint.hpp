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
  /// The block's core (the stride³ box from corner + radius that made it a searchlight, clipped
  /// to the volume), mask voxels only.
  core,
  /// Dwivedi et al. (2021), `blocks2sl`: a box of the block's (truncated) outer size starting at
  /// the core, blocks painted in order so later ones overwrite earlier ones, never re-masked. The
  /// result equals `core` inside the mask except at the volume's high edges, where boxes bleed.
  paper,
};

namespace detail {

/// Paints q = values.rows() maps, map t from row t of values (one column per searchlight).
template <typename Scalar>
[[nodiscard]] xt::xarray<Scalar> paint_rows(
    const brain_mask& mask, const neighbor_table& table,
    const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>, 0,
                     Eigen::OuterStride<>>& values,
    block_painting rule) {
  const auto& shape = mask.geometry().shape;
  const index_t q = values.rows();
  std::vector<std::size_t> dims{shape[0], shape[1], shape[2]};
  if (q != 1) dims.push_back(std::size_t(q));
  xt::xarray<Scalar> volume(dims, std::numeric_limits<Scalar>::quiet_NaN());
  Scalar* out = volume.data();  // row-major: voxel-linear index × q + t
  const auto put = [&](const ijk& v, index_t c) {
    Scalar* at = out + mask.geometry().linear(v) * q;
    for (index_t t = 0; t < q; ++t) at[t] = values(t, c);
  };

  if (table.kind() == center_kind::voxel) {
    for (index_t c = 0; c < table.size(); ++c) put(table.centers()[std::size_t(c)], c);
    return volume;
  }
  const auto& blocks = table.blocks();
  const int edge = 2 * blocks.radius + blocks.stride;
  for (index_t c = 0; c < table.size(); ++c) {
    const ijk corner = table.centers()[std::size_t(c)];
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
          if (rule == block_painting::paper || mask.column({i, j, k}) >= 0) put({i, j, k}, c);
  }
  return volume;
}

}  // namespace detail

/// \brief Puts values per searchlight back into volumes: q maps, NaN where no searchlight paints
/// (outside the mask).
///
/// \param values q × searchlights: one row per map (model, statistic), one column per
///               searchlight in table order; the layout of regression results
///               (ols_result::adjusted_r_squared is models × targets) and of rdm_stack.
/// \return (nx, ny, nz) for q = 1, else (nx, ny, nz, q): volume t holds row t, ready for
///         io::write_nifti with the mask's geometry.
/// Voxel centers paint their center voxel; blocks follow `rule`. Under block_painting::core
/// searchlight c paints exactly the mask voxels v with table.centered_at(v) == c. Column-major
/// input is read in place; expressions and row-major input are evaluated once.
/// \throws invalid_argument if the table is not the mask's or values has not one column per
///         searchlight.
template <typename Derived>
requires floating_eigen<Derived> &&(!bool(Derived::IsVectorAtCompileTime))
    [[nodiscard]] xt::xarray<typename Derived::Scalar> paint(
        const brain_mask& mask, const neighbor_table& table,
        const Eigen::MatrixBase<Derived>& values, block_painting rule = block_painting::core) {
  constexpr const char* function = "paint";
  detail::require_table_mask(table.geometry(), table.mask_voxels(), mask, function);
  if (values.cols() != table.size())
    detail::throw_invalid_argument(
        function, detail::concat("expected maps × searchlights values with one column per "
                                 "searchlight (",
                                 table.size(), "), got ", values.rows(), " × ", values.cols(),
                                 " (a searchlights × maps matrix needs .transpose())"));
  return detail::paint_rows<typename Derived::Scalar>(mask, table, values, rule);
}

/// \brief One map: one value per searchlight (a row or a column vector), painted as by the
/// matrix overload into an (nx, ny, nz) volume.
template <typename Derived>
requires floating_eigen<Derived> &&(bool(Derived::IsVectorAtCompileTime))
    [[nodiscard]] xt::xarray<typename Derived::Scalar> paint(
        const brain_mask& mask, const neighbor_table& table,
        const Eigen::MatrixBase<Derived>& values, block_painting rule = block_painting::core) {
  using Scalar = typename Derived::Scalar;
  constexpr const char* function = "paint";
  detail::require_table_mask(table.geometry(), table.mask_voxels(), mask, function);
  if (values.size() != table.size())
    detail::throw_invalid_argument(
        function, detail::concat("expected one value per searchlight (", table.size(), "), got ",
                                 values.size()));
  // Vectors transpose implicitly on assignment: a column vector becomes the one row.
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> row = values;
  return detail::paint_rows<Scalar>(mask, table, row, rule);
}

/// paint() of an xtensor array: shape (maps, searchlights), or 1-D with one value per
/// searchlight.
template <floating_xexpression E>
[[nodiscard]] xt::xarray<typename E::value_type> paint(const brain_mask& mask,
                                                       const neighbor_table& table,
                                                       const xt::xexpression<E>& values,
                                                       block_painting rule = block_painting::core) {
  const xtensor_matrix<typename E::value_type> view(values, "paint");
  if (values.derived_cast().dimension() == 1) return paint(mask, table, view.matrix().col(0), rule);
  return paint(mask, table, view.matrix(), rule);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_PAINT_HPP
