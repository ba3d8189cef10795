// Naive, obviously-correct implementations used as test oracles: direct loops in long double,
// O(n² p) and O(m²), no Gram matrices, no sorting tricks.
#ifndef DNN2BRAIN_TESTS_SUPPORT_REFERENCE_IMPL_HPP
#define DNN2BRAIN_TESTS_SUPPORT_REFERENCE_IMPL_HPP

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace dnn2brain::test {

using real = long double;

inline std::vector<real> row(const Eigen::MatrixXd& x, Eigen::Index i) {
  std::vector<real> r(static_cast<std::size_t>(x.cols()));
  for (Eigen::Index f = 0; f < x.cols(); ++f) r[static_cast<std::size_t>(f)] = x(i, f);
  return r;
}

inline real mean(const std::vector<real>& v) {
  real s = 0;
  for (real a : v) s += a;
  return s / static_cast<real>(v.size());
}

inline real pearson(std::vector<real> a, std::vector<real> b) {
  const real ma = mean(a), mb = mean(b);
  real ab = 0, aa = 0, bb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    ab += (a[k] - ma) * (b[k] - mb);
    aa += (a[k] - ma) * (a[k] - ma);
    bb += (b[k] - mb) * (b[k] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

// Average ranks by counting: rank = 1 + #smaller + (#equal − 1)/2. O(m²).
inline std::vector<real> ranks(const std::vector<real>& v) {
  std::vector<real> r(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    real smaller = 0, equal = 0;
    for (real w : v) {
      smaller += w < v[i];
      equal += w == v[i];
    }
    r[i] = 1 + smaller + (equal - 1) / 2;
  }
  return r;
}

// 1 − cos(a, b) as half the squared distance of the unit vectors: no cancellation when a ≈ b.
inline real one_minus_cosine(const std::vector<real>& a, const std::vector<real>& b) {
  real aa = 0, bb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  const real na = std::sqrt(aa), nb = std::sqrt(bb);
  real d2 = 0;
  for (std::size_t k = 0; k < a.size(); ++k)
    d2 += (a[k] / na - b[k] / nb) * (a[k] / na - b[k] / nb);
  return d2 / 2;
}

inline std::vector<real> centred(std::vector<real> v) {
  const real m = mean(v);
  for (real& a : v) a -= m;
  return v;
}

inline real cosine(const std::vector<real>& a, const std::vector<real>& b) {
  real ab = 0, aa = 0, bb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return ab / std::sqrt(aa * bb);
}

/// Condensed distances by direct loops. metric: correlation, correlation_centered, euclidean,
/// sqeuclidean, cosine, spearman.
inline Eigen::VectorXd naive_rdm(const Eigen::MatrixXd& x_in, const std::string& metric) {
  Eigen::MatrixXd x = x_in;
  if (metric == "correlation_centered") x.rowwise() -= x.colwise().mean();
  const Eigen::Index n = x.rows();
  Eigen::VectorXd out(n * (n - 1) / 2);
  Eigen::Index k = 0;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = i + 1; j < n; ++j, ++k) {
      const auto a = row(x, i), b = row(x, j);
      real d = 0;
      if (metric == "correlation" || metric == "correlation_centered") {
        d = one_minus_cosine(centred(a), centred(b));
      } else if (metric == "spearman") {
        d = one_minus_cosine(centred(ranks(a)), centred(ranks(b)));
      } else if (metric == "cosine") {
        d = one_minus_cosine(a, b);
      } else {
        for (std::size_t f = 0; f < a.size(); ++f) d += (a[f] - b[f]) * (a[f] - b[f]);
        if (metric == "euclidean") d = std::sqrt(d);
      }
      out[k] = static_cast<double>(d);
    }
  return out;
}

/// Kendall tau-a and tau-b by the O(m²) definition.
inline double naive_kendall(const Eigen::VectorXd& a, const Eigen::VectorXd& b, bool tau_b) {
  const Eigen::Index m = a.size();
  real s = 0, tied_a = 0, tied_b = 0;
  for (Eigen::Index i = 0; i < m; ++i)
    for (Eigen::Index j = i + 1; j < m; ++j) {
      const int sa = (a[i] > a[j]) - (a[i] < a[j]);
      const int sb = (b[i] > b[j]) - (b[i] < b[j]);
      s += sa * sb;
      tied_a += sa == 0;
      tied_b += sb == 0;
    }
  const real n0 = static_cast<real>(m) * static_cast<real>(m - 1) / 2;
  return static_cast<double>(tau_b ? s / std::sqrt((n0 - tied_a) * (n0 - tied_b)) : s / n0);
}

inline std::vector<real> to_real(const Eigen::VectorXd& v) {
  return {v.data(), v.data() + v.size()};
}

/// R² of y on [1, x] by the normal equations in long double (predictors centred first, an exact
/// reparametrisation that keeps the system well conditioned), solved by Gaussian elimination with
/// partial pivoting: an oracle independent of the library's QR and projection.
inline double naive_r_squared(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  const Eigen::Index m = x.rows(), p = x.cols();
  std::vector<std::vector<real>> c(static_cast<std::size_t>(p));
  for (Eigen::Index j = 0; j < p; ++j) c[std::size_t(j)] = centred(to_real(x.col(j)));
  const std::vector<real> yc = centred(to_real(y));
  std::vector<std::vector<real>> a(std::size_t(p), std::vector<real>(std::size_t(p + 1), 0));
  for (std::size_t i = 0; i < std::size_t(p); ++i) {
    for (std::size_t j = 0; j < std::size_t(p); ++j)
      for (std::size_t k = 0; k < std::size_t(m); ++k) a[i][j] += c[i][k] * c[j][k];
    for (std::size_t k = 0; k < std::size_t(m); ++k) a[i][std::size_t(p)] += c[i][k] * yc[k];
  }
  for (std::size_t i = 0; i < std::size_t(p); ++i) {
    std::size_t best = i;
    for (std::size_t r = i + 1; r < std::size_t(p); ++r)
      if (std::abs(a[r][i]) > std::abs(a[best][i])) best = r;
    std::swap(a[i], a[best]);
    for (std::size_t r = 0; r < std::size_t(p); ++r) {
      if (r == i) continue;
      const real f = a[r][i] / a[i][i];
      for (std::size_t j = i; j <= std::size_t(p); ++j) a[r][j] -= f * a[i][j];
    }
  }
  real residual = 0, total = 0;
  for (std::size_t k = 0; k < std::size_t(m); ++k) {
    real fitted = 0;
    for (std::size_t j = 0; j < std::size_t(p); ++j)
      fitted += a[j][std::size_t(p)] / a[j][j] * c[j][k];
    residual += (yc[k] - fitted) * (yc[k] - fitted);
    total += yc[k] * yc[k];
  }
  return static_cast<double>(1 - residual / total);
}

}  // namespace dnn2brain::test

#endif
