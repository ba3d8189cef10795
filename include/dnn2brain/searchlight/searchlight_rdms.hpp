#ifndef DNN2BRAIN_SEARCHLIGHT_SEARCHLIGHT_RDMS_HPP
#define DNN2BRAIN_SEARCHLIGHT_SEARCHLIGHT_RDMS_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/gram_kernel.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/metrics/correlation.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>

namespace dnn2brain {

/// Options of searchlight_rdms().
struct searchlight_options {
  /// Bytes of searchlight RDMs held at once: the chunk handed to the consumer. Peak memory is this
  /// plus the data matrix and the table, whatever the number of searchlights.
  std::size_t memory_budget = std::size_t{256} << 20;
  /// Called on the calling thread after each chunk with (searchlights done, total).
  std::function<void(std::size_t, std::size_t)> progress;
};

/// What searchlight_rdms() did.
struct searchlight_summary {
  std::size_t searchlights = 0;  ///< RDMs computed
  std::size_t chunks = 0;        ///< consumer calls
  /// Searchlights with an undefined (NaN) distance: some condition's pattern is constant over the
  /// searchlight (zero under cosine).
  std::size_t degenerate = 0;
};

namespace detail {

/// Whether searchlight_rdms() runs a metric on its own kernel: recipe metrics without a
/// transform() of the whole pattern matrix (correlation, cosine, euclidean, squared euclidean).
template <typename Metric>
inline constexpr bool searchlight_kernel_metric = !requires(const Metric& m) {
  m.transform(Eigen::MatrixXd());
};

/// \brief Per-thread workspace and kernel for the RDMs of small searchlights.
///
/// A searchlight's k voxels are gathered into Z, k rows of n conditions (the data matrix is read
/// column by column: one voxel's conditions are contiguous), preprocessed by the metric's recipe,
/// and its n × n inner products accumulated straight into condensed (pdist) order: row a of the
/// condensed RDM, entries b > a, is Σ_v Z[v][a] · Z[v][a+1 … n−1], a contiguous run of both
/// operands. The run is computed in blocks of 4 vectors (then single vectors) with Z[v][a]
/// broadcast, so each FMA loads one operand, no packing happens and nothing is computed twice.
/// All sums are in Scalar, over the k voxels (rounding about k·ε relative to ‖zₐ‖‖z_b‖).
/// Its code follows the target's vector width, hence the width-named namespace (see gram_kernel).
inline namespace DNN2BRAIN_SIMD_NAMESPACE {
template <typename Scalar>
class searchlight_kernel {
 public:
  searchlight_kernel(Eigen::Index conditions, std::size_t max_members, metric::gram_recipe recipe)
      : m_n(conditions), m_recipe(recipe) {
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    // Each row is padded so that a block of vectors that starts anywhere in it stays inside.
    m_ld = (m_n + block * lanes + lanes - 1) / lanes * lanes;
    m_z.assign(std::max<std::size_t>(max_members, 1) * std::size_t(m_ld), Scalar(0));
    m_mean.assign(std::size_t(m_ld), Scalar(0));
    m_diag.assign(std::size_t(m_ld), Scalar(0));
    m_scale.assign(std::size_t(m_ld), Scalar(0));
    m_low.assign(std::size_t(m_ld), Scalar(0));
    m_high.assign(std::size_t(m_ld), Scalar(0));
    m_gram.assign(std::size_t(condensed_size(m_n) + block * lanes), Scalar(0));
  }

  /// Writes the condensed RDM of the searchlight with data columns `members` into out; returns
  /// whether a distance is undefined (NaN).
  template <typename Index>
  bool operator()(const Scalar* data, Eigen::Index ld_data, std::span<const Index> members,
                  Scalar* out) {
    const auto k = static_cast<Eigen::Index>(members.size());
    gather(data, ld_data, members);
    const bool degenerate = normalise(k);
    accumulate(k);
    finish(out);
    return degenerate;
  }

 private:
  static constexpr Eigen::Index block = 4;  // vectors per run block: 4 FMAs per broadcast

  Scalar* row(Eigen::Index v) noexcept { return m_z.data() + v * m_ld; }

  template <typename Index>
  void gather(const Scalar* data, Eigen::Index ld_data, std::span<const Index> members) {
    for (std::size_t v = 0; v < members.size(); ++v)
      std::copy_n(data + Eigen::Index(members[v]) * ld_data, m_n, row(Eigen::Index(v)));
  }

  // Applies the recipe in place and records which patterns are degenerate (constant after the
  // feature centring, or zero when nothing is centred), exactly, by comparing extremes.
  bool normalise(Eigen::Index k) {
    const Eigen::Index n = m_n;
    if (m_recipe.center_features)
      for (Eigen::Index v = 0; v < k; ++v) {
        Scalar* z = row(v);
        Scalar sum = 0;
        for (Eigen::Index a = 0; a < n; ++a) sum += z[a];
        const Scalar mean = sum / static_cast<Scalar>(n);
        for (Eigen::Index a = 0; a < n; ++a) z[a] -= mean;
      }
    Scalar* low = m_low.data();
    Scalar* high = m_high.data();
    std::copy_n(row(0), n, low);
    std::copy_n(row(0), n, high);
    for (Eigen::Index v = 1; v < k; ++v) {
      const Scalar* z = row(v);
      for (Eigen::Index a = 0; a < n; ++a) {
        low[a] = std::min(low[a], z[a]);
        high[a] = std::max(high[a], z[a]);
      }
    }
    if (m_recipe.center_rows) {
      Scalar* mean = m_mean.data();
      std::fill_n(mean, n, Scalar(0));
      for (Eigen::Index v = 0; v < k; ++v) {
        const Scalar* z = row(v);
        for (Eigen::Index a = 0; a < n; ++a) mean[a] += z[a];
      }
      for (Eigen::Index a = 0; a < n; ++a) mean[a] /= static_cast<Scalar>(k);
      for (Eigen::Index v = 0; v < k; ++v) {
        Scalar* z = row(v);
        for (Eigen::Index a = 0; a < n; ++a) z[a] -= mean[a];
      }
    }
    Scalar* diag = m_diag.data();
    std::fill_n(diag, n, Scalar(0));
    for (Eigen::Index v = 0; v < k; ++v) {
      const Scalar* z = row(v);
      for (Eigen::Index a = 0; a < n; ++a) diag[a] += z[a] * z[a];
    }
    bool degenerate = false;
    const bool angular = m_recipe.output == metric::gram_output::one_minus_r;
    for (Eigen::Index a = 0; a < n; ++a) {
      const bool constant =
          m_recipe.center_rows ? low[a] == high[a] : (low[a] == 0 && high[a] == 0);
      if (angular) {
        // 1/‖zₐ‖, or NaN so that every distance of a degenerate pattern comes out NaN.
        m_scale[std::size_t(a)] = constant || !(diag[a] > 0)
                                      ? std::numeric_limits<Scalar>::quiet_NaN()
                                      : Scalar(1) / std::sqrt(diag[a]);
        degenerate = degenerate || constant || !(diag[a] > 0);
      }
    }
    return degenerate;
  }

  // Condensed inner products Σ_v zₐ z_b into m_gram, row by row.
  void accumulate(Eigen::Index k) {
#if defined(__GNUC__) || defined(__clang__)
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    using vec = gram_vector<Scalar>;
    Scalar* g = m_gram.data();
    for (Eigen::Index a = 0; a + 1 < m_n; ++a) {
      const Eigen::Index length = m_n - a - 1;
      Eigen::Index b = 0;
      for (; b + block * lanes <= length; b += block * lanes) {
        vec acc[block] = {};
        for (Eigen::Index v = 0; v < k; ++v) {
          const Scalar* z = row(v);
          const Scalar s = z[a];
          const Scalar* run = z + a + 1 + b;
          for (Eigen::Index u = 0; u < block; ++u) acc[u] += s * gram_load(run + u * lanes);
        }
        for (Eigen::Index u = 0; u < block; ++u) std::memcpy(g + b + u * lanes, &acc[u], sizeof(vec));
      }
      for (; b < length; b += lanes) {  // the rest in single vectors (padding absorbs overrun)
        vec acc = {};
        for (Eigen::Index v = 0; v < k; ++v) {
          const Scalar* z = row(v);
          acc += z[a] * gram_load(z + a + 1 + b);
        }
        std::memcpy(g + b, &acc, sizeof(vec));
      }
      g += length;
    }
#else
    Scalar* g = m_gram.data();
    for (Eigen::Index a = 0; a + 1 < m_n; ++a)
      for (Eigen::Index b = a + 1; b < m_n; ++b, ++g) {
        Scalar sum = 0;
        for (Eigen::Index v = 0; v < k; ++v) sum += row(v)[a] * row(v)[b];
        *g = sum;
      }
#endif
  }

  void finish(Scalar* out) const {
    const Scalar* g = m_gram.data();
    const Scalar* scale = m_scale.data();
    const Scalar* diag = m_diag.data();
    for (Eigen::Index a = 0; a + 1 < m_n; ++a) {
      const Eigen::Index length = m_n - a - 1;
      switch (m_recipe.output) {
        case metric::gram_output::one_minus_r: {
          const Scalar sa = scale[a];
          // NaN passes through both comparisons, so degenerate pairs stay NaN (scipy clips r).
          for (Eigen::Index j = 0; j < length; ++j) {
            const Scalar r = g[j] * sa * scale[a + 1 + j];
            out[j] = Scalar(1) - (r < Scalar(-1) ? Scalar(-1) : (r > Scalar(1) ? Scalar(1) : r));
          }
          break;
        }
        case metric::gram_output::distance:
        case metric::gram_output::squared_distance: {
          const bool root = m_recipe.output == metric::gram_output::distance;
          for (Eigen::Index j = 0; j < length; ++j) {
            const Scalar d2 = std::max(diag[a] + diag[a + 1 + j] - Scalar(2) * g[j], Scalar(0));
            out[j] = root ? std::sqrt(d2) : d2;
          }
          break;
        }
      }
      g += length;
      out += length;
    }
  }

  Eigen::Index m_n;
  metric::gram_recipe m_recipe;
  Eigen::Index m_ld = 0;
  std::vector<Scalar> m_z, m_mean, m_diag, m_scale, m_low, m_high, m_gram;
};
}  // namespace DNN2BRAIN_SIMD_NAMESPACE

}  // namespace detail

/// \brief Computes the RDM of every searchlight of a neighbour table, chunk by chunk, and hands
/// each chunk to a consumer while it is hot.
///
/// \param data     conditions × in-mask voxels (column c = the mask's voxel c, e.g. from
///                 brain_mask::apply); read in place when column-major with contiguous columns,
///                 else copied once.
/// \param table    the searchlights; its mask_voxels() must equal data.cols().
/// \param consume  called as consume(first, chunk): chunk is an rdm_stack of the RDMs of
///                 searchlights first, first + 1, …, first + chunk.size() − 1, in table order, on
///                 the calling thread. It may feed a regression (fit(models, chunk.values())), a
///                 comparison, a writer, or copy what it keeps; the chunk is reused afterwards.
/// \param metric   correlation (default), cosine, euclidean and sq_euclidean run on the
///                 searchlight kernel (see detail::searchlight_kernel); other metrics (spearman,
///                 mahalanobis) call compute_rdm_into on each searchlight's patterns.
///
/// Searchlights are computed in parallel (OpenMP) within a chunk; each RDM depends on its own
/// searchlight only, so results are identical for any thread count and memory budget.
/// \throws invalid_argument if the data do not match the table, contain NaN/Inf, a searchlight
///         has no member, or the budget cannot hold one RDM.
template <floating_eigen Derived, typename Consumer, typename Metric = metric::correlation>
requires metric::gram_metric<Metric> searchlight_summary
searchlight_rdms(const Eigen::MatrixBase<Derived>& data, const neighbor_table& table,
                 Consumer&& consume, const Metric& metric = {},
                 const searchlight_options& options = {}) {
  using Scalar = typename Derived::Scalar;
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  constexpr const char* function = "searchlight_rdms";
  const Eigen::Index n = data.rows();
  if (n < 2)
    detail::throw_invalid_argument(function,
                                   detail::concat("expected at least 2 conditions, got ", n));
  if (std::size_t(data.cols()) != table.mask_voxels())
    detail::throw_invalid_argument(
        function, detail::concat("expected data with one column per mask voxel (",
                                 table.mask_voxels(), "), got ", data.cols(), " columns"));
  const Eigen::Index pairs = condensed_size(n);
  const std::size_t per_rdm = std::size_t(pairs) * sizeof(Scalar);
  if (options.memory_budget < per_rdm)
    detail::throw_invalid_argument(
        function, detail::concat("expected a memory budget of at least one RDM (", per_rdm,
                                 " bytes), got ", options.memory_budget));
  for (std::size_t c = 0; c < table.size(); ++c)
    if (table[c].members.empty())
      detail::throw_invalid_argument(function,
                                     detail::concat("expected searchlights with at least one "
                                                    "voxel, got none at searchlight ",
                                                    c));

  // Column-major with contiguous columns is read in place; anything else is evaluated once.
  constexpr bool direct = requires(const Derived& d) { d.data(); } &&
                          !(Derived::Flags & Eigen::RowMajorBit) &&
                          Derived::InnerStrideAtCompileTime == 1;
  std::conditional_t<direct, const Derived&, matrix> x(data.derived());
  detail::require_finite(x, 0, function);
  const Scalar* base = x.data();
  const Eigen::Index ld = x.outerStride();

  const std::size_t total = table.size();
  const std::size_t chunk_size = std::max<std::size_t>(
      1, std::min(total, options.memory_budget / per_rdm));
  rdm_stack<Scalar> chunk(n, Eigen::Index(std::min(chunk_size, std::max<std::size_t>(total, 1))));
  searchlight_summary summary;
  const metric::gram_recipe recipe = metric.recipe();

  for (std::size_t first = 0; first < total; first += chunk_size) {
    const std::size_t count = std::min(chunk_size, total - first);
    if (Eigen::Index(count) != chunk.size()) chunk = rdm_stack<Scalar>(n, Eigen::Index(count));
    auto values = chunk.values();
    std::size_t degenerate = 0;
    detail::parallel_error error;
    DNN2BRAIN_OMP(parallel reduction(+ : degenerate)) {
      if constexpr (detail::searchlight_kernel_metric<Metric>) {
        detail::searchlight_kernel<Scalar> kernel(n, table.max_members(), recipe);
        DNN2BRAIN_OMP(for schedule(dynamic, 256))
        for (std::int64_t s = 0; s < std::int64_t(count); ++s)
          degenerate += kernel(base, ld, table[first + std::size_t(s)].members,
                               values.col(Eigen::Index(s)).data())
                            ? 1
                            : 0;
      } else {
        matrix patterns;
        DNN2BRAIN_OMP(for schedule(dynamic, 64))
        for (std::int64_t s = 0; s < std::int64_t(count); ++s)
          error.run(s, [&] {
            const auto members = table[first + std::size_t(s)].members;
            patterns.resize(n, Eigen::Index(members.size()));
            for (std::size_t v = 0; v < members.size(); ++v)
              patterns.col(Eigen::Index(v)) = x.col(members[v]);
            auto column = values.col(Eigen::Index(s));
            degenerate += compute_rdm_into(patterns, column, metric).empty() ? 0 : 1;
          });
      }
    }
    error.rethrow();
    consume(first, static_cast<const rdm_stack<Scalar>&>(chunk));
    summary.searchlights += count;
    summary.degenerate += degenerate;
    ++summary.chunks;
    if (options.progress) options.progress(first + count, total);
  }
  return summary;
}

/// \brief Every searchlight's RDM in one stack (pairs × searchlights, in table order): the
/// "keep all" consumer of searchlight_rdms(), for when the RDMs fit in memory.
template <floating_eigen Derived, typename Metric = metric::correlation>
requires metric::gram_metric<Metric>
[[nodiscard]] rdm_stack<typename Derived::Scalar> compute_searchlight_rdms(
    const Eigen::MatrixBase<Derived>& data, const neighbor_table& table, const Metric& metric = {},
    const searchlight_options& options = {}) {
  using Scalar = typename Derived::Scalar;
  rdm_stack<Scalar> all(std::max<Eigen::Index>(data.rows(), 2), Eigen::Index(table.size()));
  auto out = all.values();
  searchlight_rdms(
      data, table,
      [&](std::size_t first, const rdm_stack<Scalar>& chunk) {
        out.middleCols(Eigen::Index(first), chunk.size()) = chunk.values();
      },
      metric, options);
  return all;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_SEARCHLIGHT_RDMS_HPP
