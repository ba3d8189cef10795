#ifndef DNN2BRAIN_SEARCHLIGHT_BRAIN_MASK_HPP
#define DNN2BRAIN_SEARCHLIGHT_BRAIN_MASK_HPP

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/searchlight/geometry.hpp>

namespace dnn2brain {

/// \brief The in-mask voxels of a volume, numbered in C order of (i, j, k): voxel ↔ column of a
/// conditions × voxels data matrix, the order of numpy's `volume[mask]`.
///
/// It is what every searchlight shares: built once per mask, it maps neighborhood voxels to data
/// columns, extracts the data matrix from a 4-D series (apply) and puts per-voxel values back into
/// a volume (unmask).
class brain_mask {
 public:
  brain_mask() = default;

  /// Largest difference (mm, per affine entry) between the mask's affine and a series' for
  /// apply to take them as the same space. nilearn's apply_mask uses np.allclose (1e-5 relative);
  /// 1e-3 mm absolute is as strict for translations of ~100 mm and tolerates float32 rounding.
  static constexpr double affine_tolerance = 1e-3;

  /// \param mask     any 3-D volume with shape() and (i, j, k), nonzero inside. A floating-point
  ///                 mask's NaN and ±Inf count as outside, as in nilearn (load_mask_img replaces
  ///                 non-finite values by 0): resampled masks carry NaN outside the field of view.
  /// \param geometry its grid; the shapes must agree. Its affine is the mask's space, which
  ///                 apply(series, geometry) compares.
  /// \throws invalid_argument if the shapes differ or the mask holds no voxel.
  template <volume_mask Mask>
  brain_mask(const Mask& mask, const volume_geometry& geometry)
      : brain_mask(mask, geometry, true) {}

  /// A mask without a known space: the grid is the mask's shape with 1-mm voxels (identity
  /// affine), and apply(series, geometry) compares shapes only.
  template <volume_mask Mask>
  explicit brain_mask(const Mask& mask) : brain_mask(mask, geometry_of(mask), false) {}

  /// A mask image with its geometry, such as io::read_nifti_volume<std::uint8_t>(path).
  template <typename Image>
  requires requires(const Image& image) {
    requires volume_mask<std::decay_t<decltype(image.data)>>;
    { image.geometry } -> std::convertible_to<const volume_geometry&>;
  }
  explicit brain_mask(const Image& image) : brain_mask(image.data, image.geometry, true) {}

  [[nodiscard]] const volume_geometry& geometry() const noexcept { return m_geometry; }
  /// Whether geometry().affine is the mask's known space (false for brain_mask(mask)).
  [[nodiscard]] bool has_affine() const noexcept { return m_has_affine; }
  /// Number of in-mask voxels: the data matrix's column count.
  [[nodiscard]] index_t size() const noexcept { return index_t(m_voxels.size()); }
  /// In-mask voxels in column order.
  [[nodiscard]] const std::vector<ijk>& voxels() const noexcept { return m_voxels; }

  /// Data column of voxel v, or −1 when v lies outside the mask or the volume.
  [[nodiscard]] index_t column(const ijk& v) const noexcept {
    return m_geometry.contains(v) ? m_column_of[std::size_t(m_geometry.linear(v))] : -1;
  }

  /// \brief The conditions × voxels matrix of a 4-D series (nx, ny, nz, conditions): row c holds
  /// volume c at the in-mask voxels (nilearn's apply_mask), column-major so that each voxel's
  /// conditions are contiguous, the layout searchlight_rdms reads. The series has no affine
  /// here, so only its shape is checked; pass its geometry (or the image) to check its space.
  /// \throws invalid_argument if the series' grid differs from the mask's or holds NaN/Inf at a
  /// mask voxel.
  template <typename Scalar = float, typename E>
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> apply(
      const xt::xexpression<E>& series) const {
    return extract<Scalar>(series.derived_cast());
  }

  /// \brief apply(series) for a series in a known space: when the mask has an affine too, the
  /// two must agree within affine_tolerance mm per entry (same shape, different affine is a
  /// mask from another space, e.g. MNI vs native).
  /// \throws invalid_argument as apply(series), and if the affines differ (naming both).
  template <typename Scalar = float, typename E>
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> apply(
      const xt::xexpression<E>& series, const volume_geometry& series_geometry) const {
    check_space(series_geometry);
    return extract<Scalar>(series.derived_cast());
  }

  /// apply(image.data, image.geometry), e.g. for io::read_nifti_series<float>(path).
  template <typename Scalar = float, typename Image>
  requires requires(const Image& image) {
    image.data.dimension();
    { image.geometry } -> std::convertible_to<const volume_geometry&>;
  }
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> apply(
      const Image& image) const {
    return apply<Scalar>(image.data, image.geometry);
  }

 private:
  template <volume_mask Mask>
  brain_mask(const Mask& mask, const volume_geometry& geometry, bool has_affine)
      : m_geometry(geometry), m_has_affine(has_affine) {
    if constexpr (requires { mask.shape().size(); }) {
      if (mask.shape().size() != 3)
        detail::throw_invalid_argument(
            "brain_mask",
            detail::concat("expected a 3-D mask, got ", mask.shape().size(), " dimensions"));
    }
    for (std::size_t d = 0; d < 3; ++d)
      if (static_cast<std::size_t>(mask.shape()[d]) != geometry.shape[d])
        detail::throw_invalid_argument(
            "brain_mask",
            detail::concat("expected a mask of the geometry's shape ", shape_text(geometry),
                           ", got axis ", d, " of length ", mask.shape()[d]));
    // Columns are stored in 32 bits (here and in neighbor tables).
    if (geometry.voxel_count() >= index_t(std::numeric_limits<std::int32_t>::max()))
      detail::throw_invalid_argument(
          "brain_mask",
          detail::concat("expected fewer than 2^31 voxels, got ", geometry.voxel_count()));
    m_column_of.assign(std::size_t(geometry.voxel_count()), -1);
    for (std::size_t i = 0; i < geometry.shape[0]; ++i)
      for (std::size_t j = 0; j < geometry.shape[1]; ++j)
        for (std::size_t k = 0; k < geometry.shape[2]; ++k)
          if (inside(mask(i, j, k))) {
            const ijk v{std::int32_t(i), std::int32_t(j), std::int32_t(k)};
            m_column_of[std::size_t(geometry.linear(v))] =
                static_cast<std::int32_t>(m_voxels.size());
            m_voxels.push_back(v);
          }
    if (m_voxels.empty())
      detail::throw_invalid_argument("brain_mask",
                                     "expected a mask with at least one voxel, got none");
  }

  // Nonzero is inside; for floating-point masks NaN and ±Inf are outside (nilearn).
  template <typename V>
  [[nodiscard]] static bool inside(const V& value) {
    using value_type = std::decay_t<V>;
    if constexpr (std::is_floating_point_v<value_type>)
      return std::isfinite(value) && value != value_type(0);
    else
      return static_cast<bool>(value);
  }

  template <volume_mask Mask>
  [[nodiscard]] static volume_geometry geometry_of(const Mask& mask) {
    volume_geometry g;
    for (std::size_t d = 0; d < 3; ++d) g.shape[d] = static_cast<std::size_t>(mask.shape()[d]);
    return g;
  }

  void check_space(const volume_geometry& series_geometry) const {
    if (series_geometry.shape != m_geometry.shape)
      detail::throw_invalid_argument(
          "brain_mask::apply",
          detail::concat("expected a series geometry of the mask's shape ", shape_text(m_geometry),
                         ", got ", shape_text(series_geometry)));
    if (!m_has_affine) return;
    const double difference = (m_geometry.affine - series_geometry.affine).cwiseAbs().maxCoeff();
    if (!(difference <= affine_tolerance))
      detail::throw_invalid_argument(
          "brain_mask::apply",
          detail::concat("expected a series in the mask's space (affines equal within ",
                         affine_tolerance, " mm), got affines that differ by ", difference,
                         " mm: mask affine ", affine_text(m_geometry.affine), ", series affine ",
                         affine_text(series_geometry.affine)));
  }

  template <typename Scalar, typename S>
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> extract(const S& s) const {
    if (s.dimension() != 4 || std::size_t(s.shape()[0]) != m_geometry.shape[0] ||
        std::size_t(s.shape()[1]) != m_geometry.shape[1] ||
        std::size_t(s.shape()[2]) != m_geometry.shape[2]) {
      std::string got;
      for (std::size_t d = 0; d < s.dimension(); ++d)
        got += (d == 0 ? "" : " x ") + std::to_string(s.shape()[d]);
      detail::throw_invalid_argument(
          "brain_mask::apply",
          detail::concat("expected a 4-D series of shape ", shape_text(m_geometry),
                         " x conditions, got shape ", got));
    }
    const auto conditions = static_cast<Eigen::Index>(s.shape()[3]);
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> out(conditions, size());
    for (std::size_t c = 0; c < m_voxels.size(); ++c) {
      const ijk& v = m_voxels[c];
      for (Eigen::Index t = 0; t < conditions; ++t) {
        const auto value = static_cast<Scalar>(
            s(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k), std::size_t(t)));
        if (!std::isfinite(value))
          detail::throw_invalid_argument(
              "brain_mask::apply",
              detail::concat("expected finite values inside the mask, got ", value, " at voxel (",
                             v.i, ", ", v.j, ", ", v.k, "), volume ", t));
        out(t, Eigen::Index(c)) = value;
      }
    }
    return out;
  }

  [[nodiscard]] static std::string affine_text(const Eigen::Matrix4d& a) {
    std::string out = "[";
    for (int r = 0; r < 4; ++r) {
      out += r == 0 ? "[" : ", [";
      for (int c = 0; c < 4; ++c) out += detail::concat(c == 0 ? "" : ", ", a(r, c));
      out += "]";
    }
    return out + "]";
  }

  [[nodiscard]] static std::string shape_text(const volume_geometry& g) {
    return detail::concat(g.shape[0], " x ", g.shape[1], " x ", g.shape[2]);
  }

  volume_geometry m_geometry;
  bool m_has_affine = false;
  std::vector<std::int32_t> m_column_of;  // C-order voxel → column, −1 outside the mask
  std::vector<ijk> m_voxels;
};

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_BRAIN_MASK_HPP
