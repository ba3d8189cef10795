#ifndef DNN2BRAIN_COMPARE_PEARSON_HPP
#define DNN2BRAIN_COMPARE_PEARSON_HPP

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

namespace dnn2brain::measure {

/// \brief Pearson correlation between the entries of two RDMs.
///
/// prepared centres and scales the model once; each target then costs one pass over memory in
/// double (shifted sums: the first entry is subtracted before squaring, so an RDM whose values
/// sit far from zero loses no accuracy). A constant RDM has no correlation: NaN.
struct pearson {
  static constexpr const char* name = "pearson";
  /// Scores any float or double column as is and returns NaN when it holds NaN or Inf, so a batch
  /// checks entries only after a NaN result.
  static constexpr bool propagates_nan = true;

  /// \brief This measure's convention for pooling subject RDMs (noise_ceiling()): each is z-scored,
  /// (v − v̄)/σ with the population σ, before RDMs are averaged (Nili et al. 2014; rsatoolbox's
  /// pool_rdm). A constant RDM is only centred. A measure derived from pearson inherits it.
  static void pool(Eigen::Ref<Eigen::VectorXd> rdm) {
    rdm.array() -= rdm.mean();
    const double sd = std::sqrt(rdm.squaredNorm() / static_cast<double>(rdm.size()));
    if (sd > 0.0) rdm /= sd;
  }

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) : m_model(model.array() - model.mean()) {
      const double norm = m_model.norm();
      if (norm > 0.0)
        m_model /= norm;
      else
        m_model.setConstant(std::numeric_limits<double>::quiet_NaN());
      m_model_sum = m_model.sum();  // zero up to rounding; kept so the covariance stays exact
    }

    /// r(model, target); target is any vector expression of the model's length.
    template <typename Derived>
    [[nodiscard]] double operator()(const Eigen::MatrixBase<Derived>& target) const {
      const Eigen::Index size = target.size();
      const double m = static_cast<double>(size);
      const double shift = static_cast<double>(target.coeff(0));
      const double* model = m_model.data();
      double s1 = 0.0, s2 = 0.0, sa = 0.0;
      DNN2BRAIN_OMP(simd reduction(+ : s1, s2, sa))
      for (Eigen::Index k = 0; k < size; ++k) {
        const double y = static_cast<double>(target.coeff(k)) - shift;
        s1 += y;
        s2 += y * y;
        sa += model[k] * y;
      }
      const double variance = s2 - s1 * s1 / m;
      const double covariance = sa - m_model_sum * s1 / m;
      if (!(variance > 0.0)) return std::numeric_limits<double>::quiet_NaN();
      return std::clamp(covariance / std::sqrt(variance), -1.0, 1.0);
    }

   private:
    Eigen::VectorXd m_model;  // centred, unit norm
    double m_model_sum = 0.0;
  };
};

}  // namespace dnn2brain::measure

#endif  // DNN2BRAIN_COMPARE_PEARSON_HPP
