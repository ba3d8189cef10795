#ifndef DNN2BRAIN_RDM_CONDITION_MAP_HPP
#define DNN2BRAIN_RDM_CONDITION_MAP_HPP

#include <algorithm>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>

namespace dnn2brain {

namespace detail {

/// What source_pairs() does with a pair of two copies of one condition (a resample), whose
/// dissimilarity was never measured.
enum class repeated_pair { mark, drop };

/// \brief The source pair of every pair of `conditions` (pair (k, l), k < l, of the positions, in
/// pdist order): the pair (conditions[k], conditions[l]) of an RDM of n conditions. A pair of
/// two copies of one condition is −1 (mark) or left out (drop). Writes into out, which has room
/// for every pair, and returns the number written: the one map behind condition_map, the
/// permutation tests and the bootstraps. Preconditions (unchecked): conditions in [0, n).
inline std::size_t source_pairs(index_t n, std::span<const index_t> conditions,
                                repeated_pair repeated, std::span<index_t> out) {
  // Pair (a, b), a < b, sits at row[a] + b: a table lookup instead of two multiplications per pair
  // (10,000 permutations of 50 conditions map 12 M pairs). One table per thread, rebuilt when n
  // changes.
  thread_local std::vector<index_t> row;
  if (static_cast<index_t>(row.size()) != n) {
    row.resize(static_cast<std::size_t>(n));
    for (index_t a = 0; a < n; ++a)
      row[static_cast<std::size_t>(a)] = condensed_index(n, a, a + 1) - (a + 1);
  }
  std::size_t written = 0;
  for (std::size_t k = 0; k < conditions.size(); ++k) {
    const index_t a = conditions[k];
    for (std::size_t l = k + 1; l < conditions.size(); ++l) {
      const index_t b = conditions[l];
      if (a != b)
        out[written++] =
            a < b ? row[static_cast<std::size_t>(a)] + b : row[static_cast<std::size_t>(b)] + a;
      else if (repeated == repeated_pair::mark)
        out[written++] = -1;
    }
  }
  return written;
}

}  // namespace detail

/// \brief A selection or reordering of the conditions of RDMs, built once and applied as a gather.
///
/// Condition k of the result is condition conditions[k] of the source, so the result's entry for
/// pair (k, l) is the source's entry for (conditions[k], conditions[l]). One map serves any number
/// of RDMs and stacks over the same conditions: permutation tests and bootstraps build one map per
/// sample and gather every target through it.
///
/// Conditions may repeat (a bootstrap resample). A pair of two copies of the same condition has no
/// measured dissimilarity; its entry is NaN, to be left out by nan_policy::omit.
class condition_map {
 public:
  /// \param source_conditions n, the condition count of the RDMs the map applies to.
  /// \param conditions the selected source conditions, at least 2, each in [0, n).
  /// \throws invalid_argument otherwise.
  condition_map(index_t source_conditions, std::span<const index_t> conditions)
      : m_source_conditions(source_conditions), m_selected(conditions.begin(), conditions.end()) {
    constexpr const char* function = "condition_map";
    const auto m = static_cast<index_t>(conditions.size());
    if (source_conditions < 2 || m < 2)
      detail::throw_invalid_argument(
          function, detail::concat("expected at least 2 source conditions and 2 selected, got ",
                                   source_conditions, " and ", m));
    for (index_t k = 0; k < m; ++k) {
      const index_t c = conditions[static_cast<std::size_t>(k)];
      if (c < 0 || c >= source_conditions)
        detail::throw_invalid_argument(
            function, detail::concat("expected conditions in [0, ", source_conditions, "), got ", c,
                                     " at position ", k));
    }
    m_sources.resize(static_cast<std::size_t>(condensed_size(m)));
    detail::source_pairs(source_conditions, m_selected, detail::repeated_pair::mark, m_sources);
  }

  /// A map that reorders all n conditions: permutation[k] is the source of condition k.
  /// \throws invalid_argument unless permutation holds each of 0..n−1 exactly once.
  [[nodiscard]] static condition_map permutation(std::span<const index_t> permutation) {
    const auto n = static_cast<index_t>(permutation.size());
    std::vector<bool> seen(permutation.size(), false);
    for (index_t k = 0; k < n; ++k) {
      const index_t c = permutation[static_cast<std::size_t>(k)];
      if (c < 0 || c >= n || seen[static_cast<std::size_t>(c)])
        detail::throw_invalid_argument(
            "condition_map::permutation",
            detail::concat("expected a permutation of 0..", n - 1, ", got ", c, " at position ", k,
                           (c >= 0 && c < n ? " (repeated)" : " (out of range)")));
      seen[static_cast<std::size_t>(c)] = true;
    }
    return condition_map(n, permutation);
  }

  [[nodiscard]] index_t source_conditions() const noexcept { return m_source_conditions; }
  [[nodiscard]] index_t conditions() const noexcept {
    return static_cast<index_t>(m_selected.size());
  }
  [[nodiscard]] index_t pairs() const noexcept { return static_cast<index_t>(m_sources.size()); }
  /// For each result pair, the source pair it is gathered from, or −1 (two copies of a condition).
  [[nodiscard]] const std::vector<index_t>& sources() const noexcept { return m_sources; }

  /// Gathers the pairs of each column of source (source pairs × k) into out (pairs() × k); out may
  /// be a block or Map (written through, as Eigen's own *_into functions do).
  /// \throws invalid_argument on mismatched shapes.
  template <typename In, typename Out>
  void apply_into(const Eigen::MatrixBase<In>& source, const Eigen::MatrixBase<Out>& out_) const {
    using Scalar = typename Out::Scalar;
    auto& out = const_cast<Eigen::MatrixBase<Out>&>(out_).derived();
    if (source.rows() != condensed_size(m_source_conditions) || out.rows() != pairs() ||
        out.cols() != source.cols())
      detail::throw_invalid_argument(
          "condition_map::apply_into",
          detail::concat("expected source ", condensed_size(m_source_conditions), " x k and out ",
                         pairs(), " x k, got ", source.rows(), " x ", source.cols(), " and ",
                         out.rows(), " x ", out.cols()));
    for (index_t col = 0; col < source.cols(); ++col)
      for (index_t k = 0; k < pairs(); ++k) {
        const index_t s = m_sources[static_cast<std::size_t>(k)];
        out(k, col) =
            s < 0 ? std::numeric_limits<Scalar>::quiet_NaN() : static_cast<Scalar>(source(s, col));
      }
  }

  /// The RDM over the selected conditions. Degenerate source conditions stay flagged.
  template <std::floating_point Scalar>
  [[nodiscard]] rdm<Scalar> apply(const rdm<Scalar>& source) const {
    check_source(source.conditions(), "condition_map::apply");
    rdm<Scalar> result(conditions());
    apply_into(source.values(), result.values());
    std::vector<index_t> degenerate;
    const auto& flagged = source.degenerate_conditions();
    for (index_t k = 0; k < conditions(); ++k)
      if (std::binary_search(flagged.begin(), flagged.end(),
                             m_selected[static_cast<std::size_t>(k)]))
        degenerate.push_back(k);
    result.set_degenerate_conditions(std::move(degenerate));
    return result;
  }

  /// The stack of RDMs over the selected conditions.
  template <std::floating_point Scalar>
  [[nodiscard]] rdm_stack<Scalar> apply(const rdm_stack<Scalar>& source) const {
    check_source(source.conditions(), "condition_map::apply");
    rdm_stack<Scalar> result(conditions(), source.size());
    apply_into(source.values(), result.values());
    return result;
  }

 private:
  void check_source(index_t n, const char* function) const {
    if (n != m_source_conditions)
      detail::throw_invalid_argument(
          function,
          detail::concat("expected RDMs of ", m_source_conditions, " conditions, got ", n));
  }

  index_t m_source_conditions;
  std::vector<index_t> m_selected;
  std::vector<index_t> m_sources;
};

/// RDM over a subset (or resample) of its conditions; see condition_map.
template <std::floating_point Scalar>
[[nodiscard]] rdm<Scalar> subset(const rdm<Scalar>& source, std::span<const index_t> conditions) {
  return condition_map(source.conditions(), conditions).apply(source);
}

/// RDM with its conditions reordered: condition k of the result is permutation[k] of the source.
template <std::floating_point Scalar>
[[nodiscard]] rdm<Scalar> permute(const rdm<Scalar>& source, std::span<const index_t> permutation) {
  if (static_cast<index_t>(permutation.size()) != source.conditions())
    detail::throw_invalid_argument(
        "permute", detail::concat("expected a permutation of ", source.conditions(),
                                  " conditions, got ", permutation.size(), " entries"));
  return condition_map::permutation(permutation).apply(source);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_RDM_CONDITION_MAP_HPP
