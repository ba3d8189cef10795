#ifndef DNN2BRAIN_METRICS_MAHALANOBIS_HPP
#define DNN2BRAIN_METRICS_MAHALANOBIS_HPP

#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::metric {

/// \brief Mahalanobis distance √((xᵢ − xⱼ)ᵀ Λ (xᵢ − xⱼ)) for a noise precision matrix Λ
/// (scipy's pdist 'mahalanobis' with VI = Λ).
///
/// The constructor factors Λ = L Lᵀ once (Cholesky); transform() whitens the patterns, X ↦ X L,
/// which costs O(n p²) and one n × p copy, and the distances are then Euclidean.
class mahalanobis {
 public:
  static constexpr const char* name = "mahalanobis";

  /// \param precision p × p symmetric positive-definite noise precision (e.g. an inverse shrinkage
  ///        covariance of residuals).
  /// \throws invalid_argument if it is not square, not finite, not symmetric (relative tolerance
  ///         1e-8) or not positive definite.
  template <typename Derived>
  explicit mahalanobis(const Eigen::MatrixBase<Derived>& precision) {
    const Eigen::MatrixXd lambda = precision.template cast<double>();
    if (lambda.rows() != lambda.cols() || lambda.rows() == 0)
      detail::throw_invalid_argument(
          "metric::mahalanobis",
          detail::concat("expected a non-empty square precision matrix, got ", lambda.rows(), " x ",
                         lambda.cols()));
    if (!lambda.allFinite())
      detail::throw_invalid_argument("metric::mahalanobis",
                                     "expected a finite precision matrix, got NaN or Inf entries");
    const double scale = lambda.cwiseAbs().maxCoeff();
    for (Eigen::Index j = 0; j < lambda.cols(); ++j)
      for (Eigen::Index i = j + 1; i < lambda.rows(); ++i)
        if (std::abs(lambda(i, j) - lambda(j, i)) > 1e-8 * scale)
          detail::throw_invalid_argument(
              "metric::mahalanobis",
              detail::concat("expected a symmetric precision matrix, got entry (", i, ", ", j,
                             ") = ", lambda(i, j), " but (", j, ", ", i, ") = ", lambda(j, i)));
    Eigen::LLT<Eigen::MatrixXd> llt(lambda);
    if (llt.info() != Eigen::Success)
      detail::throw_invalid_argument(
          "metric::mahalanobis",
          "expected a positive-definite precision matrix, got one that is not");
    m_whitening = llt.matrixL();
  }

  [[nodiscard]] Eigen::Index features() const noexcept { return m_whitening.rows(); }

  [[nodiscard]] static constexpr gram_recipe recipe() noexcept {
    return {true, false, gram_output::distance};
  }

  /// Whitened patterns X L (n × p). \throws invalid_argument if X does not have p columns.
  template <typename Derived>
  [[nodiscard]] Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic,
                              Eigen::RowMajor>
  transform(const Eigen::MatrixBase<Derived>& patterns) const {
    if (patterns.cols() != features())
      detail::throw_invalid_argument(
          "metric::mahalanobis",
          detail::concat("expected patterns with ", features(),
                         " features (the precision's size), got ", patterns.cols()));
    return (patterns.template cast<double>() * m_whitening.triangularView<Eigen::Lower>())
        .template cast<typename Derived::Scalar>();
  }

  /// The Cholesky factor L of the precision, Λ = L Lᵀ.
  [[nodiscard]] const Eigen::MatrixXd& whitening() const noexcept { return m_whitening; }

 private:
  Eigen::MatrixXd m_whitening;
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_MAHALANOBIS_HPP
