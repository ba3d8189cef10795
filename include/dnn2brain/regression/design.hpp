#ifndef DNN2BRAIN_REGRESSION_DESIGN_HPP
#define DNN2BRAIN_REGRESSION_DESIGN_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm_stack.hpp>

namespace dnn2brain {

/// How a design decides its rank.
struct design_options {
  /// A predictor counts as dependent when its pivot in the QR of the centred, unit-norm predictors
  /// falls below rank_tolerance times the largest pivot; 0 chooses Eigen's default, p·ε.
  double rank_tolerance = 0.0;
};

/// \brief One regression design over m RDM pairs: an intercept plus p predictor RDMs (one DNN's
/// layer RDMs, or the union of several DNNs' layers), factored once.
///
/// The predictors are centred (which accounts for the intercept) and scaled to unit norm, so the
/// rank decision does not depend on their units, then factored by a column-pivoting Householder QR
/// in double. A constant predictor, or one that is a linear combination of others, is dependent:
/// rank() < predictors(), info() is status::rank_deficient and dependent_predictors() lists it.
/// R² stays well defined (the projection onto the span of the predictors); coefficients are then
/// the basic solution, with the dependent predictors' coefficients zero.
///
/// The basis is what fits use: m × rank(), orthonormal and orthogonal to the intercept, so that
/// R² of a target y is ‖basisᵀ y‖² / ‖y − ȳ‖².
class design {
 public:
  design() = default;

  /// From an m × p matrix with one predictor RDM per column. A saturated design (m = p + 1, no
  /// residual degree of freedom) is accepted for its coefficients; its adjusted R² is NaN.
  /// \throws invalid_argument if p < 1, m < p + 1 (the coefficients would not be determined) or an
  /// entry is not finite.
  template <floating_eigen Derived>
  explicit design(const Eigen::MatrixBase<Derived>& predictors, design_options options = {})
      : m_predictors(predictors.template cast<double>()), m_options(options) {
    factor();
  }

  /// From an xtensor array of shape (m, p) (1-D: one predictor), as from an Eigen matrix.
  template <floating_xexpression E>
  explicit design(const xt::xexpression<E>& predictors, design_options options = {})
      : design(xtensor_matrix<typename E::value_type>(predictors, "design").matrix(), options) {}

  /// From a stack of predictor RDMs.
  template <std::floating_point S>
  explicit design(const rdm_stack<S>& predictors, design_options options = {})
      : design(predictors.values(), options) {}

  /// Number of pairs m (rows of the design).
  [[nodiscard]] index_t pairs() const noexcept { return m_basis.rows(); }
  /// Number of predictors p, not counting the intercept.
  [[nodiscard]] index_t predictors() const noexcept { return m_means.size(); }
  /// Rank of the centred predictors: the model degrees of freedom (statsmodels' df_model).
  [[nodiscard]] index_t rank() const noexcept { return m_basis.cols(); }
  /// Residual degrees of freedom, m − rank − 1.
  [[nodiscard]] index_t residual_dof() const noexcept { return pairs() - rank() - 1; }
  /// status::success, or status::rank_deficient when some predictor is dependent.
  [[nodiscard]] status info() const noexcept {
    return rank() < predictors() ? status::rank_deficient : status::success;
  }
  /// Predictors (column indices) left out of the basis, ascending.
  [[nodiscard]] const std::vector<index_t>& dependent_predictors() const noexcept {
    return m_dependent;
  }
  /// m × rank() orthonormal basis of the span of the centred predictors.
  [[nodiscard]] const Eigen::MatrixXd& basis() const noexcept { return m_basis; }
  /// The m × p predictors as given (in double).
  [[nodiscard]] const Eigen::MatrixXd& predictor_values() const noexcept { return m_predictors; }

  /// \brief The design of the same predictors on the pairs `sources`: row k of the result is pair
  /// sources[k] of this design (pairs may repeat). Resampling uses it: a bootstrap over conditions
  /// refits on the pairs of the drawn conditions; R² of y[sources] on this design equals R² of y
  /// on the design gathered by the inverse permutation. \throws invalid_argument for a source
  /// outside [0, pairs()) and as the constructor for too few pairs.
  [[nodiscard]] design gathered(std::span<const index_t> sources) const {
    Eigen::MatrixXd x(static_cast<index_t>(sources.size()), predictors());
    for (index_t k = 0; k < x.rows(); ++k) {
      const index_t from = sources[static_cast<std::size_t>(k)];
      if (from < 0 || from >= pairs())
        detail::throw_invalid_argument(
            "design::gathered", detail::concat("expected source pairs in [0, ", pairs(), "), got ",
                                               from, " at position ", k));
      x.row(k) = m_predictors.row(from);
    }
    return design(x, m_options);
  }

  /// Adjusted R²: 1 − (1 − R²)(m − 1)/(m − rank − 1), not clipped; NaN without a residual degree
  /// of freedom (statsmodels' rsquared_adj is then undefined too).
  [[nodiscard]] double adjust(double r_squared) const noexcept {
    if (residual_dof() == 0) return std::numeric_limits<double>::quiet_NaN();
    const auto m = static_cast<double>(pairs());
    return 1.0 - (1.0 - r_squared) * (m - 1.0) / static_cast<double>(residual_dof());
  }

  /// \brief Coefficients of one target from its projection: projection[i] = basis().col(i)ᵀ
  /// (y − ȳ) for i < rank(), mean = ȳ. Writes p + 1 values to out, intercept first, dependent
  /// predictors zero. Plain loops in a fixed order, so a target's coefficients do not depend on the
  /// batch it is fitted in.
  void coefficients(const double* projection, double mean, double* out) const noexcept {
    const index_t r = rank(), p = predictors();
    std::fill_n(out, p + 1, 0.0);
    // Back substitution R₁₁ β̃ = projection gives the coefficients of the unit-norm, pivoted
    // predictors; dividing by the norms gives those of the centred predictors.
    const auto pivot = [&](index_t i) { return m_pivots[static_cast<std::size_t>(i)]; };
    for (index_t i = r - 1; i >= 0; --i) {
      double sum = projection[i];
      for (index_t l = i + 1; l < r; ++l) sum -= m_r(i, l) * out[pivot(l) + 1];
      out[pivot(i) + 1] = sum / m_r(i, i);
    }
    for (index_t i = 0; i < r; ++i) out[pivot(i) + 1] /= m_scales[pivot(i)];
    double intercept = mean;
    for (index_t j = 0; j < p; ++j) intercept -= m_means[j] * out[j + 1];
    out[0] = intercept;
  }

 private:
  void factor() {
    const Eigen::MatrixXd& x = m_predictors;
    const index_t m = x.rows(), p = x.cols();
    if (p < 1 || m < p + 1)
      detail::throw_invalid_argument(
          "design", detail::concat("expected at least 1 predictor and at least predictors + 1 "
                                   "pairs, got ",
                                   p, " predictors and ", m, " pairs"));
    detail::require_finite(x, "design", "predictors", [](index_t k, index_t j) {
      return detail::concat("pair ", k, " of predictor ", j);
    });
    m_means = x.colwise().mean().transpose();
    Eigen::MatrixXd centred = x.rowwise() - m_means.transpose();
    // A predictor whose centred norm is rounding noise of its values is constant: dependent, and
    // kept out of the QR so that normalising it cannot turn noise into a direction.
    m_scales = centred.colwise().norm().transpose();
    const Eigen::VectorXd magnitudes = x.colwise().norm().transpose();
    constexpr double eps = std::numeric_limits<double>::epsilon();
    std::vector<index_t> kept;
    for (index_t j = 0; j < p; ++j) {
      if (m_scales[j] > 16.0 * eps * magnitudes[j] * std::sqrt(static_cast<double>(m)))
        kept.push_back(j);
      else
        m_dependent.push_back(j);
    }
    Eigen::MatrixXd normalised(m, static_cast<index_t>(kept.size()));
    for (index_t i = 0; i < normalised.cols(); ++i) {
      const index_t j = kept[static_cast<std::size_t>(i)];
      normalised.col(i) = centred.col(j) / m_scales[j];
    }
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(normalised.rows(), normalised.cols());
    if (m_options.rank_tolerance > 0.0) qr.setThreshold(m_options.rank_tolerance);
    if (normalised.cols() == 0) {  // every predictor constant: nothing to project on
      m_basis.resize(m, 0);
      m_r.resize(0, 0);
      return;
    }
    qr.compute(normalised);
    const index_t r = qr.rank();
    m_basis = qr.householderQ() * Eigen::MatrixXd::Identity(m, r);
    m_r = qr.matrixR().topLeftCorner(r, r).triangularView<Eigen::Upper>();
    const auto& permutation = qr.colsPermutation().indices();
    for (index_t i = 0; i < normalised.cols(); ++i) {
      const index_t column = kept[static_cast<std::size_t>(permutation[i])];
      (i < r ? m_pivots : m_dependent).push_back(column);
    }
    std::sort(m_dependent.begin(), m_dependent.end());
  }

  Eigen::MatrixXd m_predictors;  // m × p, as given
  design_options m_options;
  Eigen::MatrixXd m_basis;        // m × r
  Eigen::MatrixXd m_r;            // r × r, upper triangular
  Eigen::VectorXd m_means;        // p predictor means
  Eigen::VectorXd m_scales;       // p centred predictor norms
  std::vector<index_t> m_pivots;  // r predictors, in basis order
  std::vector<index_t> m_dependent;
};

}  // namespace dnn2brain

#endif  // DNN2BRAIN_REGRESSION_DESIGN_HPP
