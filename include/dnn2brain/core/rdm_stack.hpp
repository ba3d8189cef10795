#ifndef DNN2BRAIN_CORE_RDM_STACK_HPP
#define DNN2BRAIN_CORE_RDM_STACK_HPP

#include <concepts>
#include <ranges>
#include <string>
#include <utility>

#include <Eigen/Core>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>

namespace dnn2brain {

namespace detail {
template <typename T>
inline constexpr bool is_rdm = false;
template <typename S>
inline constexpr bool is_rdm<rdm<S>> = true;
}  // namespace detail

/// \brief Many RDMs over the same n conditions: a column-major pairs × count matrix, one condensed
/// RDM per column (layers, subjects, searchlights).
///
/// Column-major storage makes every RDM contiguous, so comparisons and regressions over a stack are
/// matrix products.
template <std::floating_point Scalar = double>
class rdm_stack {
 public:
  using scalar_type = Scalar;
  using matrix_type = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  rdm_stack() = default;

  /// count RDMs of n conditions, all zero. \throws invalid_argument if n < 2 or count < 0.
  rdm_stack(index_t conditions, index_t count) : m_conditions(conditions) {
    if (conditions < 2 || count < 0)
      detail::throw_invalid_argument(
          "rdm_stack", detail::concat("expected at least 2 conditions and count >= 0, got ",
                                      conditions, " conditions and count ", count));
    m_values.setZero(condensed_size(conditions), count);
  }

  /// \brief Stacks RDMs that share a condition count: any range of rdm<S> (a vector, a span,
  /// an array), in order; the scalar type follows the RDMs' unless given.
  /// \throws invalid_argument if none come or their condition counts differ.
  template <std::ranges::forward_range Range>
  requires detail::is_rdm<std::ranges::range_value_t<Range>>
  explicit rdm_stack(const Range& rdms) {
    const auto count = static_cast<index_t>(std::ranges::distance(rdms));
    if (count == 0)
      detail::throw_invalid_argument("rdm_stack", "expected at least one RDM, got none");
    m_conditions = (*std::ranges::begin(rdms)).conditions();
    m_values.resize(condensed_size(m_conditions), count);
    index_t k = 0;
    for (const auto& r : rdms) set(k++, r);
  }

  /// \brief The stack whose RDM k is column k of `values`: pairs × count, pairs = n(n − 1)/2 for
  /// the given number of conditions n (Eigen's usual layout, the one rdm_stack stores).
  /// \throws invalid_argument if values does not have n(n − 1)/2 rows (saying so when it has that
  /// many columns: the array is then count × pairs, for from_rows), or n < 2.
  template <floating_eigen Derived>
  [[nodiscard]] static rdm_stack from_columns(const Eigen::MatrixBase<Derived>& values,
                                              index_t conditions) {
    check_shape(values.rows(), values.cols(), conditions, "rdm_stack::from_columns", "from_rows");
    rdm_stack stack;
    stack.m_conditions = conditions;
    stack.m_values = values.template cast<Scalar>();
    return stack;
  }

  /// \brief The stack whose RDM k is row k of `values`: count × pairs, numpy's usual layout for
  /// many condensed RDMs (subjects × pairs), e.g. a row-major Map over a loaded array.
  /// \throws invalid_argument if values does not have n(n − 1)/2 columns (saying so when it has
  /// that many rows: the array is then pairs × count, for from_columns), or n < 2.
  template <floating_eigen Derived>
  [[nodiscard]] static rdm_stack from_rows(const Eigen::MatrixBase<Derived>& values,
                                           index_t conditions) {
    check_shape(values.cols(), values.rows(), conditions, "rdm_stack::from_rows", "from_columns");
    rdm_stack stack;
    stack.m_conditions = conditions;
    stack.m_values = values.transpose().template cast<Scalar>();
    return stack;
  }

  /// from_columns() of an xtensor array of shape (pairs, count).
  template <floating_xexpression E>
  [[nodiscard]] static rdm_stack from_columns(const xt::xexpression<E>& values,
                                              index_t conditions) {
    const xtensor_matrix<typename E::value_type> view(values, "rdm_stack::from_columns");
    return from_columns(view.matrix(), conditions);
  }

  /// from_rows() of an xtensor array of shape (count, pairs): numpy's (subjects, pairs) array as
  /// io::read_npy returns it. Square RDMs of shape (count, n, n) go through from_squares().
  template <floating_xexpression E>
  [[nodiscard]] static rdm_stack from_rows(const xt::xexpression<E>& values, index_t conditions) {
    const xtensor_matrix<typename E::value_type> view(values, "rdm_stack::from_rows");
    return from_rows(view.matrix(), conditions);
  }

  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }
  [[nodiscard]] index_t pairs() const noexcept { return m_values.rows(); }
  /// Number of RDMs in the stack.
  [[nodiscard]] index_t size() const noexcept { return m_values.cols(); }

  /// The pairs × size() values; the writable view cannot change the shape. On a temporary
  /// stack the values are moved out and returned by value, so no view can outlive the stack.
  [[nodiscard]] const matrix_type& values() const& noexcept { return m_values; }
  [[nodiscard]] Eigen::Map<matrix_type> values() & noexcept {
    return Eigen::Map<matrix_type>(m_values.data(), m_values.rows(), m_values.cols());
  }
  [[nodiscard]] matrix_type values() && noexcept { return std::move(m_values); }
  [[nodiscard]] matrix_type values() const&& { return m_values; }

  /// Condensed values of RDM k, as a view (not on a temporary stack: use get(k) there).
  [[nodiscard]] auto column(index_t k) const& { return m_values.col(k); }
  [[nodiscard]] auto column(index_t k) & { return m_values.col(k); }
  void column(index_t) && = delete;
  void column(index_t) const&& = delete;

  /// RDM k as an owning rdm. \throws invalid_argument if k is out of range.
  [[nodiscard]] rdm<Scalar> get(index_t k) const {
    check_index(k, "rdm_stack::get");
    return rdm<Scalar>(m_values.col(k));
  }

  /// Replaces RDM k. \throws invalid_argument if k is out of range or the condition counts differ.
  template <std::floating_point S>
  void set(index_t k, const rdm<S>& r) {
    check_index(k, "rdm_stack::set");
    if (r.conditions() != m_conditions)
      detail::throw_invalid_argument(
          "rdm_stack::set", detail::concat("expected an RDM of ", m_conditions, " conditions, got ",
                                           r.conditions(), " at position ", k));
    m_values.col(k) = r.values().template cast<Scalar>();
  }

 private:
  // `along` is the extent that must equal the pairs of n conditions, `across` the other one.
  static void check_shape(index_t along, index_t across, index_t conditions, const char* function,
                          const char* other) {
    if (conditions < 2)
      detail::throw_invalid_argument(
          function, detail::concat("expected at least 2 conditions, got ", conditions));
    const index_t pairs = condensed_size(conditions);
    if (along == pairs) return;
    detail::throw_invalid_argument(
        function,
        detail::concat("expected ", pairs, " pairs (", conditions, " conditions), got ", along,
                       across == pairs ? detail::concat(" (the other axis has ", pairs,
                                                        ": use rdm_stack::", other, ")")
                                       : std::string()));
  }

  void check_index(index_t k, const char* function) const {
    if (k < 0 || k >= size())
      detail::throw_invalid_argument(
          function, detail::concat("expected an index in [0, ", size(), "), got ", k));
  }

  index_t m_conditions = 0;
  matrix_type m_values;
};

namespace detail {
template <typename T>
inline constexpr bool is_rdm_stack = false;
template <typename S>
inline constexpr bool is_rdm_stack<rdm_stack<S>> = true;
}  // namespace detail

template <std::ranges::forward_range Range>
requires detail::is_rdm<std::ranges::range_value_t<Range>> rdm_stack(const Range&)
->rdm_stack<typename std::ranges::range_value_t<Range>::scalar_type>;

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_RDM_STACK_HPP
