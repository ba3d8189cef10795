#ifndef DNN2BRAIN_SEARCHLIGHT_DETAIL_SEARCHLIGHT_KERNEL_HPP
#define DNN2BRAIN_SEARCHLIGHT_DETAIL_SEARCHLIGHT_KERNEL_HPP
// IWYU pragma: private

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>
#include <dnn2brain/detail/simd.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>

namespace dnn2brain {
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
/// Its code follows the target's vector width, hence the width-named namespace (see
/// detail/simd.hpp).
inline namespace DNN2BRAIN_SIMD_NAMESPACE {
template <typename Scalar>
class searchlight_kernel {
 public:
  // A per_feature recipe divides each squared distance by the searchlight's voxel count.
  searchlight_kernel(Eigen::Index conditions, std::size_t max_members, metric::scaled_recipe recipe)
      : m_n(conditions), m_recipe(recipe.gram), m_per_feature(recipe.per_feature) {
    constexpr Eigen::Index lanes = simd_lanes<Scalar>;
    // Rows are padded so that a tile starting anywhere before n stays inside, and rows of G up to
    // a whole number of row groups exist (the extra rows read Z's zero padding).
    m_ld = round_up(m_n + tile_rows + tile_vectors * lanes, lanes);
    m_rows = round_up(m_n, tile_rows);
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
    finish(out, k);
    return degenerate;
  }

 private:
  static constexpr Eigen::Index tile_rows = 6;
  static constexpr Eigen::Index tile_vectors = 2;

  Scalar* row(Eigen::Index v) noexcept { return m_z.data() + v * m_ld; }

  // A short copy inlined as whole vectors and a scalar tail: for the ~50-entry runs here a
  // library memmove call costs more than the copy.
  static void copy_run(const Scalar* from, Eigen::Index count, Scalar* to) noexcept {
    Eigen::Index j = 0;
#if DNN2BRAIN_VECTOR_EXTENSIONS
    constexpr Eigen::Index lanes = simd_lanes<Scalar>;
    for (; j + lanes <= count; j += lanes) simd_store(to + j, simd_load(from + j));
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
    constexpr Eigen::Index lanes = simd_lanes<Scalar>;
    const Eigen::Index n = m_n;
    const Eigen::Index np = round_up(n, lanes);
    if (m_recipe.center_features)
      for (Eigen::Index v = 0; v < k; ++v) {
        Scalar* z = row(v);
        Scalar sum = 0;
        for (Eigen::Index a = 0; a < n; ++a) sum += z[a];
        const Scalar mean = sum / static_cast<Scalar>(n);
        for (Eigen::Index a = 0; a < n; ++a) z[a] -= mean;
      }
#if DNN2BRAIN_VECTOR_EXTENSIONS
    using vec = simd_vector<Scalar>;
    const auto store = [](Scalar* to, const vec& value) { std::memcpy(to, &value, sizeof(vec)); };
    // Pass 1: extremes and sums per condition.
    for (Eigen::Index a = 0; a < np; a += lanes) {
      vec low = simd_load(row(0) + a), high = low, sum = low;
      for (Eigen::Index v = 1; v < k; ++v) {
        const vec z = simd_load(row(v) + a);
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
      const vec mean = simd_load(m_mean.data() + a);
      vec diag = {};
      for (Eigen::Index v = 0; v < k; ++v) {
        const vec z = simd_load(row(v) + a) - mean;
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

#if DNN2BRAIN_VECTOR_EXTENSIONS
  // One tile: G[a + r][b + u·lanes …] for r < tile_rows, u < Vectors, summed over the k voxels.
  template <Eigen::Index Vectors>
  void tile(Eigen::Index a, Eigen::Index b, Eigen::Index k) noexcept {
    constexpr Eigen::Index lanes = simd_lanes<Scalar>;
    using vec = simd_vector<Scalar>;
    vec acc[tile_rows][Vectors];
    for (auto& r : acc)
      for (auto& u : r) u = vec{};
    for (Eigen::Index v = 0; v < k; ++v) {
      const Scalar* z = row(v);
      vec zb[Vectors];
      for (Eigen::Index u = 0; u < Vectors; ++u) zb[u] = simd_load(z + b + u * lanes);
      for (Eigen::Index r = 0; r < tile_rows; ++r) {
        const Scalar za = z[a + r];
        for (Eigen::Index u = 0; u < Vectors; ++u) acc[r][u] += za * zb[u];
      }
    }
    // Stored vector by vector, so the accumulators stay registers (a whole-array copy would put
    // the array in memory and zero it with a library call per tile).
    for (Eigen::Index r = 0; r < tile_rows; ++r)
      for (Eigen::Index u = 0; u < Vectors; ++u)
        simd_store(m_gram.data() + (a + r) * m_ld + b + u * lanes, acc[r][u]);
  }
#endif

  // G[a][b] for b > a (and some b <= a, ignored) in row-major m_gram, tile by tile; a run's last
  // part of at most one vector gets a one-vector tile (at n = 50 that computes 1584 entries for
  // the 1225 pairs instead of 1824).
  void accumulate(Eigen::Index k) {
#if DNN2BRAIN_VECTOR_EXTENSIONS
    constexpr Eigen::Index lanes = simd_lanes<Scalar>;
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
  void finish(Scalar* out, Eigen::Index k) {
    constexpr Eigen::Index lanes = simd_lanes<Scalar>;
    for (Eigen::Index a = 0; a + 1 < m_n; ++a) {
      const Eigen::Index length = m_n - a - 1;
      const Eigen::Index padded = round_up(length, lanes);
      Scalar* g = m_gram.data() + a * m_ld + a + 1;
      switch (m_recipe.output) {
        case metric::gram_output::one_minus_r: {
          const Scalar sa = m_scale[std::size_t(a)];
          const Scalar* sb = m_scale.data() + a + 1;
          // scipy clips r to [-1, 1]. A degenerate pattern's NaN scale fails both comparisons,
          // so its distances stay NaN. Written on vectors: the compiler does not if-convert the
          // scalar form under IEEE trapping rules.
#if DNN2BRAIN_VECTOR_EXTENSIONS
          using vec = simd_vector<Scalar>;
          const vec lo = vec{} - Scalar(1), hi = vec{} + Scalar(1);
          for (Eigen::Index j = 0; j < padded; j += lanes) {
            vec r = simd_load(g + j) * sa * simd_load(sb + j);
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
          // rsatoolbox's per-feature distances: d² / k, before any root.
          const Scalar divisor = m_per_feature ? static_cast<Scalar>(k) : Scalar(1);
          for (Eigen::Index j = 0; j < padded; ++j) {
            const Scalar d2 = da + db[j] - Scalar(2) * g[j];
            g[j] = d2 > Scalar(0) ? d2 / divisor : Scalar(0);
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
  bool m_per_feature;
  Eigen::Index m_ld = 0, m_rows = 0;
  // Aligned: Eigen's vectorised sqrt runs on m_scale and on rows of m_gram (see aligned_vector).
  aligned_vector<Scalar> m_z, m_mean, m_diag, m_scale, m_low, m_high, m_gram;
};
}  // namespace DNN2BRAIN_SIMD_NAMESPACE

}  // namespace detail
}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_DETAIL_SEARCHLIGHT_KERNEL_HPP
