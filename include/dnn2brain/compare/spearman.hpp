#ifndef DNN2BRAIN_COMPARE_SPEARMAN_HPP
#define DNN2BRAIN_COMPARE_SPEARMAN_HPP

#include <vector>

#include <Eigen/Core>

#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/detail/ranks.hpp>

namespace dnn2brain::measure {

/// Spearman correlation between the entries of two RDMs: Pearson correlation of their average
/// ranks (scipy's spearmanr). The model is ranked once; each target costs one O(m log m) ranking.
struct spearman {
  static constexpr const char* name = "spearman";

  /// \brief This measure's convention for pooling subject RDMs (noise_ceiling()): each is replaced
  /// by its average ranks before RDMs are averaged (rsatoolbox's pool_rdm). A measure derived from
  /// spearman inherits it.
  static void pool(Eigen::Ref<Eigen::VectorXd> rdm) { detail::rank_in_place(rdm); }

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) : m_pearson(ranked(model, m_ranks, m_order)) {}
    [[nodiscard]] double operator()(const Eigen::VectorXd& target) const {
      return m_pearson(ranked(target, m_ranks, m_order));
    }
    prepared(const prepared& other) : m_pearson(other.m_pearson) {}  // scratch is per copy
    prepared& operator=(const prepared&) = delete;

   private:
    static const Eigen::VectorXd& ranked(const Eigen::VectorXd& v, Eigen::VectorXd& ranks,
                                         std::vector<Eigen::Index>& order) {
      ranks.resize(v.size());
      detail::average_ranks(v, ranks, order);
      return ranks;
    }

    mutable Eigen::VectorXd m_ranks;  // scratch
    mutable std::vector<Eigen::Index> m_order;
    pearson::prepared m_pearson;
  };
};

}  // namespace dnn2brain::measure

#endif  // DNN2BRAIN_COMPARE_SPEARMAN_HPP
