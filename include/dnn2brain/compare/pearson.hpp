#ifndef DNN2BRAIN_COMPARE_PEARSON_HPP
#define DNN2BRAIN_COMPARE_PEARSON_HPP

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

namespace dnn2brain::measure {

/// \brief Pearson correlation between the entries of two RDMs.
///
/// prepared centres and scales the model once; each target then costs one pass for its mean and
/// one for the dot product and norm, in double. A constant RDM has no correlation: NaN.
struct pearson {
  static constexpr const char* name = "pearson";

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) : m_model(model.array() - model.mean()) {
      const double norm = m_model.norm();
      m_model = norm > 0.0 ? Eigen::VectorXd(m_model / norm)
                           : Eigen::VectorXd::Constant(model.size(),
                                                       std::numeric_limits<double>::quiet_NaN());
    }
    /// r(model, target); target has the model's size and no NaN.
    [[nodiscard]] double operator()(const Eigen::VectorXd& target) const {
      const double mean = target.mean();
      double dot = 0.0;
      double norm2 = 0.0;
      for (Eigen::Index k = 0; k < target.size(); ++k) {
        const double t = target[k] - mean;
        dot += m_model[k] * t;
        norm2 += t * t;
      }
      if (!(norm2 > 0.0)) return std::numeric_limits<double>::quiet_NaN();
      return std::clamp(dot / std::sqrt(norm2), -1.0, 1.0);
    }

   private:
    Eigen::VectorXd m_model;
  };
};

}  // namespace dnn2brain::measure

#endif  // DNN2BRAIN_COMPARE_PEARSON_HPP
