#ifndef DNN2BRAIN_CORE_CONDENSED_HPP
#define DNN2BRAIN_CORE_CONDENSED_HPP

#include <cmath>
#include <utility>

#include <Eigen/Core>

#include <dnn2brain/core/error.hpp>

namespace dnn2brain {

/// Index type of every dnn2brain container (Eigen's signed index).
using index_t = Eigen::Index;

/// Number of entries of the condensed form of an n × n RDM: n(n − 1)/2.
[[nodiscard]] constexpr index_t condensed_size(index_t n) noexcept {
  return n * (n - 1) / 2;
}

/// Position of pair (i, j), i < j, in a condensed RDM of n conditions: n·i − i(i + 1)/2 + j − i
/// − 1. This is the row-major strict upper triangle, the order of scipy's pdist/squareform and of
/// numpy's triu_indices(n, 1). Precondition (unchecked): 0 <= i < j < n.
[[nodiscard]] constexpr index_t condensed_index(index_t n, index_t i, index_t j) noexcept {
  return n * i - i * (i + 1) / 2 + (j - i - 1);
}

/// condensed_index() for any i != j, either order.
[[nodiscard]] constexpr index_t condensed_index_symmetric(index_t n, index_t i,
                                                          index_t j) noexcept {
  return i < j ? condensed_index(n, i, j) : condensed_index(n, j, i);
}

/// Number of conditions n >= 2 with n(n − 1)/2 == pairs, or 0 when there is none.
[[nodiscard]] inline index_t condensed_conditions(index_t pairs) noexcept {
  if (pairs < 1) return 0;
  const auto n = static_cast<index_t>(
      std::llround((1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(pairs))) / 2.0));
  return condensed_size(n) == pairs ? n : 0;
}

/// Number of conditions n with n(n − 1)/2 == pairs.
/// \throws invalid_argument when pairs is not such a number (or is 0: an RDM needs 2 conditions).
[[nodiscard]] inline index_t conditions_from_pairs(index_t pairs, const char* function) {
  const index_t n = condensed_conditions(pairs);
  if (n == 0)
    detail::throw_invalid_argument(
        function, detail::concat("expected a condensed RDM of n(n-1)/2 entries with n >= 2, got ",
                                 pairs, " entries"));
  return n;
}

/// The pair (i, j), i < j, stored at position k of a condensed RDM of n conditions.
[[nodiscard]] inline std::pair<index_t, index_t> condensed_pair(index_t n, index_t k) noexcept {
  // Row i starts at condensed_index(n, i, i + 1); invert the quadratic, then fix rounding.
  const double b = 2.0 * static_cast<double>(n) - 1.0;
  auto i = static_cast<index_t>((b - std::sqrt(b * b - 8.0 * static_cast<double>(k))) / 2.0);
  while (i > 0 && condensed_index(n, i, i + 1) > k) --i;
  while (i + 2 < n && condensed_index(n, i + 1, i + 2) <= k) ++i;
  return {i, k - condensed_index(n, i, i + 1) + i + 1};
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_CONDENSED_HPP
