#ifndef DNN2BRAIN_STATS_TTEST_HPP
#define DNN2BRAIN_STATS_TTEST_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>

#include <Eigen/Core>
#include <boost/math/distributions/students_t.hpp>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>

namespace dnn2brain {

/// The alternative hypothesis of a test.
enum class alternative {
  two_sided,  ///< the mean (difference) differs from the null value
  greater,    ///< it is greater
  less,       ///< it is smaller
};

/// \brief t-tests of many tests at once (one per column: a searchlight, a model, a model pair).
struct ttest_result {
  Eigen::VectorXd statistic;  ///< t
  Eigen::VectorXd dof;        ///< degrees of freedom (fractional for Welch)
  Eigen::VectorXd p_value;
  Eigen::VectorXd estimate;  ///< mean, mean difference, or difference of means
  Eigen::VectorXd sem;       ///< standard error of the estimate
};

/// \brief p-value of a Student-t statistic t with dof degrees of freedom (Boost.Math tails, each
/// computed directly rather than as 1 − cdf, so small p-values keep their relative accuracy).
/// t = ±∞ (zero spread, non-zero effect) gives 0 or 1; NaN gives NaN.
[[nodiscard]] inline double student_t_p_value(double t, double dof, alternative alt) {
  if (std::isnan(t) || std::isnan(dof)) return std::numeric_limits<double>::quiet_NaN();
  const auto upper = [dof](double x) {  // P(T > x)
    if (std::isinf(x)) return x > 0 ? 0.0 : 1.0;
    const boost::math::students_t_distribution<double> dist(dof);
    return x >= 0 ? boost::math::cdf(boost::math::complement(dist, x)) : boost::math::cdf(dist, -x);
  };
  switch (alt) {
    case alternative::greater:
      return upper(t);
    case alternative::less:
      return upper(-t);
    default:
      return std::min(1.0, 2.0 * upper(std::abs(t)));
  }
}

namespace detail {

// Mean and unbiased variance of the finite entries of column j (or of all, under raise, after
// the check), by a two-pass sum; n is the count used.
struct column_moments {
  double mean = 0.0, variance = 0.0;
  index_t n = 0;
};

template <typename Derived>
column_moments moments_of(const Eigen::MatrixBase<Derived>& x, index_t j, nan_policy policy,
                          const char* function, const char* what) {
  column_moments c;
  double sum = 0.0;
  bool has_nan = false;
  for (index_t i = 0; i < x.rows(); ++i) {
    const auto v = static_cast<double>(x(i, j));
    if (std::isnan(v)) {
      if (policy == nan_policy::raise)
        throw_invalid_argument(function,
                               concat("expected no NaN (nan_policy::omit leaves them out), got "
                                      "NaN at sample ",
                                      i, " of test ", j, " in ", what));
      has_nan = true;
      continue;
    }
    if (std::isinf(v))
      throw_invalid_argument(function, concat("expected finite samples, got ", v, " at sample ", i,
                                              " of test ", j, " in ", what));
    sum += v;
    ++c.n;
  }
  if (has_nan && policy == nan_policy::propagate) {
    c.mean = c.variance = std::numeric_limits<double>::quiet_NaN();
    return c;
  }
  c.mean = c.n > 0 ? sum / static_cast<double>(c.n) : std::numeric_limits<double>::quiet_NaN();
  double squares = 0.0;
  for (index_t i = 0; i < x.rows(); ++i) {
    const auto v = static_cast<double>(x(i, j));
    if (!std::isnan(v)) squares += (v - c.mean) * (v - c.mean);
  }
  c.variance =
      c.n > 1 ? squares / static_cast<double>(c.n - 1) : std::numeric_limits<double>::quiet_NaN();
  return c;
}

inline void check_samples(index_t rows, const char* function, const char* what) {
  if (rows < 2)
    throw_invalid_argument(
        function, concat("expected at least 2 samples (subjects) in ", what, ", got ", rows));
}

inline void set_t(ttest_result& r, index_t j, double estimate, double sem, double dof,
                  alternative alt) {
  r.estimate[j] = estimate;
  r.sem[j] = sem;
  r.dof[j] = dof;
  // Zero spread: ±∞ for a non-zero effect, NaN (0/0) for none, as scipy.
  r.statistic[j] = estimate / sem;
  r.p_value[j] = student_t_p_value(r.statistic[j], dof, alt);
}

inline ttest_result make_ttest_result(index_t tests) {
  ttest_result r;
  for (Eigen::VectorXd* v : {&r.statistic, &r.dof, &r.p_value, &r.estimate, &r.sem})
    v->resize(tests);
  return r;
}

}  // namespace detail

/// \brief One-sample t-test of every column of samples (samples × tests, e.g. subjects ×
/// searchlights) against null_value. Matches scipy.stats.ttest_1samp.
///
/// NaN: nan_policy::raise (default) throws naming sample and test; omit leaves NaN samples out of
/// their test (fewer than 2 left gives NaN); propagate gives NaN for a test with any NaN. Inf is
/// always an error. \throws invalid_argument for fewer than 2 samples.
template <floating_eigen Derived>
[[nodiscard]] ttest_result ttest_one_sample(const Eigen::MatrixBase<Derived>& samples,
                                            double null_value = 0.0,
                                            alternative alt = alternative::two_sided,
                                            nan_policy policy = nan_policy::raise) {
  detail::check_samples(samples.rows(), "ttest_one_sample", "samples");
  ttest_result r = detail::make_ttest_result(samples.cols());
  for (index_t j = 0; j < samples.cols(); ++j) {
    const auto c = detail::moments_of(samples, j, policy, "ttest_one_sample", "samples");
    const double n = static_cast<double>(c.n);
    detail::set_t(r, j, c.mean - null_value, std::sqrt(c.variance / n), n - 1.0, alt);
    if (c.n < 2) r.statistic[j] = r.p_value[j] = std::numeric_limits<double>::quiet_NaN();
  }
  return r;
}

/// \brief Paired t-test of a − b, column by column (e.g. two models' scores of the same
/// subjects): the one-sample test of the differences. Matches scipy.stats.ttest_rel.
/// \throws invalid_argument if the shapes differ.
template <floating_eigen DerivedA, floating_eigen DerivedB>
[[nodiscard]] ttest_result ttest_paired(const Eigen::MatrixBase<DerivedA>& a,
                                        const Eigen::MatrixBase<DerivedB>& b,
                                        alternative alt = alternative::two_sided,
                                        nan_policy policy = nan_policy::raise) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    detail::throw_invalid_argument(
        "ttest_paired", detail::concat("expected a and b of the same shape, got ", a.rows(), " × ",
                                       a.cols(), " and ", b.rows(), " × ", b.cols()));
  const Eigen::MatrixXd difference = a.template cast<double>() - b.template cast<double>();
  return ttest_one_sample(difference, 0.0, alt, policy);
}

/// \brief Welch's t-test of two independent groups (a: n₁ × tests, b: n₂ × tests), unequal
/// variances, Welch–Satterthwaite degrees of freedom. Matches scipy.stats.ttest_ind with
/// equal_var=False. \throws invalid_argument if the test counts differ or a group has fewer than
/// 2 samples.
template <floating_eigen DerivedA, floating_eigen DerivedB>
[[nodiscard]] ttest_result ttest_welch(const Eigen::MatrixBase<DerivedA>& a,
                                       const Eigen::MatrixBase<DerivedB>& b,
                                       alternative alt = alternative::two_sided,
                                       nan_policy policy = nan_policy::raise) {
  detail::check_samples(a.rows(), "ttest_welch", "a");
  detail::check_samples(b.rows(), "ttest_welch", "b");
  if (a.cols() != b.cols())
    detail::throw_invalid_argument(
        "ttest_welch",
        detail::concat("expected a and b with the same number of tests (columns), got ", a.cols(),
                       " and ", b.cols()));
  ttest_result r = detail::make_ttest_result(a.cols());
  for (index_t j = 0; j < a.cols(); ++j) {
    const auto ca = detail::moments_of(a, j, policy, "ttest_welch", "a");
    const auto cb = detail::moments_of(b, j, policy, "ttest_welch", "b");
    const double va = ca.variance / static_cast<double>(ca.n),
                 vb = cb.variance / static_cast<double>(cb.n);
    const double dof =
        (va + vb) * (va + vb) /
        (va * va / static_cast<double>(ca.n - 1) + vb * vb / static_cast<double>(cb.n - 1));
    detail::set_t(r, j, ca.mean - cb.mean, std::sqrt(va + vb), dof, alt);
  }
  return r;
}

/// \brief Student's two-sample t-test of two independent groups (a: n₁ × tests, b: n₂ × tests)
/// assuming equal variances: t = (ā − b̄) / (s_p √(1/n₁ + 1/n₂)) with the pooled variance
/// s_p² = ((n₁ − 1)s₁² + (n₂ − 1)s₂²) / (n₁ + n₂ − 2) and n₁ + n₂ − 2 degrees of freedom. Matches
/// scipy.stats.ttest_ind with equal_var=True; ttest_welch() does not assume equal variances.
/// NaN policies as ttest_one_sample() (under omit, n₁ and n₂ count each test's kept samples; a
/// group with fewer than 2 left gives NaN). \throws invalid_argument if the test counts differ or a
/// group has fewer than 2 samples.
template <floating_eigen DerivedA, floating_eigen DerivedB>
[[nodiscard]] ttest_result ttest_student(const Eigen::MatrixBase<DerivedA>& a,
                                         const Eigen::MatrixBase<DerivedB>& b,
                                         alternative alt = alternative::two_sided,
                                         nan_policy policy = nan_policy::raise) {
  detail::check_samples(a.rows(), "ttest_student", "a");
  detail::check_samples(b.rows(), "ttest_student", "b");
  if (a.cols() != b.cols())
    detail::throw_invalid_argument(
        "ttest_student",
        detail::concat("expected a and b with the same number of tests (columns), got ", a.cols(),
                       " and ", b.cols()));
  ttest_result r = detail::make_ttest_result(a.cols());
  for (index_t j = 0; j < a.cols(); ++j) {
    const auto ca = detail::moments_of(a, j, policy, "ttest_student", "a");
    const auto cb = detail::moments_of(b, j, policy, "ttest_student", "b");
    const double na = static_cast<double>(ca.n), nb = static_cast<double>(cb.n);
    const double dof = na + nb - 2.0;
    // scipy's arithmetic: the pooled variance, then its scaling by 1/n₁ + 1/n₂.
    const double pooled = ((na - 1.0) * ca.variance + (nb - 1.0) * cb.variance) / dof;
    detail::set_t(r, j, ca.mean - cb.mean, std::sqrt(pooled * (1.0 / na + 1.0 / nb)), dof, alt);
    if (ca.n < 2 || cb.n < 2)
      r.statistic[j] = r.p_value[j] = std::numeric_limits<double>::quiet_NaN();
  }
  return r;
}

/// Standard error of the mean of every column (samples × tests), n − 1 in the variance.
template <floating_eigen Derived>
[[nodiscard]] Eigen::VectorXd sem(const Eigen::MatrixBase<Derived>& samples,
                                  nan_policy policy = nan_policy::raise) {
  detail::check_samples(samples.rows(), "sem", "samples");
  Eigen::VectorXd out(samples.cols());
  for (index_t j = 0; j < samples.cols(); ++j) {
    const auto c = detail::moments_of(samples, j, policy, "sem", "samples");
    out[j] = std::sqrt(c.variance / static_cast<double>(c.n));
  }
  return out;
}

// xtensor arrays of shape (samples, tests) (1-D: one test), as the Eigen forms above.

template <floating_xexpression E>
[[nodiscard]] ttest_result ttest_one_sample(const xt::xexpression<E>& samples,
                                            double null_value = 0.0,
                                            alternative alt = alternative::two_sided,
                                            nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename E::value_type> x(samples, "ttest_one_sample");
  return ttest_one_sample(x.matrix(), null_value, alt, policy);
}

template <floating_xexpression A, floating_xexpression B>
[[nodiscard]] ttest_result ttest_paired(const xt::xexpression<A>& a, const xt::xexpression<B>& b,
                                        alternative alt = alternative::two_sided,
                                        nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename A::value_type> x(a, "ttest_paired");
  const xtensor_matrix<typename B::value_type> y(b, "ttest_paired");
  return ttest_paired(x.matrix(), y.matrix(), alt, policy);
}

template <floating_xexpression A, floating_xexpression B>
[[nodiscard]] ttest_result ttest_welch(const xt::xexpression<A>& a, const xt::xexpression<B>& b,
                                       alternative alt = alternative::two_sided,
                                       nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename A::value_type> x(a, "ttest_welch");
  const xtensor_matrix<typename B::value_type> y(b, "ttest_welch");
  return ttest_welch(x.matrix(), y.matrix(), alt, policy);
}

template <floating_xexpression A, floating_xexpression B>
[[nodiscard]] ttest_result ttest_student(const xt::xexpression<A>& a, const xt::xexpression<B>& b,
                                         alternative alt = alternative::two_sided,
                                         nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename A::value_type> x(a, "ttest_student");
  const xtensor_matrix<typename B::value_type> y(b, "ttest_student");
  return ttest_student(x.matrix(), y.matrix(), alt, policy);
}

template <floating_xexpression E>
[[nodiscard]] Eigen::VectorXd sem(const xt::xexpression<E>& samples,
                                  nan_policy policy = nan_policy::raise) {
  const xtensor_matrix<typename E::value_type> x(samples, "sem");
  return sem(x.matrix(), policy);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_TTEST_HPP
