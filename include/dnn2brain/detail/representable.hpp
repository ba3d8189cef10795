#ifndef DNN2BRAIN_DETAIL_REPRESENTABLE_HPP
#define DNN2BRAIN_DETAIL_REPRESENTABLE_HPP
// IWYU pragma: private

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace dnn2brain::detail {

/// Whether the value v converts to T without loss, the rule of the file readers: bool and
/// floating-point targets accept everything (nonzero is true; narrowing to float only rounds);
/// integer targets accept integers in range and integral floating values in range.
template <typename T, typename S>
[[nodiscard]] bool representable(S v) noexcept {
  if constexpr (std::is_same_v<T, bool> || std::is_floating_point_v<T> || std::is_same_v<S, bool>) {
    return true;
  } else if constexpr (std::is_integral_v<S>) {
    return std::in_range<T>(v);
  } else {
    // [-2^digits, 2^digits) for signed T, [0, 2^digits) for unsigned: both bounds are exact
    // doubles, unlike numeric_limits<int64_t>::max().
    const double bound = std::ldexp(1.0, std::numeric_limits<T>::digits);
    return std::trunc(v) == v && v < bound && v >= (std::is_signed_v<T> ? -bound : 0.0);
  }
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_REPRESENTABLE_HPP
