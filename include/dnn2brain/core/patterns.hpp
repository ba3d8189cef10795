#ifndef DNN2BRAIN_CORE_PATTERNS_HPP
#define DNN2BRAIN_CORE_PATTERNS_HPP

#include <concepts>
#include <functional>
#include <numeric>
#include <optional>
#include <type_traits>

#include <Eigen/Core>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>

namespace dnn2brain {

/// Any xtensor expression with a floating-point value type.
template <typename E>
concept floating_xexpression =
    std::derived_from<E, xt::xexpression<E>> && std::floating_point<typename E::value_type>;

namespace detail {

/// How an xtensor expression's axes become a matrix: `patterns` takes the first axis as rows and
/// flattens the others in C order (at least 2 dimensions); `matrix` takes a 1-D array as a column
/// and a 2-D array as it is (rows = shape[0]), and nothing else.
enum class xtensor_axes { patterns, matrix };

template <std::floating_point T, xtensor_axes Axes>
class xtensor_view {
 public:
  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using map_type = Eigen::Map<const matrix_type>;

  template <typename E>
  explicit xtensor_view(const xt::xexpression<E>& expression, const char* function) {
    static_assert(std::is_same_v<typename E::value_type, T>,
                  "dnn2brain::xtensor_patterns/xtensor_matrix: the view's scalar type must be the "
                  "array's value_type");
    const E& e = expression.derived_cast();
    const std::size_t dims = e.dimension();
    if constexpr (Axes == xtensor_axes::patterns) {
      if (dims < 2)
        throw_invalid_argument(
            function, concat("expected an array of at least 2 dimensions (conditions first), got ",
                             dims, " dimension(s)"));
    } else if (dims < 1 || dims > 2) {
      throw_invalid_argument(function,
                             concat("expected a 1-D or 2-D array, got ", dims, " dimension(s)"));
    }
    m_rows = static_cast<index_t>(e.shape()[0]);
    m_cols = static_cast<index_t>(std::accumulate(e.shape().begin() + 1, e.shape().end(),
                                                  std::size_t{1}, std::multiplies<>{}));
    if constexpr (is_row_major_container<E>) {
      m_data = e.data();
    } else {
      m_owned.emplace(e);  // evaluates the expression in row-major order
      m_data = m_owned->data();
    }
  }

  /// A temporary container would be viewed after its death: keep the array alive instead.
  template <typename E>
  xtensor_view(xt::xexpression<E>&&, const char*) = delete;

  xtensor_view(const xtensor_view&) = delete;
  xtensor_view& operator=(const xtensor_view&) = delete;

  /// The matrix (row-major, read in place when possible). On a temporary view the matrix is
  /// returned as an owning copy: a Map would outlive the copy the view may own.
  [[nodiscard]] map_type matrix() const& noexcept { return map_type(m_data, m_rows, m_cols); }
  [[nodiscard]] matrix_type matrix() const&& { return map_type(m_data, m_rows, m_cols); }
  /// True when the data had to be evaluated into a copy.
  [[nodiscard]] bool copied() const noexcept { return m_owned.has_value(); }

 private:
  template <typename E>
  static constexpr bool is_row_major_container =
      std::is_base_of_v<xt::xcontainer<E>, E>&& E::static_layout == xt::layout_type::row_major;

  std::optional<xt::xarray<T, xt::layout_type::row_major>> m_owned;
  const T* m_data = nullptr;
  index_t m_rows = 0;
  index_t m_cols = 0;
};

}  // namespace detail

/// \brief A conditions × features view of an xtensor expression whose first axis is conditions.
///
/// The remaining axes are flattened in C order (a 78 × 512 × 7 × 7 activation tensor becomes
/// 78 × 25088). Row-major xtensor containers and adaptors are viewed in place; any other
/// expression (views, lazy expressions, column-major storage) is evaluated once into an owned
/// row-major buffer. matrix() stays valid while this object and the source expression live.
template <std::floating_point T>
using xtensor_patterns = detail::xtensor_view<T, detail::xtensor_axes::patterns>;

/// \brief The Eigen matrix of a 1-D (n × 1) or 2-D (shape[0] × shape[1]) xtensor expression:
/// how every numeric function that takes an Eigen matrix also takes an xtensor array, with the
/// same orientation (an array of shape (r, c) is the matrix r × c). Viewed in place or evaluated
/// once, as xtensor_patterns.
template <std::floating_point T>
using xtensor_matrix = detail::xtensor_view<T, detail::xtensor_axes::matrix>;

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_PATTERNS_HPP
