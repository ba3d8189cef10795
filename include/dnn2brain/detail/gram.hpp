#ifndef DNN2BRAIN_DETAIL_GRAM_HPP
#define DNN2BRAIN_DETAIL_GRAM_HPP
// IWYU pragma: private

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::detail {

template <typename Scalar>
using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Features per chunk: keeps the n × chunk buffer near 256 KiB, i.e. in L2 while it is reused.
[[nodiscard]] inline Eigen::Index default_chunk(Eigen::Index n, std::size_t scalar_size) {
  const auto target = static_cast<Eigen::Index>(std::size_t{256} * 1024 / scalar_size) /
                      std::max<Eigen::Index>(n, 1);
  return std::clamp<Eigen::Index>(target / 16 * 16, 64, 16384);
}

/// Throws, naming the first non-finite entry of x, if there is one.
template <typename Derived>
void require_finite(const Eigen::MatrixBase<Derived>& x, Eigen::Index column_offset,
                    const char* function) {
  if (x.allFinite()) return;
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      if (!std::isfinite(x(i, j)))
        throw_invalid_argument(
            function, concat("expected finite activations, got ", x(i, j), " at condition ", i,
                             ", feature ", column_offset + j));
}

/// Copies features [start, start + width) of x into buffer (its left columns), checks they are
/// finite and, when asked, subtracts each feature's mean over conditions (exact per chunk, since a
/// feature's mean involves that feature only). Means are taken in double.
template <typename Derived, typename Buffer>
void load_chunk(const Eigen::MatrixBase<Derived>& x, Eigen::Index start, Eigen::Index width,
                Buffer& buffer, bool center_features, const char* function) {
  using Scalar = typename Buffer::Scalar;
  auto block = buffer.leftCols(width);
  block = x.middleCols(start, width).template cast<Scalar>();
  require_finite(block, start, function);
  if (center_features) {
    const Eigen::RowVectorXd means = block.template cast<double>().colwise().mean();
    block.rowwise() -= means.template cast<Scalar>();
  }
}

/// \brief Gram matrix of the recipe's centred patterns, streamed over feature chunks.
///
/// Returns the full symmetric n × n matrix C = Z Zᵀ in double, Z the patterns after the recipe's
/// feature and row centring. x is read once, chunk by chunk, and never copied whole.
///
/// Accuracy: each chunk's product is formed in x's scalar type and added in double. Row centring
/// uses a shift: every pattern first loses a constant cᵢ (its mean over the first chunk), which
/// leaves its correlations unchanged, and the Gram matrix is corrected with the row sums s of the
/// shifted data, C = G − s sᵀ / p. Rounding in C is then about b·ε·‖zᵢ − ...‖ relative to the
/// shifted, not the raw, patterns (b the chunk width, ε the scalar's unit roundoff), so large
/// pattern means (ReLU layers in float) no longer cancel catastrophically.
///
/// Determinism: chunk k is added into lane k mod L, lanes are summed in order, and L depends on
/// the chunk count only, so the result is identical for any number of threads.
template <typename Derived>
[[nodiscard]] Eigen::MatrixXd centred_gram(const Eigen::MatrixBase<Derived>& x,
                                           const metric::gram_recipe& recipe, Eigen::Index chunk,
                                           const char* function) {
  using Scalar = typename Derived::Scalar;
  const Eigen::Index n = x.rows();
  const Eigen::Index p = x.cols();
  const Eigen::Index b =
      chunk > 0 ? std::min(chunk, p) : std::min(default_chunk(n, sizeof(Scalar)), p);
  const Eigen::Index chunks = (p + b - 1) / b;
  constexpr Eigen::Index max_lanes = 4;
  const Eigen::Index lanes = std::min(max_lanes, chunks);

  // Shift c: each pattern's mean over the first chunk (after feature centring).
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> shift =
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::Zero(n);
  if (recipe.center_rows) {
    row_matrix<Scalar> first(n, b);
    load_chunk(x, 0, b, first, recipe.center_features, function);
    shift = first.template cast<double>().rowwise().mean().template cast<Scalar>();
  }

  std::vector<Eigen::MatrixXd> gram(static_cast<std::size_t>(lanes));
  std::vector<Eigen::VectorXd> sums(static_cast<std::size_t>(lanes));
  parallel_error error;
#pragma omp parallel for schedule(static, 1) if (lanes > 1)
  for (Eigen::Index lane = 0; lane < lanes; ++lane) {
    auto& g = gram[static_cast<std::size_t>(lane)];
    auto& s = sums[static_cast<std::size_t>(lane)];
    g.setZero(n, n);
    s.setZero(n);
    row_matrix<Scalar> buffer(n, b);
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> product(n, n);
    for (Eigen::Index k = lane; k < chunks; k += lanes) {
      error.run(k, [&] {
        const Eigen::Index start = k * b;
        const Eigen::Index width = std::min(b, p - start);
        load_chunk(x, start, width, buffer, recipe.center_features, function);
        auto block = buffer.leftCols(width);
        if (recipe.center_rows) {
          block.colwise() -= shift;
          s += block.template cast<double>().rowwise().sum();
        }
        product.setZero();
        product.template selfadjointView<Eigen::Lower>().rankUpdate(block);
        g.template triangularView<Eigen::Lower>() += product.template cast<double>();
      });
    }
  }
  error.rethrow();

  Eigen::MatrixXd c = gram[0];
  Eigen::VectorXd s = sums[0];
  for (std::size_t lane = 1; lane < gram.size(); ++lane) {
    c.triangularView<Eigen::Lower>() += gram[lane];
    s += sums[lane];
  }
  if (recipe.center_rows)
    c.triangularView<Eigen::Lower>() -= s * s.transpose() / static_cast<double>(p);
  c.triangularView<Eigen::StrictlyUpper>() = c.transpose();
  return c;
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_DETAIL_GRAM_HPP
