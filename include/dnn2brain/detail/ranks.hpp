#ifndef DNN2BRAIN_DETAIL_RANKS_HPP
#define DNN2BRAIN_DETAIL_RANKS_HPP
// IWYU pragma: private

#include <algorithm>
#include <numeric>
#include <vector>

#include <Eigen/Core>

namespace dnn2brain::detail {

/// Writes the average ranks (1-based; tied values share the mean of their positions, scipy's
/// rankdata 'average') of values[0..n) into ranks[0..n). order is scratch space, resized here.
/// Values must not be NaN. O(n log n).
template <typename Values, typename Ranks>
void average_ranks(const Values& values, Ranks&& ranks, std::vector<Eigen::Index>& order) {
  const auto n = static_cast<Eigen::Index>(values.size());
  order.resize(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::sort(order.begin(), order.end(),
            [&](Eigen::Index a, Eigen::Index b) { return values[a] < values[b]; });
  for (Eigen::Index start = 0; start < n;) {
    Eigen::Index stop = start + 1;
    const auto v = values[order[static_cast<std::size_t>(start)]];
    while (stop < n && values[order[static_cast<std::size_t>(stop)]] == v) ++stop;
    // Positions start..stop-1 (0-based) share the rank (start + 1 + stop) / 2 (1-based mean).
    const double rank = 0.5 * static_cast<double>(start + 1 + stop);
    for (Eigen::Index k = start; k < stop; ++k)
      ranks[order[static_cast<std::size_t>(k)]] =
          static_cast<std::decay_t<decltype(ranks[0])>>(rank);
    start = stop;
  }
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_RANKS_HPP
