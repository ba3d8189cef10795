#ifndef DNN2BRAIN_CORE_RDM_STACK_HPP
#define DNN2BRAIN_CORE_RDM_STACK_HPP

#include <concepts>
#include <span>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm.hpp>

namespace dnn2brain {

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

  /// Wraps a pairs × count matrix. \throws invalid_argument if pairs is not n(n − 1)/2.
  template <typename Derived>
  requires std::floating_point<typename Derived::Scalar>
  explicit rdm_stack(const Eigen::MatrixBase<Derived>& values)
      : m_conditions(conditions_from_pairs(values.rows(), "rdm_stack")),
        m_values(values.template cast<Scalar>()) {}

  /// Stacks RDMs that share a condition count. \throws invalid_argument if they differ or none
  /// come.
  template <std::floating_point S>
  explicit rdm_stack(std::span<const rdm<S>> rdms) {
    if (rdms.empty())
      detail::throw_invalid_argument("rdm_stack", "expected at least one RDM, got none");
    m_conditions = rdms.front().conditions();
    m_values.resize(rdms.front().pairs(), static_cast<index_t>(rdms.size()));
    for (index_t k = 0; k < m_values.cols(); ++k) set(k, rdms[static_cast<std::size_t>(k)]);
  }

  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }
  [[nodiscard]] index_t pairs() const noexcept { return m_values.rows(); }
  /// Number of RDMs in the stack.
  [[nodiscard]] index_t size() const noexcept { return m_values.cols(); }

  /// The pairs × size() values; the writable view cannot change the shape.
  [[nodiscard]] const matrix_type& values() const noexcept { return m_values; }
  [[nodiscard]] Eigen::Map<matrix_type> values() noexcept {
    return Eigen::Map<matrix_type>(m_values.data(), m_values.rows(), m_values.cols());
  }

  /// Condensed values of RDM k, as a view.
  [[nodiscard]] auto column(index_t k) const { return m_values.col(k); }
  [[nodiscard]] auto column(index_t k) { return m_values.col(k); }

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
  void check_index(index_t k, const char* function) const {
    if (k < 0 || k >= size())
      detail::throw_invalid_argument(
          function, detail::concat("expected an index in [0, ", size(), "), got ", k));
  }

  index_t m_conditions = 0;
  matrix_type m_values;
};

template <typename Derived>
rdm_stack(const Eigen::MatrixBase<Derived>&) -> rdm_stack<typename Derived::Scalar>;

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_RDM_STACK_HPP
