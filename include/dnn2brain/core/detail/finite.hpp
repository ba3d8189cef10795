#ifndef DNN2BRAIN_CORE_DETAIL_FINITE_HPP
#define DNN2BRAIN_CORE_DETAIL_FINITE_HPP
// IWYU pragma: private

#include <cmath>
#include <string>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>

namespace dnn2brain::detail {

/// \brief Throws invalid_argument naming the first non-finite entry of x (in column-major order):
/// "dnn2brain::<function>: expected finite <what>, got <value> at <where(i, j)>". Costs one
/// allFinite() pass when everything is finite; where(i, j) runs only on the error path.
template <typename Derived, typename Where>
void require_finite(const Eigen::MatrixBase<Derived>& x, const char* function, const char* what,
                    Where&& where) {
  if (x.allFinite()) return;
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      if (const auto v = static_cast<double>(x(i, j)); !std::isfinite(v))
        throw_invalid_argument(function,
                               concat("expected finite ", what, ", got ", v, " at ", where(i, j)));
}

/// "pair k (conditions i, j)" for entry k of a condensed RDM of `pairs` entries ("pair k" when
/// pairs is not n(n − 1)/2).
[[nodiscard]] inline std::string pair_name(index_t pairs, index_t k) {
  std::string name = concat("pair ", k);
  if (const index_t n = condensed_conditions(pairs); n > 0) {
    const auto [i, j] = condensed_pair(n, k);
    name += concat(" (conditions ", i, ", ", j, ")");
  }
  return name;
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_CORE_DETAIL_FINITE_HPP
