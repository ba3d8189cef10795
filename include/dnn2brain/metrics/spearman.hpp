#ifndef DNN2BRAIN_METRICS_SPEARMAN_HPP
#define DNN2BRAIN_METRICS_SPEARMAN_HPP

#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/detail/ranks.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain::metric {

/// \brief Spearman distance 1 − ρ(xᵢ, xⱼ): the correlation distance between the patterns' ranks
/// across features (average ranks for ties, as scipy's spearmanr).
///
/// Ranking needs whole patterns, so transform() makes one rank copy of the pattern matrix (the only
/// metric that does besides mahalanobis). Ranks are centred, (p + 1)/2 subtracted, exactly (in
/// float up to 2²³ features), so the distance is the cosine distance of the centred ranks.
struct spearman {
  static constexpr const char* name = "spearman";

  [[nodiscard]] constexpr gram_recipe recipe() const noexcept {
    return {false, false, gram_output::one_minus_r};  // transform() already centres the ranks
  }

  template <typename Derived>
  [[nodiscard]] Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic,
                              Eigen::RowMajor>
  transform(const Eigen::MatrixBase<Derived>& patterns) const {
    using Scalar = typename Derived::Scalar;
    using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Index n = patterns.rows();
    const Eigen::Index p = patterns.cols();
    RowMatrix ranks(n, p);
    const auto centre = static_cast<Scalar>(0.5 * static_cast<double>(p + 1));
    detail::parallel_error error;
    DNN2BRAIN_OMP(parallel)
    {
      std::vector<Eigen::Index> order;
      Eigen::Matrix<Scalar, 1, Eigen::Dynamic> row;
      DNN2BRAIN_OMP(for schedule(static))
      for (Eigen::Index i = 0; i < n; ++i)
        error.run(i, [&] {
          row = patterns.row(i);
          auto out = ranks.row(i);
          detail::average_ranks(row, out, order);
          out.array() -= centre;
        });
    }
    error.rethrow();
    return ranks;
  }
};

}  // namespace dnn2brain::metric

#endif  // DNN2BRAIN_METRICS_SPEARMAN_HPP
