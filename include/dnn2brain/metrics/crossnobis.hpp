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
/// do not differ, and it can be negative. This is the sum over features; per_feature = true
/// divides it by the number of features p, which gives rsatoolbox's 'crossnobis' (leave one run
/// out, one pattern per condition and run). Use with compute_crossnobis_rdm().
class crossnobis {
 public:
  static constexpr const char* name = "crossnobis";

  /// Identity noise precision: the cross-validated squared Euclidean distance.
  crossnobis() = default;

  /// Identity noise precision, with options (e.g. `metric::crossnobis({.per_feature = true})`).
  explicit crossnobis(const mahalanobis_options& options) : m_options(options) {}

  /// \param precision the p × p noise precision Λ; see metric::mahalanobis for the checks.
  template <typename Derived>
  explicit crossnobis(const Eigen::MatrixBase<Derived>& precision,
                      const mahalanobis_options& options = {})
      : m_noise(mahalanobis(precision)), m_options(options) {}

  /// The whitening transform, or nothing for the identity precision.
  [[nodiscard]] const std::optional<mahalanobis>& noise() const noexcept { return m_noise; }

  /// Whether distances are divided by the number of features.
  [[nodiscard]] bool per_feature() const noexcept { return m_options.per_feature; }

 private:
  std::optional<mahalanobis> m_noise;
  mahalanobis_options m_options;
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_CROSSNOBIS_HPP
