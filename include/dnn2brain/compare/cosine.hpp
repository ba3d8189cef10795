#ifndef DNN2BRAIN_COMPARE_COSINE_HPP
#define DNN2BRAIN_COMPARE_COSINE_HPP

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

namespace dnn2brain::measure {

/// Cosine similarity a·b / (‖a‖‖b‖) between the entries of two RDMs (no centring, unlike pearson);
/// NaN when either is all zero.
struct cosine {
  static constexpr const char* name = "cosine";

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) {
      const double norm = model.norm();
      m_model = norm > 0.0 ? Eigen::VectorXd(model / norm)
                           : Eigen::VectorXd::Constant(model.size(),
                                                       std::numeric_limits<double>::quiet_NaN());
    }
    [[nodiscard]] double operator()(const Eigen::VectorXd& target) const {
      const double norm = target.norm();
      if (!(norm > 0.0)) return std::numeric_limits<double>::quiet_NaN();
      return std::clamp(m_model.dot(target) / norm, -1.0, 1.0);
    }

   private:
    Eigen::VectorXd m_model;
  };
};

}  // namespace dnn2brain::measure

#endif  // DNN2BRAIN_COMPARE_COSINE_HPP
