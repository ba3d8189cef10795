#ifndef DNN2BRAIN_SEARCHLIGHT_GEOMETRY_HPP
#define DNN2BRAIN_SEARCHLIGHT_GEOMETRY_HPP

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>

namespace dnn2brain {

/// A voxel position (i, j, k) in a volume's grid. Coordinates are signed (offsets and positions
/// outside the grid are representable) and 32-bit, so that tables of centers stay compact; a
/// volume never exceeds 2^31 voxels (brain_mask checks it).
struct ijk {
  std::int32_t i = 0, j = 0, k = 0;
  friend bool operator==(const ijk&, const ijk&) = default;
};

/// The voxel grid of a volume: its shape and the 4×4 affine that maps voxel indices
/// (i, j, k, 1) to world coordinates in mm (NIfTI's sform, or its qform when the sform is unset).
/// Voxel (i, j, k) of a volume is its element (i, j, k) as nibabel reads it. The shape is
/// std::size_t, like the shapes of xtensor and io::read_nifti; counts and positions derived from
/// it are index_t.
struct volume_geometry {
  std::array<std::size_t, 3> shape{};
  Eigen::Matrix4d affine = Eigen::Matrix4d::Identity();

  [[nodiscard]] index_t voxel_count() const noexcept {
    return static_cast<index_t>(shape[0] * shape[1] * shape[2]);
  }

  /// Edge lengths of a voxel in mm: the lengths of the affine's first three columns (correct for
  /// rotated and sheared grids, where the diagonal alone is not).
  [[nodiscard]] std::array<double, 3> voxel_size() const {
    return {affine.col(0).head<3>().norm(), affine.col(1).head<3>().norm(),
            affine.col(2).head<3>().norm()};
  }

  /// World coordinates (mm) of a voxel.
  [[nodiscard]] Eigen::Vector3d world(const ijk& v) const {
    return affine.topLeftCorner<3, 3>() * Eigen::Vector3d(v.i, v.j, v.k) + affine.col(3).head<3>();
  }

  [[nodiscard]] bool contains(const ijk& v) const noexcept {
    return v.i >= 0 && v.j >= 0 && v.k >= 0 && std::size_t(v.i) < shape[0] &&
           std::size_t(v.j) < shape[1] && std::size_t(v.k) < shape[2];
  }

  /// Position of voxel (i, j, k) in C order (k fastest), the order of numpy's `volume[mask]`.
  [[nodiscard]] index_t linear(const ijk& v) const noexcept {
    return (index_t(v.i) * index_t(shape[1]) + index_t(v.j)) * index_t(shape[2]) + index_t(v.k);
  }

  /// Same shape and the same affine up to `tolerance` mm (headers store it in float32).
  [[nodiscard]] bool same_grid(const volume_geometry& other, double tolerance = 1e-4) const {
    return shape == other.shape && (affine - other.affine).cwiseAbs().maxCoeff() <= tolerance;
  }
};

/// A 3-D volume read as a mask: shape()[0..2] and v(i, j, k) convertible to bool, true (nonzero)
/// inside. xt::xtensor<bool, 3>, xt::xarray<std::uint8_t> and the volumes of io::read_nifti
/// qualify.
template <typename M>
concept volume_mask = requires(const M& m, std::size_t i) {
  { m.shape()[0] } -> std::convertible_to<std::size_t>;
  { m(i, i, i) } -> std::convertible_to<bool>;
};

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_GEOMETRY_HPP
