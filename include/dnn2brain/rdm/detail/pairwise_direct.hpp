#ifndef DNN2BRAIN_RDM_DETAIL_PAIRWISE_DIRECT_HPP
#define DNN2BRAIN_RDM_DETAIL_PAIRWISE_DIRECT_HPP
// IWYU pragma: private

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/detail/gram.hpp>

namespace dnn2brain::detail {

/// \brief Squared distances ‖zᵢ − zⱼ‖² between the recipe's transformed patterns, by direct
/// differences in double: the stable route.
///
/// z is the pattern after feature centring, row centring and, for one_minus_r outputs, scaling to
/// unit norm (then ‖zᵢ − zⱼ‖² = 2 − 2r). Three streaming passes over x: row sums, centred norms,
/// and the pairwise differences, each over feature chunks in double. Every distance carries a
/// relative rounding error of order p·ε_double in the worst case (√p·ε typically: sums run
/// sequentially over chunks) whatever the patterns' means or their similarity, at the price of
/// O(n² p) scalar-speed work instead of a Gram product.
///
/// Returns the full symmetric matrix. Under normalisation a pattern whose centred norm is zero to
/// rounding, ‖z − mean‖² ≤ (4pε)²·‖z‖² (what an exactly constant pattern leaves after a rounded
/// mean), is flagged in degenerate[i] and its entries are meaningless.
template <typename Derived>
[[nodiscard]] Eigen::MatrixXd direct_squared_distances(const Eigen::MatrixBase<Derived>& x,
                                                       const metric::gram_recipe& recipe,
                                                       Eigen::Index chunk,
                                                       std::vector<bool>& degenerate,
                                                       const char* function) {
  const Eigen::Index n = x.rows();
  const Eigen::Index p = x.cols();
  const Eigen::Index b =
      chunk > 0 ? std::min(chunk, p) : std::min(default_chunk(n, sizeof(double)), p);
  const bool normalize = recipe.output == metric::gram_output::one_minus_r;
  row_matrix<double> z(n, b);
  auto load = [&](Eigen::Index start, Eigen::Index width) {
    load_chunk(x, start, width, z, recipe.center_features);
    require_finite_activations(z.leftCols(width), start, function);
  };

  Eigen::VectorXd mean = Eigen::VectorXd::Zero(n);
  if (recipe.center_rows) {
    for (Eigen::Index start = 0; start < p; start += b) {
      const Eigen::Index width = std::min(b, p - start);
      load(start, width);
      mean += z.leftCols(width).rowwise().sum();
    }
    mean /= static_cast<double>(p);
  }
  Eigen::VectorXd scale = Eigen::VectorXd::Ones(n);
  degenerate.assign(static_cast<std::size_t>(n), false);
  if (normalize) {
    Eigen::VectorXd norm2 = Eigen::VectorXd::Zero(n);
    Eigen::VectorXd energy = Eigen::VectorXd::Zero(n);
    for (Eigen::Index start = 0; start < p; start += b) {
      const Eigen::Index width = std::min(b, p - start);
      load(start, width);
      norm2 += (z.leftCols(width).colwise() - mean).rowwise().squaredNorm();
      energy += z.leftCols(width).rowwise().squaredNorm();
    }
    const double floor =
        std::pow(4.0 * static_cast<double>(p) * std::numeric_limits<double>::epsilon(), 2);
    for (Eigen::Index i = 0; i < n; ++i) {
      degenerate[static_cast<std::size_t>(i)] = !(norm2[i] > floor * energy[i]);
      scale[i] = degenerate[static_cast<std::size_t>(i)] ? 0.0 : 1.0 / std::sqrt(norm2[i]);
    }
  }

  Eigen::MatrixXd d2 = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index start = 0; start < p; start += b) {
    const Eigen::Index width = std::min(b, p - start);
    load(start, width);
    auto block = z.leftCols(width);
    block = scale.asDiagonal() * (block.colwise() - mean);
    // Entry (j, i), j > i, is only ever touched by the thread that owns column i, in chunk order.
    DNN2BRAIN_OMP(parallel for schedule(dynamic, 4))
    for (Eigen::Index i = 0; i < n - 1; ++i)
      for (Eigen::Index j = i + 1; j < n; ++j)
        d2(j, i) += (block.row(i) - block.row(j)).squaredNorm();
  }
  d2.triangularView<Eigen::StrictlyUpper>() = d2.transpose();
  d2.diagonal().setZero();
  return d2;
}

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_RDM_DETAIL_PAIRWISE_DIRECT_HPP
