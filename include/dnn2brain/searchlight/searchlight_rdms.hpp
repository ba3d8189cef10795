#ifndef DNN2BRAIN_SEARCHLIGHT_SEARCHLIGHT_RDMS_HPP
#define DNN2BRAIN_SEARCHLIGHT_SEARCHLIGHT_RDMS_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
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
  /// plus the data matrix, the table and a workspace per thread of about
  /// (max members + n) × (n + 24) scalars, whatever the number of searchlights. The default
  /// keeps a chunk in the caches, so the consumer reads it hot (and writing it costs no memory
  /// traffic): 856 RDMs of 50 conditions in float. Larger chunks suit consumers with a high
  /// per-call cost.
  std::size_t memory_budget = std::size_t{4} << 20;
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
template <typename Metric, typename Scalar>
inline constexpr bool searchlight_kernel_metric =
    !requires(const Metric& m, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& x) {
  m.transform(x);
};

/// \brief Per-thread workspace and kernel for the RDMs of small searchlights.
///
/// A searchlight's k voxels are gathered into Z, k rows of n conditions (the data matrix is read
/// column by column: one voxel's conditions are contiguous), preprocessed by the metric's recipe,
/// and its inner products G[a][b] = Σ_v Z[v][a]·Z[v][b], b > a, formed in tiles of 6 rows a × 2
/// vectors b: per voxel, 6 broadcasts and 2 loads feed 12 independent FMAs, enough to cover FMA
/// latency on two FMA ports. Tiles run along each row group from the diagonal, which computes
/// about 15 % more than the triangle at n = 50 but needs no packing. The distances are then
/// formed from G's rows straight into condensed (pdist) order.
/// All sums are in Scalar, over the k voxels (rounding about k·ε relative to ‖zₐ‖‖z_b‖).
/// Its code follows the target's vector width, hence the width-named namespace (see gram_kernel).
inline namespace DNN2BRAIN_SIMD_NAMESPACE {
template <typename Scalar>
class searchlight_kernel {
 public:
  searchlight_kernel(Eigen::Index conditions, std::size_t max_members, metric::gram_recipe recipe)
      : m_n(conditions), m_recipe(recipe) {
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    // Rows are padded so that a tile starting anywhere before n stays inside, and rows of G up to
    // a whole number of row groups exist (the extra rows read Z's zero padding).
    m_ld = (m_n + tile_rows + tile_vectors * lanes + lanes - 1) / lanes * lanes;
    m_rows = (m_n + tile_rows - 1) / tile_rows * tile_rows;
    m_z.assign(std::max<std::size_t>(max_members, 1) * std::size_t(m_ld), Scalar(0));
    m_mean.assign(std::size_t(m_ld), Scalar(0));
    m_diag.assign(std::size_t(m_ld), Scalar(0));
    m_scale.assign(std::size_t(m_ld), Scalar(0));
    m_low.assign(std::size_t(m_ld), Scalar(0));
    m_high.assign(std::size_t(m_ld), Scalar(0));
    m_gram.assign(std::size_t(m_rows * m_ld), Scalar(0));
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
  static constexpr Eigen::Index tile_rows = 6;
  static constexpr Eigen::Index tile_vectors = 2;

  Scalar* row(Eigen::Index v) noexcept { return m_z.data() + v * m_ld; }

#if defined(__GNUC__) || defined(__clang__)
  static void gram_store(Scalar* to, gram_vector<Scalar> value) noexcept {
    std::memcpy(to, &value, sizeof(value));
  }
#endif

  // A short copy inlined as whole vectors and a scalar tail: for the ~50-entry runs here a
  // library memmove call costs more than the copy.
  static void copy_run(const Scalar* from, Eigen::Index count, Scalar* to) noexcept {
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    Eigen::Index j = 0;
#if defined(__GNUC__) || defined(__clang__)
    for (; j + lanes <= count; j += lanes) {
      const gram_vector<Scalar> v = gram_load(from + j);
      std::memcpy(to + j, &v, sizeof(v));
    }
#endif
    for (; j < count; ++j) to[j] = from[j];
  }

  template <typename Index>
  void gather(const Scalar* data, Eigen::Index ld_data, std::span<const Index> members) {
    for (std::size_t v = 0; v < members.size(); ++v)
      copy_run(data + Eigen::Index(members[v]) * ld_data, m_n, row(Eigen::Index(v)));
  }

  // Applies the recipe in place and records which patterns are degenerate (constant after the
  // feature centring, or zero when nothing is centred), exactly, by comparing extremes. Every
  // pass runs over whole vectors of the padded row: the padding of Z stays zero throughout
  // (its mean is 0), so no pass needs a scalar tail.
  bool normalise(Eigen::Index k) {
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    const Eigen::Index n = m_n;
    const Eigen::Index np = (n + lanes - 1) / lanes * lanes;
    if (m_recipe.center_features)
      for (Eigen::Index v = 0; v < k; ++v) {
        Scalar* z = row(v);
        Scalar sum = 0;
        for (Eigen::Index a = 0; a < n; ++a) sum += z[a];
        const Scalar mean = sum / static_cast<Scalar>(n);
        for (Eigen::Index a = 0; a < n; ++a) z[a] -= mean;
      }
#if defined(__GNUC__) || defined(__clang__)
    using vec = gram_vector<Scalar>;
    const auto store = [](Scalar* to, const vec& value) { std::memcpy(to, &value, sizeof(vec)); };
    // Pass 1: extremes and sums per condition.
    for (Eigen::Index a = 0; a < np; a += lanes) {
      vec low = gram_load(row(0) + a), high = low, sum = low;
      for (Eigen::Index v = 1; v < k; ++v) {
        const vec z = gram_load(row(v) + a);
        low = z < low ? z : low;
        high = z > high ? z : high;
        sum += z;
      }
      store(m_low.data() + a, low);
      store(m_high.data() + a, high);
      store(m_mean.data() + a, m_recipe.center_rows ? sum / static_cast<Scalar>(k) : vec{});
    }
    // Pass 2: centre (when asked) and sum squares.
    for (Eigen::Index a = 0; a < np; a += lanes) {
      const vec mean = gram_load(m_mean.data() + a);
      vec diag = {};
      for (Eigen::Index v = 0; v < k; ++v) {
        const vec z = gram_load(row(v) + a) - mean;
        store(row(v) + a, z);
        diag += z * z;
      }
      store(m_diag.data() + a, diag);
    }
#else
    for (Eigen::Index a = 0; a < np; ++a) {
      Scalar low = row(0)[a], high = low, sum = 0;
      for (Eigen::Index v = 0; v < k; ++v) {
        low = std::min(low, row(v)[a]);
        high = std::max(high, row(v)[a]);
        sum += row(v)[a];
      }
      m_low[std::size_t(a)] = low;
      m_high[std::size_t(a)] = high;
      m_mean[std::size_t(a)] = m_recipe.center_rows ? sum / static_cast<Scalar>(k) : Scalar(0);
      Scalar diag = 0;
      for (Eigen::Index v = 0; v < k; ++v) {
        row(v)[a] -= m_mean[std::size_t(a)];
        diag += row(v)[a] * row(v)[a];
      }
      m_diag[std::size_t(a)] = diag;
    }
#endif
    if (m_recipe.output != metric::gram_output::one_minus_r) return false;
    bool degenerate = false;
    for (Eigen::Index a = 0; a < n; ++a) {
      const std::size_t i = std::size_t(a);
      const bool undefined =
          (m_recipe.center_rows ? m_low[i] == m_high[i] : m_low[i] == 0 && m_high[i] == 0) ||
          !(m_diag[i] > 0);
      degenerate = degenerate || undefined;
      // NaN makes every distance of a degenerate pattern NaN.
      m_scale[i] = undefined ? std::numeric_limits<Scalar>::quiet_NaN() : m_diag[i];
    }
    // 1/‖zₐ‖ on whole vectors (NaN stays NaN). Eigen's packet sqrt, since std::sqrt does not
    // vectorise where it may set errno.
    auto scale = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(m_scale.data(), np);
    scale = scale.sqrt().inverse();
    return degenerate;
  }

#if defined(__GNUC__) || defined(__clang__)
  // One tile: G[a + r][b + u·lanes …] for r < tile_rows, u < Vectors, summed over the k voxels.
  template <Eigen::Index Vectors>
  void tile(Eigen::Index a, Eigen::Index b, Eigen::Index k) noexcept {
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    using vec = gram_vector<Scalar>;
    vec acc[tile_rows][Vectors];
    for (auto& r : acc)
      for (auto& u : r) u = vec{};
    for (Eigen::Index v = 0; v < k; ++v) {
      const Scalar* z = row(v);
      vec zb[Vectors];
      for (Eigen::Index u = 0; u < Vectors; ++u) zb[u] = gram_load(z + b + u * lanes);
      for (Eigen::Index r = 0; r < tile_rows; ++r) {
        const Scalar za = z[a + r];
        for (Eigen::Index u = 0; u < Vectors; ++u) acc[r][u] += za * zb[u];
      }
    }
    // Stored vector by vector, so the accumulators stay registers (a whole-array copy would put
    // the array in memory and zero it with a library call per tile).
    for (Eigen::Index r = 0; r < tile_rows; ++r)
      for (Eigen::Index u = 0; u < Vectors; ++u)
        gram_store(m_gram.data() + (a + r) * m_ld + b + u * lanes, acc[r][u]);
  }
#endif

  // G[a][b] for b > a (and some b <= a, ignored) in row-major m_gram, tile by tile; a run's last
  // part of at most one vector gets a one-vector tile (at n = 50 that computes 1584 entries for
  // the 1225 pairs instead of 1824).
  void accumulate(Eigen::Index k) {
#if defined(__GNUC__) || defined(__clang__)
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    for (Eigen::Index a = 0; a + 1 < m_n; a += tile_rows)
      for (Eigen::Index b = a + 1; b < m_n; b += tile_vectors * lanes) {
        if (m_n - b <= lanes)
          tile<1>(a, b, k);
        else
          tile<tile_vectors>(a, b, k);
      }
#else
    for (Eigen::Index a = 0; a + 1 < m_n; ++a)
      for (Eigen::Index b = a + 1; b < m_n; ++b) {
        Scalar sum = 0;
        for (Eigen::Index v = 0; v < k; ++v) sum += row(v)[a] * row(v)[b];
        m_gram[std::size_t(a * m_ld + b)] = sum;
      }
#endif
  }

  // Distances from G, row by row: formed in place over whole vectors (the rows' padding absorbs
  // the overrun), then copied into condensed order.
  void finish(Scalar* out) {
    constexpr Eigen::Index lanes = gram_lanes<Scalar>;
    for (Eigen::Index a = 0; a + 1 < m_n; ++a) {
      const Eigen::Index length = m_n - a - 1;
      const Eigen::Index padded = (length + lanes - 1) / lanes * lanes;
      Scalar* g = m_gram.data() + a * m_ld + a + 1;
      switch (m_recipe.output) {
        case metric::gram_output::one_minus_r: {
          const Scalar sa = m_scale[std::size_t(a)];
          const Scalar* sb = m_scale.data() + a + 1;
          // scipy clips r to [-1, 1]. A degenerate pattern's NaN scale fails both comparisons,
          // so its distances stay NaN. Written on vectors: the compiler does not if-convert the
          // scalar form under IEEE trapping rules.
#if defined(__GNUC__) || defined(__clang__)
          using vec = gram_vector<Scalar>;
          const vec lo = vec{} - Scalar(1), hi = vec{} + Scalar(1);
          for (Eigen::Index j = 0; j < padded; j += lanes) {
            vec r = gram_load(g + j) * sa * gram_load(sb + j);
            r = r < lo ? lo : r;
            r = r > hi ? hi : r;
            r = hi - r;
            std::memcpy(g + j, &r, sizeof(vec));
          }
#else
          for (Eigen::Index j = 0; j < padded; ++j) {
            Scalar r = g[j] * sa * sb[j];
            r = r < Scalar(-1) ? Scalar(-1) : r;
            r = r > Scalar(1) ? Scalar(1) : r;
            g[j] = Scalar(1) - r;
          }
#endif
          break;
        }
        case metric::gram_output::distance:
        case metric::gram_output::squared_distance: {
          const Scalar da = m_diag[std::size_t(a)];
          const Scalar* db = m_diag.data() + a + 1;
          for (Eigen::Index j = 0; j < padded; ++j) {
            const Scalar d2 = da + db[j] - Scalar(2) * g[j];
            g[j] = d2 > Scalar(0) ? d2 : Scalar(0);
          }
          if (m_recipe.output == metric::gram_output::distance)
            Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(g, padded) =
                Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(g, padded).sqrt();
          break;
        }
      }
      copy_run(g, length, out);
      out += length;
    }
  }

  Eigen::Index m_n;
  metric::gram_recipe m_recipe;
  Eigen::Index m_ld = 0, m_rows = 0;
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
requires metric::gram_metric<Metric> searchlight_summary searchlight_rdms(
    const Eigen::MatrixBase<Derived>& data, const neighbor_table& table, Consumer&& consume,
    const Metric& metric = {}, const searchlight_options& options = {}) {
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
  constexpr bool direct = requires(const Derived& d) {
    d.data();
  }
  &&!(Derived::Flags & Eigen::RowMajorBit) && Derived::InnerStrideAtCompileTime == 1;
  std::conditional_t<direct, const Derived&, matrix> x(data.derived());
  detail::require_finite(x, 0, function);
  const Scalar* base = x.data();
  const Eigen::Index ld = x.outerStride();

  const std::size_t total = table.size();
  const std::size_t chunk_size =
      std::max<std::size_t>(1, std::min(total, options.memory_budget / per_rdm));
  rdm_stack<Scalar> chunk(n, Eigen::Index(std::min(chunk_size, std::max<std::size_t>(total, 1))));
  searchlight_summary summary;
  const metric::gram_recipe recipe = metric.recipe();
  // One workspace per thread, allocated here, where an allocation failure can still throw.
  const int threads = detail::max_threads();
  std::vector<detail::searchlight_kernel<Scalar>> kernels;
  if constexpr (detail::searchlight_kernel_metric<Metric, Scalar>)
    kernels.assign(std::size_t(threads),
                   detail::searchlight_kernel<Scalar>(n, table.max_members(), recipe));

  for (std::size_t first = 0; first < total; first += chunk_size) {
    const std::size_t count = std::min(chunk_size, total - first);
    if (Eigen::Index(count) != chunk.size()) chunk = rdm_stack<Scalar>(n, Eigen::Index(count));
    auto values = chunk.values();
    std::size_t degenerate = 0;
    detail::parallel_error error;
    // Grains small enough that every thread gets work even in chunks of few large RDMs.
    const auto grain =
        static_cast<int>(std::clamp<std::size_t>(count / (8 * std::size_t(threads)), 1, 256));
    DNN2BRAIN_OMP(parallel num_threads(threads) reduction(+ : degenerate))
    {
      if constexpr (detail::searchlight_kernel_metric<Metric, Scalar>) {
        auto& kernel = kernels[std::size_t(detail::thread_num())];
        DNN2BRAIN_OMP(for schedule(dynamic, grain))
        for (std::int64_t s = 0; s < std::int64_t(count); ++s)
          degenerate += kernel(base, ld, table[first + std::size_t(s)].members,
                               values.col(Eigen::Index(s)).data())
                            ? 1
                            : 0;
      } else {
        matrix patterns;
        DNN2BRAIN_OMP(for schedule(dynamic, grain))
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
