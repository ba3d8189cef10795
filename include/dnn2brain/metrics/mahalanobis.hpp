#ifndef DNN2BRAIN_METRICS_MAHALANOBIS_HPP
#define DNN2BRAIN_METRICS_MAHALANOBIS_HPP

#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain {
namespace detail {

/// \brief The whitening shared by the Mahalanobis metrics: the Cholesky factor L of a noise
/// precision Λ = L Lᵀ, and the transform X ↦ X L after which distances are Euclidean.
class precision_whitening {
 public:
  /// \param function the metric's name for error messages ("metric::mahalanobis").
  /// \throws invalid_argument if the precision is not square, not finite, not symmetric
  ///         (relative tolerance 1e-8) or not positive definite.
  template <typename Derived>
  precision_whitening(const Eigen::MatrixBase<Derived>& precision, const char* function)
      : m_function(function) {
    // Read in place when already a double matrix, else evaluated once (reading an expression's
    // coefficients one by one could cost a matrix product each).
    const Eigen::Ref<const Eigen::MatrixXd> lambda(precision.template cast<double>());
    if (lambda.rows() != lambda.cols() || lambda.rows() == 0)
      throw_invalid_argument(function, concat("expected a non-empty square precision matrix, got ",
                                              lambda.rows(), " x ", lambda.cols()));
    require_finite(lambda, function, "precision matrix entries",
                   [](Eigen::Index i, Eigen::Index j) { return concat("(", i, ", ", j, ")"); });
    const double scale = lambda.cwiseAbs().maxCoeff();
    for (Eigen::Index j = 0; j < lambda.cols(); ++j)
      for (Eigen::Index i = j + 1; i < lambda.rows(); ++i)
        if (std::abs(lambda(i, j) - lambda(j, i)) > 1e-8 * scale)
          throw_invalid_argument(
              function, concat("expected a symmetric precision matrix, got entry (", i, ", ", j,
                               ") = ", lambda(i, j), " but (", j, ", ", i, ") = ", lambda(j, i)));
    Eigen::LLT<Eigen::MatrixXd> llt(lambda);
    if (llt.info() != Eigen::Success)
      throw_invalid_argument(function,
                             "expected a positive-definite precision matrix, got one that is not");
    m_whitening = llt.matrixL();
  }

  /// The number of features p the precision is for.
  [[nodiscard]] Eigen::Index features() const noexcept { return m_whitening.rows(); }

  /// Whitened patterns X L (n × p). \throws invalid_argument if X does not have p columns.
  template <typename Derived>
  [[nodiscard]] Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic,
                              Eigen::RowMajor>
  transform(const Eigen::MatrixBase<Derived>& patterns) const {
    if (patterns.cols() != features())
      throw_invalid_argument(m_function,
                             concat("expected patterns with ", features(),
                                    " features (the precision's size), got ", patterns.cols()));
    return (patterns.template cast<double>() * m_whitening.triangularView<Eigen::Lower>())
        .template cast<typename Derived::Scalar>();
  }

  /// The Cholesky factor L of the precision, Λ = L Lᵀ.
  [[nodiscard]] const Eigen::MatrixXd& whitening() const noexcept { return m_whitening; }

 private:
  Eigen::MatrixXd m_whitening;
  const char* m_function;
};

}  // namespace detail

namespace metric {

/// Options of the Mahalanobis metrics (mahalanobis, sq_mahalanobis, crossnobis).
struct mahalanobis_options {
  /// Divide the squared distance by the number of features p before any root, as rsatoolbox does
  /// (see scaled_recipe).
  bool per_feature = false;
};

/// \brief Mahalanobis distance √((xᵢ − xⱼ)ᵀ Λ (xᵢ − xⱼ)) for a noise precision matrix Λ
/// (scipy's pdist 'mahalanobis' with VI = Λ).
///
/// The constructor factors Λ = L Lᵀ once (Cholesky); transform() whitens the patterns, X ↦ X L,
/// which costs O(n p²) and one n × p copy, and the distances are then Euclidean.
/// With per_feature: √((xᵢ − xⱼ)ᵀ Λ (xᵢ − xⱼ) / p), the root of rsatoolbox's 'mahalanobis'
/// (which is squared, see sq_mahalanobis).
class mahalanobis : public detail::precision_whitening {
 public:
  static constexpr const char* name = "mahalanobis";

  /// \param precision p × p symmetric positive-definite noise precision (e.g. an inverse shrinkage
  ///        covariance of residuals).
  /// \throws invalid_argument if it is not square, not finite, not symmetric (relative tolerance
  ///         1e-8) or not positive definite.
  template <typename Derived>
  explicit mahalanobis(const Eigen::MatrixBase<Derived>& precision,
                       const mahalanobis_options& options = {})
      : precision_whitening(precision, "metric::mahalanobis"), m_options(options) {}

  [[nodiscard]] bool per_feature() const noexcept { return m_options.per_feature; }

  [[nodiscard]] scaled_recipe recipe() const noexcept {
    return {{true, false, gram_output::distance}, m_options.per_feature};
  }

 private:
  mahalanobis_options m_options;
};

/// \brief Squared Mahalanobis distance (xᵢ − xⱼ)ᵀ Λ (xᵢ − xⱼ) for a noise precision matrix Λ.
///
/// The square of metric::mahalanobis, computed without a root (so no rounding of one). With
/// per_feature, (xᵢ − xⱼ)ᵀ Λ (xᵢ − xⱼ) / p: rsatoolbox's calc_rdm(method='mahalanobis',
/// noise=Λ), whose 'mahalanobis' is this squared, per-feature distance. Same checks and costs as
/// metric::mahalanobis.
class sq_mahalanobis : public detail::precision_whitening {
 public:
  static constexpr const char* name = "sq_mahalanobis";

  /// \param precision p × p symmetric positive-definite noise precision.
  /// \throws invalid_argument as metric::mahalanobis.
  template <typename Derived>
  explicit sq_mahalanobis(const Eigen::MatrixBase<Derived>& precision,
                          const mahalanobis_options& options = {})
      : precision_whitening(precision, "metric::sq_mahalanobis"), m_options(options) {}

  [[nodiscard]] bool per_feature() const noexcept { return m_options.per_feature; }

  [[nodiscard]] scaled_recipe recipe() const noexcept {
    return {{true, false, gram_output::squared_distance}, m_options.per_feature};
  }

 private:
  mahalanobis_options m_options;
};

}  // namespace metric
}  // namespace dnn2brain

#endif  // DNN2BRAIN_METRICS_MAHALANOBIS_HPP
