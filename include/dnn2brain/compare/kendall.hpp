#ifndef DNN2BRAIN_COMPARE_KENDALL_HPP
#define DNN2BRAIN_COMPARE_KENDALL_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/detail/ranks.hpp>

namespace dnn2brain {
namespace detail {

/// Kendall's S = concordant − discordant pairs, and the tie counts, in O(m log m) by Knight's
/// (1966) algorithm: sort by the model, count the target's inversions by merge sort. The model's
/// order and tie groups are computed once and reused for every target.
class kendall_counter {
 public:
  struct counts {
    double s;            // concordant − discordant
    double pairs;        // n0 = m(m − 1)/2
    double model_ties;   // n1: pairs tied in the model
    double target_ties;  // n2: pairs tied in the target
  };

  explicit kendall_counter(const Eigen::VectorXd& model)
      : m_order(static_cast<std::size_t>(model.size())) {
    std::iota(m_order.begin(), m_order.end(), Eigen::Index{0});
    std::stable_sort(m_order.begin(), m_order.end(),
                     [&](Eigen::Index a, Eigen::Index b) { return model[a] < model[b]; });
    const auto m = m_order.size();
    for (std::size_t start = 0; start < m;) {
      std::size_t stop = start + 1;
      while (stop < m && model[m_order[stop]] == model[m_order[start]]) ++stop;
      m_groups.push_back(start);
      m_model_ties += tie_pairs(stop - start);
      start = stop;
    }
    m_groups.push_back(m);
  }

  kendall_counter(const kendall_counter& other)
      : m_order(other.m_order), m_groups(other.m_groups), m_model_ties(other.m_model_ties) {}
  kendall_counter& operator=(const kendall_counter&) = delete;

  [[nodiscard]] counts operator()(const Eigen::VectorXd& target) const {
    const std::size_t m = m_order.size();
    m_values.resize(m);
    m_buffer.resize(m);
    for (std::size_t k = 0; k < m; ++k) m_values[k] = target[m_order[k]];
    // Within a model tie group, order by target: such pairs are neither concordant nor
    // discordant, and sorting keeps them from counting as inversions.
    std::int64_t joint_ties = 0;
    for (std::size_t g = 0; g + 1 < m_groups.size(); ++g) {
      const auto first = m_values.begin() + static_cast<std::ptrdiff_t>(m_groups[g]);
      const auto last = m_values.begin() + static_cast<std::ptrdiff_t>(m_groups[g + 1]);
      if (last - first > 1) {
        std::sort(first, last);
        joint_ties += run_tie_pairs(first, last);
      }
    }
    const std::int64_t discordant = sort_counting_inversions();
    const std::int64_t target_ties = run_tie_pairs(m_values.begin(), m_values.end());
    const auto n0 = static_cast<std::int64_t>(m) * static_cast<std::int64_t>(m - 1) / 2;
    const std::int64_t s = n0 - m_model_ties - target_ties + joint_ties - 2 * discordant;
    return {static_cast<double>(s), static_cast<double>(n0), static_cast<double>(m_model_ties),
            static_cast<double>(target_ties)};
  }

 private:
  static std::int64_t tie_pairs(std::size_t t) {
    return static_cast<std::int64_t>(t) * (static_cast<std::int64_t>(t) - 1) / 2;
  }
  template <typename It>
  static std::int64_t run_tie_pairs(It first, It last) {  // [first, last) sorted
    std::int64_t total = 0;
    for (It run = first; run != last;) {
      It stop = run + 1;
      while (stop != last && *stop == *run) ++stop;
      total += tie_pairs(static_cast<std::size_t>(stop - run));
      run = stop;
    }
    return total;
  }
  // Bottom-up merge sort of m_values; returns the number of pairs k < l with value_k > value_l.
  std::int64_t sort_counting_inversions() const {
    const std::size_t m = m_values.size();
    std::int64_t inversions = 0;
    std::vector<double>* src = &m_values;
    std::vector<double>* dst = &m_buffer;
    for (std::size_t width = 1; width < m; width *= 2) {
      for (std::size_t lo = 0; lo < m; lo += 2 * width) {
        const std::size_t mid = std::min(lo + width, m);
        const std::size_t hi = std::min(lo + 2 * width, m);
        std::size_t a = lo, b = mid, out = lo;
        while (a < mid && b < hi) {
          if ((*src)[b] < (*src)[a]) {
            inversions += static_cast<std::int64_t>(mid - a);
            (*dst)[out++] = (*src)[b++];
          } else {
            (*dst)[out++] = (*src)[a++];
          }
        }
        while (a < mid) (*dst)[out++] = (*src)[a++];
        while (b < hi) (*dst)[out++] = (*src)[b++];
      }
      std::swap(src, dst);
    }
    if (src != &m_values) m_values.swap(m_buffer);
    return inversions;
  }

  std::vector<Eigen::Index> m_order;  // model argsort (stable)
  std::vector<std::size_t> m_groups;  // starts of the model's tie groups in m_order, then m
  std::int64_t m_model_ties = 0;
  mutable std::vector<double> m_values;  // scratch
  mutable std::vector<double> m_buffer;
};

}  // namespace detail

namespace measure {

/// Kendall's tau-a: (concordant − discordant) / (m(m − 1)/2). Ties count in the denominator, which
/// makes it the measure of choice against categorical model RDMs (Nili et al. 2014). O(m log m).
struct kendall_tau_a {
  static constexpr const char* name = "kendall_tau_a";

  /// This measure's convention for pooling subject RDMs (noise_ceiling()): average ranks, as for
  /// spearman (rsatoolbox's pool_rdm). A measure derived from kendall_tau_a inherits it.
  static void pool(Eigen::Ref<Eigen::VectorXd> rdm) { detail::rank_in_place(rdm); }

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) : m_counter(model) {}
    [[nodiscard]] double operator()(const Eigen::VectorXd& target) const {
      const auto c = m_counter(target);
      return c.s / c.pairs;
    }

   private:
    detail::kendall_counter m_counter;
  };
};

/// Kendall's tau-b: S / √((n0 − n1)(n0 − n2)), corrected for ties in either RDM (scipy's
/// kendalltau, variant 'b'). NaN when either RDM is constant. O(m log m).
struct kendall_tau_b {
  static constexpr const char* name = "kendall_tau_b";

  /// This measure's convention for pooling subject RDMs (noise_ceiling()): average ranks, as for
  /// spearman (rsatoolbox's pool_rdm). A measure derived from kendall_tau_b inherits it.
  static void pool(Eigen::Ref<Eigen::VectorXd> rdm) { detail::rank_in_place(rdm); }

  class prepared {
   public:
    explicit prepared(const Eigen::VectorXd& model) : m_counter(model) {}
    [[nodiscard]] double operator()(const Eigen::VectorXd& target) const {
      const auto c = m_counter(target);
      const double denominator = (c.pairs - c.model_ties) * (c.pairs - c.target_ties);
      if (!(denominator > 0.0)) return std::numeric_limits<double>::quiet_NaN();
      return std::clamp(c.s / std::sqrt(denominator), -1.0, 1.0);
    }

   private:
    detail::kendall_counter m_counter;
  };
};

}  // namespace measure
}  // namespace dnn2brain

#endif  // DNN2BRAIN_COMPARE_KENDALL_HPP
