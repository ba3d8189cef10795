#ifndef DNN2BRAIN_CORE_RDM_HPP
#define DNN2BRAIN_CORE_RDM_HPP

#include <algorithm>
#include <concepts>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>

namespace dnn2brain {

/// \brief One representational dissimilarity matrix, stored condensed.
///
/// Holds the n(n − 1)/2 dissimilarities of n conditions in pdist order (see condensed_index()).
/// The diagonal is implicit and zero. An RDM built from patterns also records which conditions were
/// degenerate (e.g. a constant pattern under the correlation distance): their distances are NaN and
/// info() is status::degenerate_input.
template <std::floating_point Scalar = double>
class rdm {
 public:
  using scalar_type = Scalar;
  using vector_type = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  rdm() = default;

  /// n conditions, all dissimilarities zero. \throws invalid_argument if n < 2.
  explicit rdm(index_t conditions) : m_conditions(conditions) {
    if (conditions < 2)
      detail::throw_invalid_argument(
          "rdm", detail::concat("expected at least 2 conditions, got ", conditions));
    m_values.setZero(condensed_size(conditions));
  }

  /// Wraps condensed values (a column or row vector); the condition count follows from their
  /// number. \throws invalid_argument if the length is not n(n − 1)/2 for some n >= 2.
  template <floating_eigen Derived>
  explicit rdm(const Eigen::MatrixBase<Derived>& condensed)
      : m_conditions(checked_conditions(condensed)),
        m_values(condensed.template cast<Scalar>().reshaped()) {}

  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }
  [[nodiscard]] index_t pairs() const noexcept { return m_values.size(); }

  /// Condensed values in pdist order; the writable view cannot change their number. On a
  /// temporary RDM (`compute_rdm(x, metric).values()`) the values are moved out and returned by
  /// value, so no view can outlive the RDM.
  [[nodiscard]] const vector_type& values() const& noexcept { return m_values; }
  [[nodiscard]] Eigen::Map<vector_type> values() & noexcept {
    return Eigen::Map<vector_type>(m_values.data(), m_values.size());
  }
  [[nodiscard]] vector_type values() && noexcept { return std::move(m_values); }
  [[nodiscard]] vector_type values() const&& { return m_values; }

  /// Dissimilarity of conditions i and j (0 when i == j). Unchecked in release builds.
  [[nodiscard]] Scalar operator()(index_t i, index_t j) const noexcept {
    DNN2BRAIN_ASSERT(i >= 0 && j >= 0 && i < m_conditions && j < m_conditions,
                     "rdm: condition out of range");
    return i == j ? Scalar(0) : m_values[condensed_index_symmetric(m_conditions, i, j)];
  }

  /// status::degenerate_input when some conditions had no usable pattern, else status::success.
  [[nodiscard]] status info() const noexcept {
    return m_degenerate.empty() ? status::success : status::degenerate_input;
  }
  /// Conditions whose pattern was degenerate, in increasing order; their distances are NaN.
  [[nodiscard]] const std::vector<index_t>& degenerate_conditions() const noexcept {
    return m_degenerate;
  }
  /// Records degenerate conditions (kept sorted and unique).
  /// \throws invalid_argument for a condition outside [0, conditions()).
  void set_degenerate_conditions(std::vector<index_t> conditions) {
    for (const index_t c : conditions)
      if (c < 0 || c >= m_conditions)
        detail::throw_invalid_argument(
            "rdm::set_degenerate_conditions",
            detail::concat("expected conditions in [0, ", m_conditions, "), got ", c));
    std::sort(conditions.begin(), conditions.end());
    conditions.erase(std::unique(conditions.begin(), conditions.end()), conditions.end());
    m_degenerate = std::move(conditions);
  }

 private:
  template <typename Derived>
  static index_t checked_conditions(const Eigen::MatrixBase<Derived>& condensed) {
    if (condensed.rows() != 1 && condensed.cols() != 1)
      detail::throw_invalid_argument(
          "rdm", detail::concat("expected a condensed vector, got a ", condensed.rows(), " x ",
                                condensed.cols(), " matrix (use from_square for square RDMs)"));
    return conditions_from_pairs(condensed.size(), "rdm");
  }

  index_t m_conditions = 0;
  vector_type m_values;
  std::vector<index_t> m_degenerate;
};

template <typename Derived>
rdm(const Eigen::MatrixBase<Derived>&) -> rdm<typename Derived::Scalar>;

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_RDM_HPP
