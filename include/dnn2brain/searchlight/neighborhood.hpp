#ifndef DNN2BRAIN_SEARCHLIGHT_NEIGHBORHOOD_HPP
#define DNN2BRAIN_SEARCHLIGHT_NEIGHBORHOOD_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/searchlight/geometry.hpp>

namespace dnn2brain {

/// Neighborhood policies: which voxels form the searchlight around a center. Each is a small
/// struct passed by value to make_neighbor_table() or searchlight_range.
namespace neighborhood {

/// Whether a radius counts voxels or millimetres.
enum class unit { voxels, mm };

/// A ball: every voxel whose center lies within `radius` of the searchlight center. In voxels the
/// distance is Euclidean in index space; in mm it goes through the affine, so anisotropic and
/// oblique grids get true spheres. `inclusive` keeps distance <= radius (nilearn, brainiak, and
/// our default); false keeps distance < radius, as rsatoolbox does (radius 2: 33 vs 27 voxels).
struct sphere {
  double radius = 2.0;
  unit in = unit::voxels;
  bool inclusive = true;
};

/// An L1 ball (a diamond, or octahedron): every voxel whose offset (di, dj, dk) from the center
/// has |di| + |dj| + |dk| <= radius. In mm the offset goes through the affine first, the sum
/// being over the world axes' components. Radius 1: 7 voxels, 2: 25, 3: 63, (2r + 1)(2r² + 2r +
/// 3)/3 in general.
struct diamond {
  double radius = 2.0;
  unit in = unit::voxels;
};

/// A cube of edge 2·half_width + 1 voxels around the center (half_width 1: 27 voxels).
struct cube {
  int half_width = 1;
};

/// The `count` in-mask voxels nearest to the center (mm distance through the affine; ties broken
/// by a fixed offset order), so every searchlight has the same size wherever the mask allows.
/// Candidates are searched within twice the radius of a ball of `count` voxels; a center near a
/// thin part of the mask may get fewer.
struct nearest {
  int count = 33;
};

/// The blocks of Dwivedi et al. (2021), adapted from brainiak: on a grid of step `stride` from
/// voxel 0, a block of outer edge 2·radius + stride (truncated at the volume border) is a
/// searchlight when any mask voxel lies in its core, the block without `radius` voxels on each
/// side. radius 1, stride 2: 4×4×4 blocks every 2 voxels, listed x outer, then y, then z, the
/// paper's searchlight order. Members are the block's in-mask voxels.
struct paper_blocks {
  int radius = 1;
  int stride = 2;
};

}  // namespace neighborhood

namespace detail {

/// Voxel offsets of a voxel-centered neighborhood, nearest first (ties in i, j, k order), which
/// fixes the member order of every searchlight. For `nearest`, the candidate offsets.
struct offset_list {
  std::vector<ijk> offsets;
  index_t take = 0;  ///< nearest: members per center; 0: every in-mask offset
};

/// The norm a neighborhood measures its offsets with.
enum class offset_norm { l2, l1 };

[[nodiscard]] inline offset_list sorted_offsets(int reach, const Eigen::Matrix3d& metric_map,
                                                double limit, bool inclusive,
                                                offset_norm norm = offset_norm::l2) {
  struct candidate {
    double distance;
    ijk offset;
  };
  std::vector<candidate> kept;
  // Relative slack so that radii that land exactly on a lattice distance (2 = √4) are not lost to
  // rounding in the affine.
  const double bound = inclusive ? limit * (1.0 + 1e-9) : limit * (1.0 - 1e-9);
  for (int i = -reach; i <= reach; ++i)
    for (int j = -reach; j <= reach; ++j)
      for (int k = -reach; k <= reach; ++k) {
        const Eigen::Vector3d o = metric_map * Eigen::Vector3d(i, j, k);
        const double d = norm == offset_norm::l2 ? o.norm() : o.lpNorm<1>();
        if (inclusive ? d <= bound : d < bound) kept.push_back({d, {i, j, k}});
      }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const candidate& a, const candidate& b) { return a.distance < b.distance; });
  offset_list result;
  result.offsets.reserve(kept.size());
  for (const auto& c : kept) result.offsets.push_back(c.offset);
  return result;
}

/// The linear map whose norm is the neighborhood's distance: identity in voxels, the affine's
/// 3 × 3 part in mm.
[[nodiscard]] inline Eigen::Matrix3d distance_map(const volume_geometry& geometry,
                                                  neighborhood::unit in) {
  if (in == neighborhood::unit::voxels) return Eigen::Matrix3d::Identity();
  return geometry.affine.topLeftCorner<3, 3>();
}

/// Largest offset that can reach another voxel of the volume along any axis.
[[nodiscard]] inline int volume_reach(const volume_geometry& geometry) noexcept {
  const std::size_t extent = std::max({geometry.shape[0], geometry.shape[1], geometry.shape[2]});
  return static_cast<int>(std::min<std::size_t>(extent, std::size_t{1} << 16));
}

/// A bound on the index offset of any point within `limit` of the center: |o|∞ ≤ ‖M⁻¹‖₂·limit,
/// bounded in turn by the Frobenius norm of M⁻¹ (a few candidates too many is harmless), and by
/// the volume's extent. It holds for L1 balls too, since ‖x‖₂ ≤ ‖x‖₁.
[[nodiscard]] inline int reach_of(const Eigen::Matrix3d& map, double limit,
                                  const volume_geometry& geometry, const char* function) {
  if (!(std::abs(map.determinant()) > 0.0) || !map.allFinite())
    throw_invalid_argument(function,
                           "expected an invertible affine (voxel sizes > 0), got a singular one");
  const double reach = std::floor(limit * map.inverse().norm() * (1.0 + 1e-9));
  return static_cast<int>(std::min(reach, double(volume_reach(geometry))));
}

[[nodiscard]] inline offset_list offsets_of(const neighborhood::sphere& s,
                                            const volume_geometry& geometry) {
  if (!(s.radius >= 0.0) || !std::isfinite(s.radius))
    throw_invalid_argument("neighborhood::sphere",
                           concat("expected a finite radius >= 0, got ", s.radius));
  const Eigen::Matrix3d map = distance_map(geometry, s.in);
  return sorted_offsets(reach_of(map, s.radius, geometry, "neighborhood::sphere"), map, s.radius,
                        s.inclusive);
}

[[nodiscard]] inline offset_list offsets_of(const neighborhood::diamond& d,
                                            const volume_geometry& geometry) {
  if (!(d.radius >= 0.0) || !std::isfinite(d.radius))
    throw_invalid_argument("neighborhood::diamond",
                           concat("expected a finite radius >= 0, got ", d.radius));
  const Eigen::Matrix3d map = distance_map(geometry, d.in);
  return sorted_offsets(reach_of(map, d.radius, geometry, "neighborhood::diamond"), map, d.radius,
                        true, offset_norm::l1);
}

[[nodiscard]] inline offset_list offsets_of(const neighborhood::cube& c,
                                            const volume_geometry& geometry) {
  if (c.half_width < 0)
    throw_invalid_argument("neighborhood::cube",
                           concat("expected half_width >= 0, got ", c.half_width));
  // Chebyshev ball: the sort by Euclidean distance still puts the center first. Offsets beyond
  // the volume's extent can never hit a voxel.
  const int reach = std::min(c.half_width, volume_reach(geometry));
  offset_list result =
      sorted_offsets(reach, Eigen::Matrix3d::Identity(), std::sqrt(3.0) * reach, true);
  std::erase_if(result.offsets, [&](const ijk& o) {
    return std::max({std::abs(o.i), std::abs(o.j), std::abs(o.k)}) > reach;
  });
  return result;
}

[[nodiscard]] inline offset_list offsets_of(const neighborhood::nearest& n,
                                            const volume_geometry& geometry) {
  if (n.count < 1)
    throw_invalid_argument("neighborhood::nearest",
                           concat("expected a voxel count >= 1, got ", n.count));
  const Eigen::Matrix3d map = distance_map(geometry, neighborhood::unit::mm);
  // Radius of a ball holding `count` voxels of this volume, doubled for the mask's edges.
  const double voxel_volume = std::abs(map.determinant());
  const double radius =
      2.0 * std::cbrt(3.0 * n.count * voxel_volume / (4.0 * 3.14159265358979323846)) +
      map.colwise().norm().maxCoeff();
  offset_list result =
      sorted_offsets(reach_of(map, radius, geometry, "neighborhood::nearest"), map, radius, true);
  result.take = n.count;
  return result;
}

}  // namespace detail
}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_NEIGHBORHOOD_HPP
