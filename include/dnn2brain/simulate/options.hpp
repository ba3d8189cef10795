#ifndef DNN2BRAIN_SIMULATE_OPTIONS_HPP
#define DNN2BRAIN_SIMULATE_OPTIONS_HPP

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>

/// \brief The planted-truth synthetic dataset (DESIGN.md §6, reference/synthetic.md): 19
/// Taskonomy-named DNNs built from latent 2D / 3D / semantic factors, a brain-shaped volume whose
/// planted regions read out one DNN each, and 16 noisy subjects; everything in memory,
/// deterministic from one seed.
namespace dnn2brain::simulate {

/// What make_models(), make_layout() and make_dataset() build. The defaults are the recommended
/// dataset of synthetic.md §6 (28,248 in-mask voxels, 16 subjects, 50 stimuli).
struct options {
  /// Every random number derives from it (Philox streams, one per purpose and subject).
  std::uint64_t seed = 2021;
  /// Stimuli: 5 categories of stimuli / 5 consecutive stimuli (a multiple of 5, at least 10).
  index_t stimuli = 50;
  /// Voxel grid (i, j, k).
  std::array<std::size_t, 3> grid{40, 48, 40};
  /// Semi-axes (voxels) of the ellipsoidal brain mask around the grid centre.
  Eigen::Vector3d mask_semi_axes{18.0, 22.0, 17.0};
  /// Voxel edge (mm) of the affine, whose origin puts the grid centre at (0, 0, 0) mm.
  double voxel_mm = 3.0;
  /// Subjects, each with its own read-out weights and noise.
  index_t subjects = 16;
  /// Standard deviation of the voxel noise (before smoothing).
  double noise = 1.5;
  /// Multiplies the planted signal; 0 is the global null.
  double signal = 1.0;
  /// Scales the planted regions' semi-axes (not their centres).
  double region_scale = 1.0;
  /// Gaussian smoothing sigma in voxels, applied to every stimulus volume; 0 = none.
  double smoothing = 0.8;
  /// Units per DNN layer.
  index_t units = 512;
  /// Latent factors per group (2D, 3D, semantic).
  index_t factors = 24;
};

namespace detail {

/// Throws invalid_argument, naming `function`, for options no dataset can be built from.
inline void validate(const options& o, const char* function) {
  using dnn2brain::detail::concat;
  using dnn2brain::detail::throw_invalid_argument;
  if (o.stimuli < 10 || o.stimuli % 5 != 0)
    throw_invalid_argument(
        function,
        concat("expected options.stimuli a multiple of 5 and at least 10, got ", o.stimuli));
  if (o.subjects < 1)
    throw_invalid_argument(function, concat("expected options.subjects >= 1, got ", o.subjects));
  if (o.units < 1)
    throw_invalid_argument(function, concat("expected options.units >= 1, got ", o.units));
  if (o.factors < 1)
    throw_invalid_argument(function, concat("expected options.factors >= 1, got ", o.factors));
  const auto check = [&](double value, const char* name, bool zero_allowed) {
    if (!std::isfinite(value) || value < 0.0 || (!zero_allowed && value == 0.0))
      throw_invalid_argument(
          function, concat("expected options.", name,
                           zero_allowed ? " finite and >= 0" : " finite and > 0", ", got ", value));
  };
  check(o.voxel_mm, "voxel_mm", false);
  check(o.noise, "noise", true);
  check(o.signal, "signal", true);
  check(o.region_scale, "region_scale", false);
  check(o.smoothing, "smoothing", true);
  if (o.smoothing > 100.0)
    throw_invalid_argument(function,
                           concat("expected options.smoothing <= 100 voxels, got ", o.smoothing));
  for (int a = 0; a < 3; ++a) {
    check(o.mask_semi_axes[a], "mask_semi_axes", false);
    // The ellipsoid must fit: centre ± semi-axis inside [0, n - 1].
    const double n = static_cast<double>(o.grid[std::size_t(a)]);
    if (!(2.0 * o.mask_semi_axes[a] <= n - 1.0))
      throw_invalid_argument(
          function,
          concat("expected a grid large enough for the mask (grid[", a, "] >= 2 * mask_semi_axes[",
                 a, "] + 1 = ", 2.0 * o.mask_semi_axes[a] + 1.0, "), got grid[", a, "] = ", n));
  }
  const double voxels = static_cast<double>(o.grid[0]) * static_cast<double>(o.grid[1]) *
                        static_cast<double>(o.grid[2]);
  if (voxels >= static_cast<double>(std::numeric_limits<std::int32_t>::max()))
    throw_invalid_argument(function, concat("expected a grid of fewer than 2^31 voxels, got ",
                                            o.grid[0], " x ", o.grid[1], " x ", o.grid[2]));
}

}  // namespace detail
}  // namespace dnn2brain::simulate

#endif  // DNN2BRAIN_SIMULATE_OPTIONS_HPP
