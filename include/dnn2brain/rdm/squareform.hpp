#ifndef DNN2BRAIN_RDM_SQUAREFORM_HPP
#define DNN2BRAIN_RDM_SQUAREFORM_HPP

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>

namespace dnn2brain {

/// Checks applied by from_square().
struct squareform_options {
  /// Largest accepted |aᵢⱼ − aⱼᵢ| and |aᵢᵢ|, relative to max(1, max |a|). The default accepts the
  /// rounding of a float32 RDM; 0 demands exact symmetry and zeros (scipy's checks=True).
  double tolerance = 1e-5;
  /// Accept NaN entries (e.g. missing conditions); their mirror must be NaN too.
  bool allow_nan = false;
};

namespace detail {

// from_square() of `square` into `out` (n(n − 1)/2 entries); `which` (e.g. " of RDM 3") follows
// every position in error messages.
template <typename Derived, typename Out>
void square_to_condensed(const Eigen::MatrixBase<Derived>& square,
                         const squareform_options& options, const char* function,
                         const std::string& which, Out&& out) {
  const index_t n = square.rows();
  if (n != square.cols() || n < 2)
    throw_invalid_argument(function, concat("expected a square matrix of at least 2 x 2, got ",
                                            square.rows(), " x ", square.cols(), which));
  if (!(options.tolerance >= 0.0))
    throw_invalid_argument(function, concat("expected tolerance >= 0, got ", options.tolerance));
  double scale = 1.0;
  for (index_t j = 0; j < n; ++j)
    for (index_t i = 0; i < n; ++i) {
      const double a = static_cast<double>(square(i, j));
      if (std::isfinite(a)) {
        scale = std::max(scale, std::abs(a));
      } else if (!(options.allow_nan && std::isnan(a))) {
        throw_invalid_argument(
            function, concat("expected finite entries, got ", a, " at (", i, ", ", j, ")", which));
      }
    }
  const double tol = options.tolerance * scale;
  for (index_t i = 0; i < n; ++i) {
    const double diagonal = static_cast<double>(square(i, i));
    if (!(std::abs(diagonal) <= tol))
      throw_invalid_argument(
          function, concat("expected a zero diagonal (tolerance ", tol, "), got ", diagonal,
                           " at (", i, ", ", i, ")", which));
    for (index_t j = i + 1; j < n; ++j) {
      const double upper = static_cast<double>(square(i, j));
      const double lower = static_cast<double>(square(j, i));
      const bool both_nan = std::isnan(upper) && std::isnan(lower);
      if (!both_nan && !(std::abs(upper - lower) <= tol))
        throw_invalid_argument(
            function, concat("expected a symmetric matrix (tolerance ", tol, "), got entry (", i,
                             ", ", j, ") = ", upper, " but (", j, ", ", i, ") = ", lower, which));
      out[condensed_index(n, i, j)] = square(i, j);
    }
  }
}

}  // namespace detail

/// \brief Condensed RDM of a square n × n dissimilarity matrix, taking the upper triangle in pdist
/// order (scipy's squareform).
/// \throws invalid_argument naming the first offending entry if the matrix is not square, n < 2,
///         an entry is NaN or Inf (unless allow_nan), the diagonal is not zero or the matrix is not
///         symmetric within the tolerance.
template <floating_eigen Derived>
[[nodiscard]] rdm<typename Derived::Scalar> from_square(const Eigen::MatrixBase<Derived>& square,
                                                        const squareform_options& options = {}) {
  if (square.rows() != square.cols() || square.rows() < 2)  // before allocating n(n − 1)/2
    detail::throw_invalid_argument(
        "from_square", detail::concat("expected a square matrix of at least 2 x 2, got ",
                                      square.rows(), " x ", square.cols()));
  rdm<typename Derived::Scalar> result(square.rows());
  detail::square_to_condensed(square, options, "from_square", std::string(), result.values());
  return result;
}

/// from_square() of a 2-D xtensor array (e.g. an RDM read from a .npy or .mat file).
template <floating_xexpression E>
[[nodiscard]] rdm<typename E::value_type> from_square(const xt::xexpression<E>& square,
                                                      const squareform_options& options = {}) {
  const xtensor_matrix<typename E::value_type> view(square, "from_square");
  return from_square(view.matrix(), options);
}

/// \brief The stack of square RDMs in a 3-D array of shape (count, n, n), RDM k = slice k: how a
/// (subjects, n, n) array read from a .npy, .npz or .mat file becomes an rdm_stack. Each slice is
/// checked as from_square() checks it.
/// \throws invalid_argument as from_square(), naming the slice, or if the array is not 3-D with
/// square slices.
template <floating_xexpression E>
[[nodiscard]] rdm_stack<typename E::value_type> from_squares(
    const xt::xexpression<E>& squares, const squareform_options& options = {}) {
  using Scalar = typename E::value_type;
  constexpr const char* function = "from_squares";
  const E& e = squares.derived_cast();
  if (e.dimension() != 3 || e.shape()[1] != e.shape()[2] || e.shape()[1] < 2 || e.shape()[0] < 1)
    detail::throw_invalid_argument(
        function,
        detail::concat("expected an array of shape (count, n, n) with count >= 1 and n "
                       ">= 2, got ",
                       e.dimension(), " dimension(s)",
                       e.dimension() == 3 ? detail::concat(" of shape (", e.shape()[0], ", ",
                                                           e.shape()[1], ", ", e.shape()[2], ")")
                                          : std::string()));
  const auto count = static_cast<index_t>(e.shape()[0]), n = static_cast<index_t>(e.shape()[1]);
  const xtensor_patterns<Scalar> flat(squares, function);  // count × n², row-major
  using square_map =
      Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  rdm_stack<Scalar> stack(n, count);
  for (index_t k = 0; k < count; ++k)
    detail::square_to_condensed(square_map(flat.matrix().row(k).data(), n, n), options, function,
                                detail::concat(" of RDM ", k), stack.column(k));
  return stack;
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
