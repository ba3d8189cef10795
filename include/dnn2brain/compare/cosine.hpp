#ifndef DNN2BRAIN_COMPARE_COSINE_HPP
#define DNN2BRAIN_COMPARE_COSINE_HPP

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

namespace dnn2brain::measure {

/// Cosine similarity a·b / (‖a‖‖b‖) between the entries of two RDMs (no centring, unlike pearson);
/// NaN when either is all zero.
struct cosine {
  static constexpr const char* name = "cosine";
  /// Scores raw float or double columns and returns NaN for NaN or Inf input (see pearson).
  static constexpr bool propagates_nan = true;

  /// \brief This measure's convention for pooling subject RDMs (noise_ceiling()): each is scaled to
  /// unit root mean square, v / √(Σv²/m), before RDMs are averaged (rsatoolbox's pool_rdm). An
  /// all-zero RDM stays zero. A measure derived from cosine inherits it.
  static void pool(Eigen::Ref<Eigen::VectorXd> rdm) {
    const double rms = std::sqrt(rdm.squaredNorm() / static_cast<double>(rdm.size()));
    if (rms > 0.0) rdm /= rms;
  }

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) {
      const double norm = model.norm();
      m_model = norm > 0.0 ? Eigen::VectorXd(model / norm)
                           : Eigen::VectorXd::Constant(model.size(),
                                                       std::numeric_limits<double>::quiet_NaN());
    }
    template <typename Derived>
    [[nodiscard]] double operator()(const Eigen::MatrixBase<Derived>& target) const {
      const Eigen::Index size = target.size();
      const double* model = m_model.data();
      double norm2 = 0.0, dot = 0.0;
      DNN2BRAIN_OMP(simd reduction(+ : norm2, dot))
      for (Eigen::Index k = 0; k < size; ++k) {
        const double y = static_cast<double>(target.coeff(k));
        norm2 += y * y;
        dot += model[k] * y;
      }
      if (!(norm2 > 0.0) || !std::isfinite(norm2)) return std::numeric_limits<double>::quiet_NaN();
      return std::clamp(dot / std::sqrt(norm2), -1.0, 1.0);
    }

   private:
    Eigen::VectorXd m_model;
  };
};

}  // namespace dnn2brain::measure

#endif  // DNN2BRAIN_COMPARE_COSINE_HPP
