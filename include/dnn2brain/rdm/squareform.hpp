#ifndef DNN2BRAIN_RDM_SQUAREFORM_HPP
#define DNN2BRAIN_RDM_SQUAREFORM_HPP

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>

namespace dnn2brain {

/// Checks applied by from_square().
struct squareform_options {
  /// Largest accepted |aᵢⱼ − aⱼᵢ| and |aᵢᵢ|, relative to max(1, max |a|). The default accepts the
  /// rounding of a float32 RDM; 0 demands exact symmetry and zeros (scipy's checks=True).
  double tolerance = 1e-5;
  /// Accept NaN entries (e.g. missing conditions); their mirror must be NaN too.
  bool allow_nan = false;
};

/// \brief Condensed RDM of a square n × n dissimilarity matrix, taking the upper triangle in pdist
/// order (scipy's squareform).
/// \throws invalid_argument naming the first offending entry if the matrix is not square, n < 2,
///         an entry is NaN or Inf (unless allow_nan), the diagonal is not zero or the matrix is not
///         symmetric within the tolerance.
template <floating_eigen Derived>
[[nodiscard]] rdm<typename Derived::Scalar> from_square(const Eigen::MatrixBase<Derived>& square,
                                                        const squareform_options& options = {}) {
  using Scalar = typename Derived::Scalar;
  constexpr const char* function = "from_square";
  const index_t n = square.rows();
  if (n != square.cols() || n < 2)
    detail::throw_invalid_argument(
        function, detail::concat("expected a square matrix of at least 2 x 2, got ", square.rows(),
                                 " x ", square.cols()));
  if (!(options.tolerance >= 0.0))
    detail::throw_invalid_argument(
        function, detail::concat("expected tolerance >= 0, got ", options.tolerance));
  double scale = 1.0;
  for (index_t j = 0; j < n; ++j)
    for (index_t i = 0; i < n; ++i) {
      const double a = static_cast<double>(square(i, j));
      if (std::isfinite(a)) {
        scale = std::max(scale, std::abs(a));
      } else if (!(options.allow_nan && std::isnan(a))) {
        detail::throw_invalid_argument(
            function, detail::concat("expected finite entries, got ", a, " at (", i, ", ", j, ")"));
      }
    }
  const double tol = options.tolerance * scale;
  rdm<Scalar> result(n);
  for (index_t i = 0; i < n; ++i) {
    const double diagonal = static_cast<double>(square(i, i));
    if (!(std::abs(diagonal) <= tol))
      detail::throw_invalid_argument(
          function, detail::concat("expected a zero diagonal (tolerance ", tol, "), got ", diagonal,
                                   " at (", i, ", ", i, ")"));
    for (index_t j = i + 1; j < n; ++j) {
      const double upper = static_cast<double>(square(i, j));
      const double lower = static_cast<double>(square(j, i));
      const bool both_nan = std::isnan(upper) && std::isnan(lower);
      if (!both_nan && !(std::abs(upper - lower) <= tol))
        detail::throw_invalid_argument(
            function,
            detail::concat("expected a symmetric matrix (tolerance ", tol, "), got entry (", i,
                           ", ", j, ") = ", upper, " but (", j, ", ", i, ") = ", lower));
      result.values()[condensed_index(n, i, j)] = square(i, j);
    }
  }
  return result;
}

/// Square n × n form of an RDM: symmetric with a zero diagonal.
template <std::floating_point Scalar>
[[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> to_square(
    const rdm<Scalar>& r) {
  const index_t n = r.conditions();
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> square(n, n);
  for (index_t j = 0; j < n; ++j) {
    square(j, j) = Scalar(0);
    for (index_t i = j + 1; i < n; ++i)
      square(i, j) = square(j, i) = r.values()[condensed_index(n, j, i)];
  }
  return square;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_RDM_SQUAREFORM_HPP
