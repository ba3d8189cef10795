#ifndef DNN2BRAIN_CORE_PATTERNS_HPP
#define DNN2BRAIN_CORE_PATTERNS_HPP

#include <concepts>
#include <functional>
#include <numeric>
#include <optional>
#include <type_traits>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>

namespace dnn2brain {

/// Any dense Eigen expression with a floating-point Scalar: the input type of pattern matrices
/// (conditions × features), taken by reference and never copied.
template <typename Derived>
concept floating_eigen = std::derived_from<Derived, Eigen::MatrixBase<Derived>> &&
    std::floating_point<typename Derived::Scalar>;

/// Any xtensor expression with a floating-point value type.
template <typename E>
concept floating_xexpression =
    std::derived_from<E, xt::xexpression<E>> && std::floating_point<typename E::value_type>;

/// \brief A conditions × features view of an xtensor expression whose first axis is conditions.
///
/// The remaining axes are flattened in C order (a 78 × 512 × 7 × 7 activation tensor becomes
/// 78 × 25088). Row-major xtensor containers and adaptors are viewed in place; any other
/// expression (views, lazy expressions, column-major storage) is evaluated once into an owned
/// row-major buffer. matrix() stays valid while this object and the source expression live.
template <std::floating_point T>
class xtensor_patterns {
 public:
  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using map_type = Eigen::Map<const matrix_type>;

  template <typename E>
  explicit xtensor_patterns(const xt::xexpression<E>& expression, const char* function) {
    const E& e = expression.derived_cast();
    if (e.dimension() < 2)
      detail::throw_invalid_argument(
          function, detail::concat("expected an array of at least 2 dimensions (conditions first), "
                                   "got ",
                                   e.dimension(), " dimension(s)"));
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
  xtensor_patterns(xt::xexpression<E>&&, const char*) = delete;

  xtensor_patterns(const xtensor_patterns&) = delete;
  xtensor_patterns& operator=(const xtensor_patterns&) = delete;

  /// The conditions × features matrix.
  [[nodiscard]] map_type matrix() const noexcept { return map_type(m_data, m_rows, m_cols); }
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

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_PATTERNS_HPP
