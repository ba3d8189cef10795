#ifndef DNN2BRAIN_COMPARE_COMPARE_HPP
#define DNN2BRAIN_COMPARE_COMPARE_HPP

#include <cmath>
#include <concepts>
#include <limits>
#include <optional>
#include <utility>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>

namespace dnn2brain {

/// \brief An RDM comparison policy (dnn2brain::measure::pearson, spearman, cosine, kendall_tau_a,
/// kendall_tau_b): a name and a prepared form that holds what depends on the model only and scores
/// a target of the same length without NaN.
///
/// The prepared form comes from `m.prepare(model)` when the measure has such a member (a measure
/// with parameters: the object passed to compare() is the one used), else from the nested type
/// `M::prepared(model)`. Copies of a prepared object are independent (each carries its own
/// scratch), so one copy per thread compares in parallel.
template <typename M>
concept rdm_measure = std::copy_constructible<M> && requires {
  { M::name } -> std::convertible_to<const char*>;
} &&(
    requires(const M& m, const Eigen::VectorXd& v) {
      { m.prepare(v)(v) } -> std::convertible_to<double>;
    } ||
    requires(const Eigen::VectorXd& v) {
      { typename M::prepared(v)(v) } -> std::convertible_to<double>;
    });

namespace detail {
/// The measure's prepared form of a model (see rdm_measure).
template <rdm_measure Measure>
[[nodiscard]] auto prepare(const Measure& measure, const Eigen::VectorXd& model) {
  if constexpr (requires { measure.prepare(model); })
    return measure.prepare(model);
  else
    return typename Measure::prepared(model);
}
template <typename Measure>
using prepared_t =
    decltype(prepare(std::declval<const Measure&>(), std::declval<const Eigen::VectorXd&>()));
}  // namespace detail

namespace detail {
// Measures whose prepared scorer reads raw columns and turns NaN/Inf into a NaN score.
template <typename M>
concept propagates_nan = requires {
  requires M::propagates_nan;
};
}  // namespace detail

namespace detail {

// Where a vector of condensed entries is not finite: throws for Inf (never a valid dissimilarity)
// and for NaN under nan_policy::raise; returns whether NaN is present otherwise.
template <typename Derived>
bool check_entries(const Eigen::MatrixBase<Derived>& v, nan_policy policy, const char* what,
                   Eigen::Index column, const char* function) {
  if (v.allFinite()) return false;
  const Eigen::Index m = v.size();
  for (Eigen::Index k = 0; k < m; ++k) {
    const double x = static_cast<double>(v(k));
    if (std::isfinite(x) || (std::isnan(x) && policy != nan_policy::raise)) continue;
    std::string where = concat("entry ", k);
    if (const index_t n = condensed_conditions(m); n > 0) {
      const auto [i, j] = condensed_pair(n, k);
      where += concat(" (conditions ", i, ", ", j, ")");
    }
    if (column >= 0) where += concat(" of column ", column);
    throw_invalid_argument(function,
                           concat("expected ",
                                  std::isnan(x) ? "RDM entries without NaN (nan_policy::omit "
                                                  "leaves such pairs out)"
                                                : "finite RDM entries",
                                  ", got ", x, " in the ", what, " at ", where));
  }
  return true;
}

// Score of a against b where either may hold NaN, under omit: only the pairs where both are
// defined take part; fewer than 2 such pairs give NaN.
template <rdm_measure Measure>
double compare_omitting(const Measure& measure, const Eigen::VectorXd& a, const Eigen::VectorXd& b,
                        Eigen::VectorXd& a_kept, Eigen::VectorXd& b_kept) {
  a_kept.resize(a.size());
  b_kept.resize(b.size());
  Eigen::Index kept = 0;
  for (Eigen::Index k = 0; k < a.size(); ++k)
    if (!std::isnan(a[k]) && !std::isnan(b[k])) {
      a_kept[kept] = a[k];
      b_kept[kept] = b[k];
      ++kept;
    }
  if (kept < 2) return std::numeric_limits<double>::quiet_NaN();
  a_kept.conservativeResize(kept);
  b_kept.conservativeResize(kept);
  return detail::prepare(measure, a_kept)(b_kept);
}

}  // namespace detail

namespace detail {

template <typename Measure, typename Model, typename Targets>
Eigen::VectorXd compare_columns(const Eigen::MatrixBase<Model>& model,
                                const Eigen::MatrixBase<Targets>& targets, const Measure& measure,
                                nan_policy policy, const char* function) {
  const Eigen::Index m = model.size();
  if ((model.rows() != 1 && model.cols() != 1) || m < 2 || targets.rows() != m)
    throw_invalid_argument(
        function, concat("expected a model vector of m >= 2 entries and targets with m "
                         "rows, got a ",
                         model.rows(), " x ", model.cols(), " model and ", targets.rows(), " x ",
                         targets.cols(), " targets"));
  const Eigen::VectorXd a = model.template cast<double>().reshaped();
  const bool model_nan = check_entries(a, policy, "model", -1, function);
  using prepared = prepared_t<Measure>;
  std::optional<prepared> shared;
  if (!model_nan) shared.emplace(detail::prepare(measure, a));

  const Eigen::Index count = targets.cols();
  Eigen::VectorXd scores(count);
  parallel_error error;
  // Threads only for enough work: waking a team costs more than scoring a few thousand pairs.
  DNN2BRAIN_OMP(parallel if (count > 1 && count * m > (Eigen::Index(1) << 17)))
  {
    std::optional<prepared> local;  // this thread's copy, made on first use
    Eigen::VectorXd b, a_kept, b_kept;
    DNN2BRAIN_OMP(for schedule(static))
    for (Eigen::Index t = 0; t < count; ++t)
      error.run(t, [&] {
        if (shared && !local) local.emplace(*shared);
        const Eigen::Index column = count > 1 ? t : -1;
        if constexpr (propagates_nan<Measure>) {
          // One pass over the raw column; its entries are inspected only if the score is NaN.
          if (!model_nan) {
            scores[t] = (*local)(targets.col(t));
            if (!std::isnan(scores[t]) ||
                !check_entries(targets.col(t), policy, "target", column, function))
              return;
          }
        }
        b = targets.col(t).template cast<double>();
        const bool target_nan = check_entries(b, policy, "target", column, function);
        if (!model_nan && !target_nan)
          scores[t] = (*local)(b);
        else if (policy == nan_policy::omit)
          scores[t] = compare_omitting(measure, a, b, a_kept, b_kept);
        else
          scores[t] = std::numeric_limits<double>::quiet_NaN();
      });
  }
  error.rethrow();
  return scores;
}

}  // namespace detail

/// \brief One model RDM against many target RDMs: the columns of targets (m pairs × T).
///
/// The model is prepared once (centred and scaled, ranked, or sorted) and every target costs one
/// pass over its m entries (O(m log m) for rank-based measures), in parallel over targets.
/// \param policy what NaN entries do: raise (default) throws naming the entry, omit leaves the
///        pair out of that comparison, propagate gives NaN for the comparison.
/// \return T scores in double. A constant RDM gives NaN (its correlation is undefined).
/// \throws invalid_argument if sizes differ, m < 2, an entry is Inf, or NaN under raise.
template <rdm_measure Measure = measure::pearson, floating_eigen Model, floating_eigen Targets>
[[nodiscard]] Eigen::VectorXd compare_columns(const Eigen::MatrixBase<Model>& model,
                                              const Eigen::MatrixBase<Targets>& targets,
                                              const Measure& measure = {},
                                              nan_policy policy = nan_policy::raise) {
  return detail::compare_columns(model, targets, measure, policy, "compare_columns");
}

/// compare_columns() of xtensor arrays: a 1-D model of m entries and targets of shape (m, T)
/// (1-D: one target).
template <rdm_measure Measure = measure::pearson, floating_xexpression Model,
          floating_xexpression Targets>
[[nodiscard]] Eigen::VectorXd compare_columns(const xt::xexpression<Model>& model,
                                              const xt::xexpression<Targets>& targets,
                                              const Measure& measure = {},
                                              nan_policy policy = nan_policy::raise) {
  constexpr const char* function = "compare_columns";
  const xtensor_matrix<typename Model::value_type> a(model, function);
  const xtensor_matrix<typename Targets::value_type> b(targets, function);
  return detail::compare_columns(a.matrix(), b.matrix(), measure, policy, function);
}

/// \brief Similarity of two condensed RDM vectors (or any two vectors of equal length m >= 2) under
/// a measure; see compare_columns() for the NaN policy.
template <rdm_measure Measure = measure::pearson, floating_eigen A, floating_eigen B>
[[nodiscard]] double compare_vectors(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b,
                                     const Measure& measure = {},
                                     nan_policy policy = nan_policy::raise) {
  if (b.rows() != 1 && b.cols() != 1)
    detail::throw_invalid_argument(
        "compare_vectors", detail::concat("expected two vectors, got a ", b.rows(), " x ", b.cols(),
                                          " matrix as the second"));
  if (a.size() != b.size())
    detail::throw_invalid_argument(
        "compare_vectors",
        detail::concat("expected vectors of equal length, got ", a.size(), " and ", b.size()));
  return detail::compare_columns(a, b.reshaped(), measure, policy, "compare_vectors")[0];
}

/// compare_vectors() of two 1-D xtensor arrays.
template <rdm_measure Measure = measure::pearson, floating_xexpression A, floating_xexpression B>
[[nodiscard]] double compare_vectors(const xt::xexpression<A>& a, const xt::xexpression<B>& b,
                                     const Measure& measure = {},
                                     nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename A::value_type> x(a, "compare_vectors");
  const xtensor_matrix<typename B::value_type> y(b, "compare_vectors");
  return compare_vectors(x.matrix(), y.matrix(), measure, policy);
}

/// Similarity of two RDMs of the same conditions.
/// \throws invalid_argument if their condition counts differ (and see compare_columns()).
template <rdm_measure Measure = measure::pearson, std::floating_point S1, std::floating_point S2>
[[nodiscard]] double compare(const rdm<S1>& a, const rdm<S2>& b, const Measure& measure = {},
                             nan_policy policy = nan_policy::raise) {
  if (a.conditions() != b.conditions())
    detail::throw_invalid_argument(
        "compare", detail::concat("expected RDMs of the same conditions, got ", a.conditions(),
                                  " and ", b.conditions(), " conditions"));
  return detail::compare_columns(a.values(), b.values(), measure, policy, "compare")[0];
}

/// One model RDM against every RDM of a stack (subjects, searchlights, layers): one score each.
template <rdm_measure Measure = measure::pearson, std::floating_point S1, std::floating_point S2>
[[nodiscard]] Eigen::VectorXd compare(const rdm<S1>& model, const rdm_stack<S2>& targets,
                                      const Measure& measure = {},
                                      nan_policy policy = nan_policy::raise) {
  if (model.conditions() != targets.conditions())
    detail::throw_invalid_argument(
        "compare", detail::concat("expected a model over the stack's ", targets.conditions(),
                                  " conditions, got ", model.conditions()));
  return detail::compare_columns(model.values(), targets.values(), measure, policy, "compare");
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_COMPARE_COMPARE_HPP
