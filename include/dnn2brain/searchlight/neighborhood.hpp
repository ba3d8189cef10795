#ifndef DNN2BRAIN_SEARCHLIGHT_NEIGHBORHOOD_HPP
#define DNN2BRAIN_SEARCHLIGHT_NEIGHBORHOOD_HPP

#include <algorithm>
#include <array>
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

/// One candidate while offsets are enumerated.
struct offset_candidate {
  double distance;
  ijk offset;
};

/// Bytes one candidate offset takes while the offsets are enumerated and sorted: the candidate,
/// stable_sort's buffer and the kept offset.
inline constexpr std::size_t bytes_per_offset = 2 * sizeof(offset_candidate) + sizeof(ijk);

/// A voxel-centered neighborhood as what offsets_of() enumerates: the offsets o within the box
/// |o_d| <= reach[d] whose distance ‖map · o‖ (l2 or l1) is within `limit`.
struct offset_ball {
  const char* name = "";  ///< the policy, "neighborhood::sphere", for messages
  Eigen::Matrix3d map = Eigen::Matrix3d::Identity();
  double limit = 0.0;
  bool inclusive = true;
  offset_norm norm = offset_norm::l2;
  std::array<int, 3> reach{};
  index_t take = 0;  ///< nearest: members per center

  /// Whether offset o is within the limit. The relative slack keeps radii that land exactly on a
  /// lattice distance (2 = √4) from being lost to rounding in the affine.
  [[nodiscard]] bool holds(const Eigen::Vector3d& o, double* distance = nullptr) const {
    const Eigen::Vector3d w = map * o;
    const double d = norm == offset_norm::l2 ? w.norm() : w.lpNorm<1>();
    if (distance != nullptr) *distance = d;
    const double bound = inclusive ? limit * (1.0 + 1e-9) : limit * (1.0 - 1e-9);
    return inclusive ? d <= bound : d < bound;
  }

  /// Offsets in the box: an upper bound on the neighborhood's offset count.
  [[nodiscard]] std::uint64_t box_count() const noexcept {
    std::uint64_t count = 1;
    for (const int r : reach) count *= std::uint64_t(2 * std::int64_t(r) + 1);
    return count;
  }

  /// Whether every offset of the box lies in the neighborhood (box_count() is then exact): the
  /// norm is convex, so checking the box's corners suffices.
  [[nodiscard]] bool fills_box() const {
    for (int corner = 0; corner < 8; ++corner) {
      const Eigen::Vector3d o((corner & 1) ? reach[0] : -reach[0],
                              (corner & 2) ? reach[1] : -reach[1],
                              (corner & 4) ? reach[2] : -reach[2]);
      if (!holds(o)) return false;
    }
    return true;
  }
};

/// The linear map whose norm is the neighborhood's distance: identity in voxels, the affine's
/// 3 × 3 part in mm.
[[nodiscard]] inline Eigen::Matrix3d distance_map(const volume_geometry& geometry,
                                                  neighborhood::unit in) {
  if (in == neighborhood::unit::voxels) return Eigen::Matrix3d::Identity();
  return geometry.affine.topLeftCorner<3, 3>();
}

/// Largest offset along axis d that can join two voxels of the volume (extent − 1), capped so
/// that offsets stay far from integer overflow.
[[nodiscard]] inline int axis_reach(const volume_geometry& geometry, std::size_t d) noexcept {
  const std::size_t extent = geometry.shape[d];
  return extent == 0 ? 0
                     : static_cast<int>(std::min<std::size_t>(extent - 1, std::size_t{1} << 16));
}

/// A bound on the index offsets of the points within `limit` of the center, axis by axis:
/// o = M⁻¹x gives |o_d| <= ‖row d of M⁻¹‖₂ · ‖x‖₂ <= ‖row d of M⁻¹‖₂ · limit. It holds for L1
/// balls too, since ‖x‖₂ <= ‖x‖₁. Each is cut to the volume's extent along its axis: a larger
/// offset never reaches another voxel, so an absurd radius enumerates no more than about 8 times
/// the volume's voxel count.
[[nodiscard]] inline std::array<int, 3> reach_of(const Eigen::Matrix3d& map, double limit,
                                                 const volume_geometry& geometry,
                                                 const char* function) {
  if (!(std::abs(map.determinant()) > 0.0) || !map.allFinite())
    throw_invalid_argument(function,
                           "expected an invertible affine (voxel sizes > 0), got a singular one");
  const Eigen::Matrix3d inverse = map.inverse();
  std::array<int, 3> reach{};
  for (std::size_t d = 0; d < 3; ++d) {
    const double r = std::floor(limit * inverse.row(Eigen::Index(d)).norm() * (1.0 + 1e-9));
    reach[d] = static_cast<int>(std::min(r, double(axis_reach(geometry, d))));
  }
  return reach;
}

[[nodiscard]] inline offset_ball ball_of(const neighborhood::sphere& s,
                                         const volume_geometry& geometry) {
  constexpr const char* name = "neighborhood::sphere";
  if (!(s.radius >= 0.0) || !std::isfinite(s.radius))
    throw_invalid_argument(name, concat("expected a finite radius >= 0, got ", s.radius));
  offset_ball ball;
  ball.name = name;
  ball.map = distance_map(geometry, s.in);
  ball.limit = s.radius;
  ball.inclusive = s.inclusive;
  ball.reach = reach_of(ball.map, s.radius, geometry, name);
  return ball;
}

[[nodiscard]] inline offset_ball ball_of(const neighborhood::diamond& d,
                                         const volume_geometry& geometry) {
  constexpr const char* name = "neighborhood::diamond";
  if (!(d.radius >= 0.0) || !std::isfinite(d.radius))
    throw_invalid_argument(name, concat("expected a finite radius >= 0, got ", d.radius));
  offset_ball ball;
  ball.name = name;
  ball.map = distance_map(geometry, d.in);
  ball.limit = d.radius;
  ball.norm = offset_norm::l1;
  ball.reach = reach_of(ball.map, d.radius, geometry, name);
  return ball;
}

[[nodiscard]] inline offset_ball ball_of(const neighborhood::cube& c,
                                         const volume_geometry& geometry) {
  constexpr const char* name = "neighborhood::cube";
  if (c.half_width < 0)
    throw_invalid_argument(name, concat("expected half_width >= 0, got ", c.half_width));
  // The whole box, sorted by Euclidean distance (the center first): a ball through its corners.
  // Offsets beyond the volume's extent can never hit a voxel.
  offset_ball ball;
  ball.name = name;
  for (std::size_t d = 0; d < 3; ++d)
    ball.reach[d] = std::min(c.half_width, axis_reach(geometry, d));
  ball.limit = Eigen::Vector3d(ball.reach[0], ball.reach[1], ball.reach[2]).norm();
  return ball;
}

[[nodiscard]] inline offset_ball ball_of(const neighborhood::nearest& n,
                                         const volume_geometry& geometry) {
  constexpr const char* name = "neighborhood::nearest";
  if (n.count < 1)
    throw_invalid_argument(name, concat("expected a voxel count >= 1, got ", n.count));
  offset_ball ball;
  ball.name = name;
  ball.map = distance_map(geometry, neighborhood::unit::mm);
  // Radius of a ball holding `count` voxels of this volume, doubled for the mask's edges.
  const double voxel_volume = std::abs(ball.map.determinant());
  ball.limit = 2.0 * std::cbrt(3.0 * n.count * voxel_volume / (4.0 * 3.14159265358979323846)) +
               ball.map.colwise().norm().maxCoeff();
  ball.reach = reach_of(ball.map, ball.limit, geometry, name);
  ball.take = n.count;
  return ball;
}

/// The offsets of a ball, nearest first (ties in i, j, k order).
/// \throws invalid_argument if enumerating the box would take more than `memory_budget` bytes.
[[nodiscard]] inline offset_list sorted_offsets(const offset_ball& ball,
                                                std::size_t memory_budget) {
  const std::uint64_t box = ball.box_count();
  if (box > memory_budget / bytes_per_offset)
    throw_invalid_argument(
        ball.name,
        concat("expected candidate offsets within the memory budget of ", memory_budget,
               " bytes (neighborhood_options::memory_budget), got a box of ", 2 * ball.reach[0] + 1,
               " x ", 2 * ball.reach[1] + 1, " x ", 2 * ball.reach[2] + 1, " offsets to sort (",
               box * bytes_per_offset, " bytes)"));
  std::vector<offset_candidate> kept;
  for (int i = -ball.reach[0]; i <= ball.reach[0]; ++i)
    for (int j = -ball.reach[1]; j <= ball.reach[1]; ++j)
      for (int k = -ball.reach[2]; k <= ball.reach[2]; ++k) {
        double d = 0.0;
        if (ball.holds(Eigen::Vector3d(i, j, k), &d)) kept.push_back({d, {i, j, k}});
      }
  std::stable_sort(
      kept.begin(), kept.end(),
      [](const offset_candidate& a, const offset_candidate& b) { return a.distance < b.distance; });
  offset_list result;
  result.offsets.reserve(kept.size());
  for (const auto& c : kept) result.offsets.push_back(c.offset);
  result.take = ball.take;
  return result;
}

/// Voxel offsets of a neighborhood policy (see offset_list).
template <typename Neighborhood>
[[nodiscard]] offset_list offsets_of(const Neighborhood& shape, const volume_geometry& geometry,
                                     std::size_t memory_budget = static_cast<std::size_t>(-1)) {
  return sorted_offsets(ball_of(shape, geometry), memory_budget);
}

}  // namespace detail
}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_NEIGHBORHOOD_HPP
