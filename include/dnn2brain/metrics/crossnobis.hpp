#ifndef DNN2BRAIN_METRICS_CROSSNOBIS_HPP
#define DNN2BRAIN_METRICS_CROSSNOBIS_HPP

#include <optional>

#include <Eigen/Core>

#include <dnn2brain/metrics/mahalanobis.hpp>

namespace dnn2brain::metric {

/// \brief Cross-validated Mahalanobis distance (crossnobis, Walther et al. 2016) between conditions
/// measured in R >= 2 independent runs.
///
/// d(i, j) = 1 / (R(R − 1)) · Σ_{r ≠ s} (u_ri − u_rj)ᵀ Λ (u_si − u_sj), with u_ri the pattern of
/// condition i in run r and Λ the noise precision (identity when none is given). Noise is
/// independent across runs, so the estimate is unbiased: its expectation is 0 when two conditions
/// do not differ, and it can be negative. This is the sum over features; rsatoolbox's
/// 'crossnobis' divides it by the number of features. Use with compute_crossnobis_rdm().
class crossnobis {
 public:
  static constexpr const char* name = "crossnobis";

  /// Identity noise precision: the cross-validated squared Euclidean distance.
  crossnobis() = default;

  /// \param precision the p × p noise precision Λ; see metric::mahalanobis for the checks.
  template <typename Derived>
  explicit crossnobis(const Eigen::MatrixBase<Derived>& precision)
      : m_noise(mahalanobis(precision)) {}

  /// The whitening transform, or nothing for the identity precision.
  [[nodiscard]] const std::optional<mahalanobis>& noise() const noexcept { return m_noise; }

 private:
  std::optional<mahalanobis> m_noise;
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_CROSSNOBIS_HPP
