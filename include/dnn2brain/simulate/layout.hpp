#ifndef DNN2BRAIN_SIMULATE_LAYOUT_HPP
#define DNN2BRAIN_SIMULATE_LAYOUT_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/searchlight/brain_mask.hpp>
#include <dnn2brain/searchlight/geometry.hpp>
#include <dnn2brain/simulate/detail/xtensor_compat.hpp>
#include <dnn2brain/simulate/models.hpp>
#include <dnn2brain/simulate/options.hpp>

namespace dnn2brain::simulate {

/// A region of the synthetic brain (synthetic.md §1, table): one or two (bilateral) ellipsoids
/// sharing semi-axes. A planted region's voxels (normalised radius d ≤ 1) read out its DNN with
/// amplitude a = exp(−d²/(2 · 0.7²)); its ROI is the voxels with d ≤ 0.75. The control region
/// plants nothing and its ROI is its whole ellipsoid.
struct region {
  std::string name;
  /// The planted DNN, "" for the control region.
  std::string planted;
  /// λ: the block4 layer's share of the planted signal's variance (encoder_output has 1 − λ).
  double block4_share = 0.0;
  /// Centres (voxel coordinates of the options' grid).
  std::vector<Eigen::Vector3d> centres;
  /// Semi-axes in voxels.
  Eigen::Vector3d semi_axes = Eigen::Vector3d::Zero();
  /// The ROI: voxels with normalised radius at most this.
  double roi_radius = 0.75;
};

namespace detail {

inline constexpr std::array<std::size_t, 3> default_grid{40, 48, 40};
inline constexpr std::array<double, 3> default_mask_semi_axes{18.0, 22.0, 17.0};
inline constexpr double amplitude_width = 0.7;
/// Centres farther than this (voxels) from every planted voxel are the noise zone: the r = 2
/// searchlight plus the smoothing's reach.
inline constexpr double noise_margin = 4.0;

}  // namespace detail

/// The regions of options `o`, mapped to its grid: synthetic.md's table is defined on the
/// 40 × 48 × 40 grid with mask semi-axes (18, 22, 17); centres keep their position relative to
/// the mask (offset from the grid centre scaled by the ratio of the mask semi-axes), semi-axes
/// scale by the same ratio and by options.region_scale. Order: EVC, V3AB, IPS, VO, PHC, control.
[[nodiscard]] inline std::vector<region> regions(const options& o = {}) {
  using v3 = Eigen::Vector3d;
  std::vector<region> table = {
      {"EVC", "edge2d", 0.7, {v3(19.5, 6, 17)}, v3(9, 5, 6), 0.75},
      {"V3AB", "keypoint3d", 0.5, {v3(11, 10, 27), v3(28, 10, 27)}, v3(4, 4.5, 4), 0.75},
      {"IPS", "segment25d", 0.4, {v3(10.5, 17, 31), v3(28.5, 17, 31)}, v3(4, 5, 4), 0.75},
      {"VO", "segmentsemantic", 0.5, {v3(12, 12, 9), v3(27, 12, 9)}, v3(4, 4.5, 3.5), 0.75},
      {"PHC", "class_places", 0.3, {v3(13, 20, 8.5), v3(26, 20, 8.5)}, v3(4, 5, 3.5), 0.75},
      {"control", "", 0.0, {v3(19.5, 40, 22)}, v3(6, 4, 5), 1.0}};
  v3 ratio, default_centre, centre;
  for (int a = 0; a < 3; ++a) {
    ratio[a] = o.mask_semi_axes[a] / detail::default_mask_semi_axes[std::size_t(a)];
    default_centre[a] = (static_cast<double>(detail::default_grid[std::size_t(a)]) - 1.0) / 2.0;
    centre[a] = (static_cast<double>(o.grid[std::size_t(a)]) - 1.0) / 2.0;
  }
  for (auto& r : table) {
    for (auto& c : r.centres) c = centre + (c - default_centre).cwiseProduct(ratio);
    r.semi_axes = r.semi_axes.cwiseProduct(ratio) * o.region_scale;
  }
  return table;
}

/// The planted truth of each in-mask voxel (= searchlight centre), in brain_mask column order.
struct truth {
  /// Zone of a centre for the recovery metrics (synthetic.md §2 "Truth labels"): `inside` its
  /// voxel is planted; `noise` it lies more than 4 voxels from every planted voxel; `border`
  /// the rest, excluded from both. Core centres are inside with a ≥ 0.7, rim centres inside with
  /// a < 0.5.
  enum class zone : std::int8_t { inside, border, noise };

  /// Index into models::names (paper::tasks order) of the planted DNN, −1 for none.
  Eigen::VectorXi model;
  /// Planted amplitude a in [0, 1], 0 outside the planted regions.
  Eigen::VectorXd amplitude;
  /// Index into layout::roi_names of the planted region, −1 for none.
  Eigen::VectorXi region;
  std::vector<zone> zones;

  /// Number of centres in zone z.
  [[nodiscard]] index_t count(zone z) const noexcept {
    return index_t(std::count(zones.begin(), zones.end(), z));
  }
};

/// Everything about the synthetic brain that needs no subject data: grid, mask, ROIs and the
/// planted truth. make_layout() builds it in milliseconds; dataset extends it with the DNNs and
/// the subjects.
struct layout {
  options settings;
  /// The grid: options.grid, affine diag(voxel_mm) with the grid centre at (0, 0, 0) mm.
  volume_geometry geometry;
  /// The ellipsoidal brain mask (28,248 voxels at the defaults).
  brain_mask mask;
  /// The regions, mapped to the grid (see regions()).
  std::vector<simulate::region> regions;
  /// ROI label per grid voxel: 0 outside every ROI, r + 1 for roi_names[r].
  xt::xtensor<std::int16_t, 3> roi_labels;
  /// EVC, V3AB, IPS, VO, PHC, control.
  std::vector<std::string> roi_names;
  /// Per ROI the planted DNN's name, "" for control.
  std::vector<std::string> region_planted;
  simulate::truth truth;

  /// Position of an ROI in roi_names. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t roi_index(std::string_view name) const {
    const auto it = std::find(roi_names.begin(), roi_names.end(), name);
    if (it == roi_names.end())
      dnn2brain::detail::throw_invalid_argument(
          "simulate::layout::roi_index",
          dnn2brain::detail::concat(
              "expected an ROI name (EVC, V3AB, IPS, VO, PHC, control), got '", name, "'"));
    return index_t(it - roi_names.begin());
  }

  /// Mask columns of ROI r's voxels, ascending. \throws invalid_argument if r is out of range.
  [[nodiscard]] std::vector<index_t> roi_columns(index_t r) const {
    if (r < 0 || r >= index_t(roi_names.size()))
      dnn2brain::detail::throw_invalid_argument(
          "simulate::layout::roi_columns",
          dnn2brain::detail::concat("expected an ROI index in [0, ", roi_names.size(), "), got ",
                                    r));
    std::vector<index_t> columns;
    const auto& voxels = mask.voxels();
    for (std::size_t c = 0; c < voxels.size(); ++c) {
      const ijk& v = voxels[c];
      if (roi_labels(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k)) == r + 1)
        columns.push_back(index_t(c));
    }
    return columns;
  }
};

namespace detail {

inline layout build_layout(const options& o, const char* function) {
  detail::validate(o, function);
  layout out;
  out.settings = o;
  out.geometry.shape = o.grid;
  Eigen::Vector3d centre;
  for (int a = 0; a < 3; ++a) {
    centre[a] = (static_cast<double>(o.grid[std::size_t(a)]) - 1.0) / 2.0;
    out.geometry.affine(a, a) = o.voxel_mm;
    out.geometry.affine(a, 3) = -o.voxel_mm * centre[a];
  }
  xt::xtensor<bool, 3> inside = xt::zeros<bool>({o.grid[0], o.grid[1], o.grid[2]});
  for (std::size_t i = 0; i < o.grid[0]; ++i)
    for (std::size_t j = 0; j < o.grid[1]; ++j)
      for (std::size_t k = 0; k < o.grid[2]; ++k) {
        const Eigen::Vector3d p{double(i), double(j), double(k)};
        inside(i, j, k) = (p - centre).cwiseQuotient(o.mask_semi_axes).squaredNorm() <= 1.0;
      }
  out.mask = brain_mask(inside, out.geometry);
  out.regions = regions(o);
  for (const auto& r : out.regions) {
    out.roi_names.push_back(r.name);
    out.region_planted.push_back(r.planted);
  }
  const std::vector<std::string> names(paper::tasks.begin(), paper::tasks.end());
  std::vector<int> planted_model;
  for (const auto& r : out.regions)
    planted_model.push_back(
        r.planted.empty() ? -1
                          : int(std::find(names.begin(), names.end(), r.planted) - names.begin()));

  const index_t voxels = out.mask.size();
  truth& t = out.truth;
  t.model = Eigen::VectorXi::Constant(voxels, -1);
  t.region = Eigen::VectorXi::Constant(voxels, -1);
  t.amplitude = Eigen::VectorXd::Zero(voxels);
  out.roi_labels = xt::zeros<std::int16_t>({o.grid[0], o.grid[1], o.grid[2]});
  std::vector<index_t> planted_count(out.regions.size(), 0), roi_count(out.regions.size(), 0);
  for (index_t c = 0; c < voxels; ++c) {
    const ijk& v = out.mask.voxels()[std::size_t(c)];
    const Eigen::Vector3d p(v.i, v.j, v.k);
    double best_roi = std::numeric_limits<double>::infinity();
    int roi = -1;
    for (std::size_t r = 0; r < out.regions.size(); ++r) {
      const region& reg = out.regions[r];
      double d2 = std::numeric_limits<double>::infinity();
      for (const auto& rc : reg.centres)
        d2 = std::min(d2, (p - rc).cwiseQuotient(reg.semi_axes).squaredNorm());
      if (d2 <= reg.roi_radius * reg.roi_radius && d2 < best_roi) {
        best_roi = d2;
        roi = int(r);
      }
      if (planted_model[r] >= 0 && d2 <= 1.0) {
        const double a = std::exp(-d2 / (2.0 * detail::amplitude_width * detail::amplitude_width));
        if (a > t.amplitude(c)) {
          t.amplitude(c) = a;
          t.model(c) = planted_model[r];
          t.region(c) = int(r);
        }
      }
    }
    if (roi >= 0) {
      out.roi_labels(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k)) =
          static_cast<std::int16_t>(roi + 1);
      ++roi_count[std::size_t(roi)];
    }
    if (t.region(c) >= 0) ++planted_count[std::size_t(t.region(c))];
  }
  for (std::size_t r = 0; r < out.regions.size(); ++r)
    if (roi_count[r] == 0 || (planted_model[r] >= 0 && planted_count[r] == 0))
      dnn2brain::detail::throw_invalid_argument(
          function,
          dnn2brain::detail::concat("expected options whose regions each hold mask voxels, got ",
                                    planted_count[r], " planted and ", roi_count[r],
                                    " ROI voxels in ", out.regions[r].name));

  // Zones: dilate the planted voxels by a ball of radius noise_margin.
  const auto reach = static_cast<std::int32_t>(detail::noise_margin);
  std::vector<ijk> ball;
  for (std::int32_t a = -reach; a <= reach; ++a)
    for (std::int32_t b = -reach; b <= reach; ++b)
      for (std::int32_t d = -reach; d <= reach; ++d)
        if (double(a * a + b * b + d * d) <= detail::noise_margin * detail::noise_margin)
          ball.push_back({a, b, d});
  std::vector<bool> near(std::size_t(voxels), false);
  for (index_t c = 0; c < voxels; ++c) {
    if (t.model(c) < 0) continue;
    const ijk& v = out.mask.voxels()[std::size_t(c)];
    for (const ijk& o2 : ball) {
      const index_t column = out.mask.column({v.i + o2.i, v.j + o2.j, v.k + o2.k});
      if (column >= 0) near[std::size_t(column)] = true;
    }
  }
  t.zones.resize(std::size_t(voxels));
  for (index_t c = 0; c < voxels; ++c)
    t.zones[std::size_t(c)] = t.model(c) >= 0        ? truth::zone::inside
                              : near[std::size_t(c)] ? truth::zone::border
                                                     : truth::zone::noise;
  return out;
}

}  // namespace detail

/// \brief The synthetic brain's grid, mask, ROIs and planted truth (no DNNs, no subjects).
///
/// Mask: the voxels with Σ ((x − centre) / semi-axis)² ≤ 1 (28,248 at the defaults). Each mask
/// voxel within a planted region (d ≤ 1) gets that region's DNN and amplitude
/// a = exp(−d²/(2 · 0.7²)); where regions overlap the larger amplitude wins. ROI voxels are those
/// with d ≤ roi_radius; where ROIs overlap the smaller d wins.
/// \throws invalid_argument for invalid options, or options that leave a region or an ROI
///         without mask voxels.
/// \par Complexity
///   O(grid voxels · regions); a few milliseconds at the defaults.
[[nodiscard]] inline layout make_layout(const options& o = {}) {
  return detail::build_layout(o, "simulate::make_layout");
}

}  // namespace dnn2brain::simulate

#endif  // DNN2BRAIN_SIMULATE_LAYOUT_HPP
