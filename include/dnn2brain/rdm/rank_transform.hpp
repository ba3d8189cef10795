#ifndef DNN2BRAIN_RDM_RANK_TRANSFORM_HPP
#define DNN2BRAIN_RDM_RANK_TRANSFORM_HPP

#include <cmath>
#include <concepts>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/detail/ranks.hpp>

namespace dnn2brain {

namespace detail {

// Ranks values into ranks under a NaN policy; column names the RDM of a stack in messages (-1 for
// none).
template <typename Values, typename Ranks>
void ranks_with_policy(const Values& values, Ranks&& ranks, nan_policy policy,
                       std::vector<Eigen::Index>& order, index_t column, const char* function) {
  using rank_type = std::decay_t<decltype(ranks[0])>;
  if (policy != nan_policy::omit)
    for (index_t k = 0; k < values.size(); ++k)
      if (std::isnan(values[k])) {
        if (policy == nan_policy::propagate) {
          for (index_t j = 0; j < values.size(); ++j)
            ranks[j] = std::numeric_limits<rank_type>::quiet_NaN();
          return;
        }
        throw_invalid_argument(function,
                               concat("expected no NaN (nan_policy::omit keeps NaN entries as NaN "
                                      "and ranks the others), got NaN at entry ",
                                      k, column >= 0 ? concat(" of RDM ", column) : std::string()));
      }
  average_ranks(values, ranks, order);
}

}  // namespace detail

/// \brief Average ranks of the entries of a vector, 1 … m, ties sharing the mean of their positions
/// (scipy.stats.rankdata(v), method 'average'). O(m log m).
///
/// ±Inf are ranked as values. NaN: nan_policy::raise (default) throws naming the entry; omit keeps
/// NaN entries NaN and ranks the others among themselves (rankdata's nan_policy='omit'); propagate
/// gives all NaN (rankdata's default).
/// \return m ranks in double (exact: half-integers).
/// \throws invalid_argument if v is not a vector, or for NaN under raise.
template <floating_eigen Derived>
[[nodiscard]] Eigen::VectorXd rank_transform(const Eigen::MatrixBase<Derived>& v,
                                             nan_policy policy = nan_policy::raise) {
  if (v.rows() != 1 && v.cols() != 1)
    detail::throw_invalid_argument(
        "rank_transform", detail::concat("expected a vector, got a ", v.rows(), " x ", v.cols(),
                                         " matrix (an rdm_stack ranks its columns)"));
  const Eigen::VectorXd values = v.template cast<double>().reshaped();
  Eigen::VectorXd ranks(values.size());
  std::vector<Eigen::Index> order;
  detail::ranks_with_policy(values, ranks, policy, order, -1, "rank_transform");
  return ranks;
}

/// rank_transform() of a 1-D xtensor array.
template <floating_xexpression E>
[[nodiscard]] Eigen::VectorXd rank_transform(const xt::xexpression<E>& v,
                                             nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename E::value_type> view(v, "rank_transform");
  return rank_transform(view.matrix(), policy);
}

/// \brief The RDM of the average ranks of r's entries (see the vector form): same conditions and
/// degenerate conditions, scalar type kept. A float RDM holds the half-integer ranks exactly up to
/// 2²³ pairs (4097 conditions).
template <std::floating_point S>
[[nodiscard]] rdm<S> rank_transform(const rdm<S>& r, nan_policy policy = nan_policy::raise) {
  rdm<S> out = r;
  std::vector<Eigen::Index> order;
  detail::ranks_with_policy(r.values(), out.values(), policy, order, -1, "rank_transform");
  return out;
}

/// \brief Every RDM of a stack replaced by its average ranks, column by column (see the vector
/// form; a NaN under raise is reported with its RDM). Parallel over RDMs.
template <std::floating_point S>
[[nodiscard]] rdm_stack<S> rank_transform(const rdm_stack<S>& stack,
                                          nan_policy policy = nan_policy::raise) {
  rdm_stack<S> out = stack;
  auto values = out.values();
  detail::parallel_error errors;
  const index_t count = stack.size();
  DNN2BRAIN_OMP(parallel if (count > 1 && count * stack.pairs() > (index_t(1) << 16)))
  {
    std::vector<Eigen::Index> order;
    DNN2BRAIN_OMP(for schedule(static))
    for (index_t t = 0; t < count; ++t)
      errors.run(t, [&] {
        auto column = values.col(t);
        detail::ranks_with_policy(column, column, policy, order, t, "rank_transform");
      });
  }
  errors.rethrow();
  return out;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_RDM_RANK_TRANSFORM_HPP
