#ifndef DNN2BRAIN_DETAIL_RANKS_HPP
#define DNN2BRAIN_DETAIL_RANKS_HPP
// IWYU pragma: private

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

namespace dnn2brain::detail {

/// Writes the average ranks (1-based; tied values share the mean of their positions, scipy's
/// rankdata 'average') of values[0..n) into ranks[0..n). A NaN value gets a NaN rank and the others
/// are ranked among themselves (rankdata's nan_policy='omit'); ±Inf are ranked as values. order is
/// scratch space, resized here. ranks may be values itself. O(n log n).
template <typename Values, typename Ranks>
void average_ranks(const Values& values, Ranks&& ranks, std::vector<Eigen::Index>& order) {
  using rank_type = std::decay_t<decltype(ranks[0])>;
  const auto n = static_cast<Eigen::Index>(values.size());
  order.clear();
  order.reserve(static_cast<std::size_t>(n));
  for (Eigen::Index k = 0; k < n; ++k)
    if (!std::isnan(values[k])) order.push_back(k);
  std::sort(order.begin(), order.end(),
            [&](Eigen::Index a, Eigen::Index b) { return values[a] < values[b]; });
  if (static_cast<Eigen::Index>(order.size()) < n)
    for (Eigen::Index k = 0; k < n; ++k)
      if (std::isnan(values[k])) ranks[k] = std::numeric_limits<rank_type>::quiet_NaN();
  // A group's values are read before its ranks are written, and later groups' entries are still
  // unwritten, so ranks may alias values.
  const auto kept = static_cast<Eigen::Index>(order.size());
  for (Eigen::Index start = 0; start < kept;) {
    Eigen::Index stop = start + 1;
    const auto v = values[order[static_cast<std::size_t>(start)]];
    while (stop < kept && values[order[static_cast<std::size_t>(stop)]] == v) ++stop;
    // Positions start..stop-1 (0-based) share the rank (start + 1 + stop) / 2 (1-based mean).
    const double rank = 0.5 * static_cast<double>(start + 1 + stop);
    for (Eigen::Index k = start; k < stop; ++k)
      ranks[order[static_cast<std::size_t>(k)]] = static_cast<rank_type>(rank);
    start = stop;
  }
}

/// Replaces the entries of v by their average ranks (see average_ranks).
// Taken by forwarding reference: a writable Eigen::Ref (or vector, or block) is written through.
template <typename Vector>
void rank_in_place(Vector&& v, std::vector<Eigen::Index>& order) {
  average_ranks(v, v, order);
}
template <typename Vector>
void rank_in_place(Vector&& v) {
  std::vector<Eigen::Index> order;
  average_ranks(v, v, order);
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_RANKS_HPP
