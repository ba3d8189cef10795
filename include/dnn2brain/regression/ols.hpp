#ifndef DNN2BRAIN_REGRESSION_OLS_HPP
#define DNN2BRAIN_REGRESSION_OLS_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <iterator>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/regression/design.hpp>
#include <dnn2brain/regression/detail/projection_kernel.hpp>

namespace dnn2brain {

/// What a fit returns beyond R² and adjusted R².
struct fit_options {
  /// Also return each design's coefficients ((p + 1) × targets, intercept first).
  bool coefficients = false;
};

/// Which regression score a result, a statistic or a variance partitioning reports.
enum class regression_score {
  r_squared,           ///< R² = 1 − SS_res / SS_tot
  adjusted_r_squared,  ///< 1 − (1 − R²)(m − 1)/(m − rank − 1), unclipped (the default)
  /// √max(adjusted R², 0), the paper's ranking score (see multiple_r): permutation p-values differ
  /// from those of adjusted R² only through its clipping at 0 (every null value ties with an
  /// observed 0).
  multiple_r,
};

/// \brief The paper's ranking score R = √max(R²_adj, 0) (Dwivedi et al. 2021 rank DNNs by it).
///
/// Report adjusted R² itself: the clipping at zero hides models that fit worse than the mean, and
/// averages or t-tests of R are biased. The ranking is the same apart from ties at zero.
[[nodiscard]] inline double multiple_r(double adjusted_r_squared) noexcept {
  return std::sqrt(std::max(adjusted_r_squared, 0.0));
}
/// multiple_r of every entry (NaN stays NaN), evaluated.
template <floating_eigen Derived>
[[nodiscard]] Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> multiple_r(
    const Eigen::MatrixBase<Derived>& adjusted_r_squared) {
  using Scalar = typename Derived::Scalar;
  return adjusted_r_squared.unaryExpr(
      [](Scalar v) { return std::isnan(v) ? v : std::sqrt(std::max(v, Scalar(0))); });
}

/// \brief Scores of D designs fitted to T targets: every matrix is D × T (design d, target t).
struct ols_result {
  Eigen::MatrixXd r_squared;           ///< D × T, R² = 1 − SS_res / SS_tot
  Eigen::MatrixXd adjusted_r_squared;  ///< D × T, 1 − (1 − R²)(m − 1)/(m − rank − 1), unclipped
  /// Per design, (p + 1) × T coefficients with the intercept first; empty unless asked for.
  std::vector<Eigen::MatrixXd> coefficients;
  /// status::degenerate_input when some target is constant (its scores and coefficients are NaN:
  /// R² is undefined), else status::rank_deficient when some design is, else status::success.
  status info = status::success;
  std::vector<index_t> degenerate_targets;  ///< constant targets, ascending

  /// The D × T matrix of one score (on a temporary result, R² or adjusted R² is moved out).
  [[nodiscard]] Eigen::MatrixXd score(regression_score which) const& {
    if (which == regression_score::r_squared) return r_squared;
    if (which == regression_score::multiple_r) return dnn2brain::multiple_r(adjusted_r_squared);
    return adjusted_r_squared;
  }
  [[nodiscard]] Eigen::MatrixXd score(regression_score which) && {
    if (which == regression_score::r_squared) return std::move(r_squared);
    if (which == regression_score::multiple_r) return dnn2brain::multiple_r(adjusted_r_squared);
    return std::move(adjusted_r_squared);
  }
};

/// \brief Several designs over the same pairs, prepared to fit target stacks of one scalar type
/// in one pass over the targets.
///
/// The designs' bases are merged into one orthonormal basis of their union span (classical
/// Gram–Schmidt with reorthogonalisation; directions within √ε of the span so far are dropped,
/// which changes no R² by more than ε). A fit projects every target on that union basis once, with
/// a SIMD kernel in Scalar, then each design's R² follows from a small product with its map onto
/// the union basis, in double. Designs that share no direction keep their own bases side by side
/// instead (the same width, and each R² is a sum of squares of the design's own coordinates).
/// 19 DNNs of 2 layers each cost one 1225 × 38 projection per target; the 2^k − 1 unions of
/// variance partitioning cost no more than the largest of them.
template <std::floating_point Scalar = double>
class design_set {
 public:
  using scalar_type = Scalar;

  /// \throws invalid_argument if designs is empty or their pair counts differ.
  explicit design_set(std::vector<design> designs) : design_set(std::move(designs), true) {}

  /// A set of one design.
  explicit design_set(const design& one) : design_set(std::vector<design>{one}) {}

  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(m_designs.size()); }
  [[nodiscard]] index_t pairs() const noexcept { return m_designs.front().pairs(); }
  [[nodiscard]] const design& operator[](index_t d) const {
    return m_designs[static_cast<std::size_t>(d)];
  }
  /// Dimension of the span of all designs' predictors together (for sets with bases side by
  /// side, from gathered() or gathered_each(), the number of those columns).
  [[nodiscard]] index_t union_rank() const noexcept { return m_union_rank; }
  /// The fewest pairs every design can be gathered on (see gathered()): its predictors + 1.
  [[nodiscard]] index_t min_pairs() const noexcept {
    index_t most = 0;
    for (const design& d : m_designs) most = std::max(most, d.predictors());
    return most + 1;
  }

  /// Every design gathered on the pairs `sources` (see design::gathered).
  [[nodiscard]] design_set gathered(std::span<const index_t> sources) const {
    std::vector<design> designs;
    designs.reserve(m_designs.size());
    index_t ranks = 0;
    for (const design& d : m_designs) {
      designs.push_back(d.gathered(sources));
      ranks += d.rank();
    }
    // Designs that shared no direction here (generically) share none on a resample: their bases
    // go side by side, saving the merge that would dominate a bootstrap's refits. Each design's
    // R² uses its own columns only, so it stays exact even if a resample makes spans meet; then
    // union_rank() counts the columns side by side rather than the union's dimension.
    return design_set(std::move(designs), m_union_rank < ranks);
  }

  /// \brief The set gathered on each list of source pairs, side by side: P·size() designs, design
  /// q·size() + d being design d gathered on sources[q].
  ///
  /// One fit then scores P permutations or resamples in one pass over the targets, and each
  /// design's scores have the same bits as in the set gathered(sources[q]) alone. union_rank()
  /// of the result is the sum of the copies' union ranks.
  /// \throws invalid_argument for no lists, lists of different lengths, or as gathered().
  [[nodiscard]] design_set gathered_each(std::span<const std::vector<index_t>> sources) const {
    if (sources.empty())
      detail::throw_invalid_argument("design_set::gathered_each",
                                     "expected at least one list of source pairs, got none");
    std::vector<design_set> blocks;
    blocks.reserve(sources.size());
    for (const std::vector<index_t>& s : sources) blocks.push_back(gathered(s));
    return design_set(std::move(blocks));
  }

 private:
  template <std::floating_point S, typename Derived>
  friend ols_result fit(const design_set<S>&, const Eigen::MatrixBase<Derived>&, fit_options);

  // merge = false puts the bases side by side: for designs known to share no direction.
  design_set(std::vector<design> designs, bool merge) : m_designs(std::move(designs)) {
    if (m_designs.empty())
      detail::throw_invalid_argument("design_set", "expected at least one design, got none");
    const index_t m = m_designs.front().pairs();
    index_t columns = 0;
    for (std::size_t d = 0; d < m_designs.size(); ++d) {
      if (m_designs[d].pairs() != m)
        detail::throw_invalid_argument(
            "design_set", detail::concat("expected designs over ", m, " pairs, got ",
                                         m_designs[d].pairs(), " pairs in design ", d));
      columns += m_designs[d].rank();
    }
    build_union(m, columns, merge);
    // Designs that share no direction (19 DNNs, generically) keep their own bases side by side:
    // the same width, and each design's R² is the sum of squares of its own coordinates instead
    // of a product with its map onto the merged basis.
    if (merge && m_union_rank == columns) build_union(m, columns, false);
  }

  // The blocks' designs and union bases side by side (blocks share their pair count).
  explicit design_set(std::vector<design_set>&& blocks) {
    const index_t m = blocks.front().pairs();
    for (const design_set& b : blocks) {
      if (b.pairs() != m)
        detail::throw_invalid_argument(
            "design_set::gathered_each",
            detail::concat("expected source lists of equal length, got ", m, " and ", b.pairs()));
      m_union_rank += b.m_union_rank;
    }
    m_width = detail::round_up(m_union_rank, detail::projection_granule<Scalar>);
    m_kernel_basis.setZero(m, m_width);
    index_t at = 0;
    for (design_set& b : blocks) {
      m_kernel_basis.middleCols(at, b.m_union_rank) = b.m_kernel_basis.leftCols(b.m_union_rank);
      std::move(b.m_designs.begin(), b.m_designs.end(), std::back_inserter(m_designs));
      std::move(b.m_maps.begin(), b.m_maps.end(), std::back_inserter(m_maps));
      for (const index_t first : b.m_map_first) m_map_first.push_back(at + first);
      at += b.m_union_rank;
    }
  }

  void build_union(index_t m, index_t columns, bool merge) {
    m_maps.clear();
    m_map_first.clear();
    Eigen::MatrixXd basis(m, columns);
    index_t r = 0;
    const double drop = std::sqrt(std::numeric_limits<double>::epsilon());
    Eigen::VectorXd v(m);
    std::vector<index_t> first, last;  // per design: the union columns its span lies in
    for (const design& d : m_designs) {
      first.push_back(merge ? 0 : r);
      for (index_t i = 0; i < d.rank(); ++i) {
        v = d.basis().col(i);
        if (merge)
          for (int pass = 0; pass < 2; ++pass)
            v -= basis.leftCols(r) * (basis.leftCols(r).transpose() * v);
        const double norm = v.norm();
        if (norm > drop) basis.col(r++) = v / norm;
      }
      last.push_back(r);
    }
    m_union_rank = r;
    m_width = detail::round_up(r, detail::projection_granule<Scalar>);
    m_kernel_basis.setZero(m, m_width);
    m_kernel_basis.leftCols(r) = basis.leftCols(r).template cast<Scalar>();
    // A design's basis lies in the union columns found up to it (later ones were made orthogonal
    // to it): its map needs only those, which halves the per-target work of 19 merged DNNs.
    for (std::size_t d = 0; d < m_designs.size(); ++d) {
      m_map_first.push_back(first[d]);
      m_maps.emplace_back(m_designs[d].basis().transpose() *
                          basis.middleCols(first[d], last[d] - first[d]));
    }
  }

  std::vector<design> m_designs;
  index_t m_union_rank = 0;
  index_t m_width = 0;  // union rank rounded up to the kernel's granule (half a SIMD vector)
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m_kernel_basis;
  // Per design: its basisᵀ · union basis columns [m_map_first, m_map_first + cols).
  std::vector<Eigen::MatrixXd> m_maps;
  std::vector<index_t> m_map_first;
};

namespace detail {
template <typename T>
inline constexpr bool is_design_set = false;
template <typename S>
inline constexpr bool is_design_set<design_set<S>> = true;
}  // namespace detail

namespace detail {

/// Σ f(x_k) in double, in 16 interleaved partial sums (four AVX registers, enough to hide the add
/// latency) merged in a fixed order: vectorisable, and the same bits wherever the column sits in
/// memory.
template <typename Scalar, typename F>
[[nodiscard]] double lane_sum(const Scalar* x, Eigen::Index m, F f) noexcept {
  constexpr int lanes = 16;
  double s[lanes] = {};
  Eigen::Index k = 0;
  for (; k + lanes <= m; k += lanes)
    for (int l = 0; l < lanes; ++l) s[l] += f(static_cast<double>(x[k + l]));
  for (int l = 0; k < m; ++k, ++l) s[l] += f(static_cast<double>(x[k]));
  for (int w = lanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) s[l] += s[l + w];
  return s[0];
}

}  // namespace detail

/// \brief Fits every design of the set to every target: one projection of each target on the
/// union basis, O(m · union_rank) per target, no per-target factorisation.
///
/// targets: m × T, one target RDM per column (column-major storage is read in place; any other
/// layout is copied once). Targets are independent: each result column is computed by the same
/// arithmetic in the same order whichever chunk, block or thread it lands in, so fitting a stack
/// in chunks gives bit-identical results. Parallel over blocks of targets (OpenMP).
///
/// \throws invalid_argument if targets does not have pairs() rows or holds NaN or Inf.
template <std::floating_point Scalar, typename Derived>
[[nodiscard]] ols_result fit(const design_set<Scalar>& set,
                             const Eigen::MatrixBase<Derived>& targets, fit_options options = {}) {
  static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                "dnn2brain::fit: the targets' scalar type must be the design_set's; build a "
                "design_set<float> for float targets, or cast the targets");
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const index_t m = set.pairs(), count = targets.cols(), designs = set.size();
  if (targets.rows() != m)
    detail::throw_invalid_argument(
        "fit", detail::concat("expected targets with ", m, " rows (the designs' pairs), got ",
                              targets.rows()));
  // A view (copying only layouts it cannot read in place); when targets already are such a Ref,
  // copying the Ref copies a pointer and strides.
  const Eigen::Ref<const matrix, 0, Eigen::OuterStride<>>
      y(  // NOLINT(performance-unnecessary-copy-initialization)
          targets.derived());

  ols_result result;
  result.r_squared.resize(designs, count);
  result.adjusted_r_squared.resize(designs, count);
  if (options.coefficients)
    for (index_t d = 0; d < designs; ++d)
      result.coefficients.emplace_back(set[d].predictors() + 1, count);
  std::vector<unsigned char> degenerate(static_cast<std::size_t>(count), 0);

  const index_t width = set.m_width, r_union = set.m_union_rank;
  // Blocks of 48 targets (470 KB in double) stay in L2 between the passes over them; 48 is a
  // multiple of the kernel's tile widths.
  constexpr index_t block = 48;
  static_assert(block % detail::projection_target_multiple == 0);
  const index_t blocks = (count + block - 1) / block;
  constexpr double eps = std::numeric_limits<double>::epsilon();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Scalar> zeros(static_cast<std::size_t>(m), Scalar(0));  // padding target
  // Threads only when there is work for them: waking a team costs far more than a small fit.
  const bool parallel = blocks > 1 && count * m * (width + 8) > (index_t(1) << 22);
  detail::parallel_error errors;
  DNN2BRAIN_OMP(parallel if (parallel))
  {
    std::vector<Scalar> z, shift;
    std::vector<const Scalar*> columns;
    // zt: the union coordinates, union rank × targets; own: the coordinates in one design's
    // basis, rank × targets; coordinates: one target's.
    Eigen::VectorXd means, totals, zt, explained, own, coordinates;
    DNN2BRAIN_OMP(for schedule(dynamic, 1))
    for (index_t b = 0; b < blocks; ++b) {
      errors.run(b, [&] {
        const index_t j0 = b * block, size = std::min(block, count - j0);
        const index_t padded = detail::round_up(size, detail::projection_target_multiple);
        z.resize(static_cast<std::size_t>(width * padded));
        shift.assign(static_cast<std::size_t>(padded), Scalar(0));
        columns.assign(static_cast<std::size_t>(padded), zeros.data());
        means.resize(block);
        totals.resize(block);
        zt.resize(r_union * padded);
        explained.resize(padded);
        own.resize(r_union * padded);
        coordinates.resize(r_union);
        // Means and centred sums of squares in double, two passes over a column in cache.
        for (index_t t = 0; t < size; ++t) {
          const Scalar* column = y.data() + (j0 + t) * y.outerStride();
          const double mean =
              detail::lane_sum(column, m, [](double x) { return x; }) / static_cast<double>(m);
          if (!std::isfinite(mean))  // some entry is not finite: name it
            detail::require_finite(y.col(j0 + t), "fit", "target entries", [&](index_t k, index_t) {
              return detail::concat(detail::pair_name(m, k), " of target ", j0 + t);
            });
          const double total =
              detail::lane_sum(column, m, [mean](double x) { return (x - mean) * (x - mean); });
          columns[static_cast<std::size_t>(t)] = column;
          shift[static_cast<std::size_t>(t)] = static_cast<Scalar>(mean);
          means[t] = mean;
          totals[t] = total;
          // Constant: what is left is the rounding of the mean.
          degenerate[static_cast<std::size_t>(j0 + t)] =
              total <= 256.0 * eps * eps * static_cast<double>(m) * mean * mean;
        }
        detail::project(set.m_kernel_basis.data(), width, m, columns.data(), shift.data(), size,
                        z.data());
        // Per design, the scores of all targets of the block at once: loops over targets are
        // innermost (vectorised across targets), each target's sums run in a fixed order.
        for (index_t l = 0; l < r_union; ++l)
          for (index_t t = 0; t < padded; ++t)
            zt[l * padded + t] = static_cast<double>(z[static_cast<std::size_t>(t * width + l)]);
        for (index_t d = 0; d < designs; ++d) {
          const design& dd = set[d];
          const Eigen::MatrixXd& map = set.m_maps[static_cast<std::size_t>(d)];
          const index_t first = set.m_map_first[static_cast<std::size_t>(d)];
          // A design whose basis spans the union columns its map reaches (the union itself, the
          // first design of a set, a block of gathered_each) has their R²; its map serves
          // coefficients only.
          const bool spans = dd.rank() == map.cols();
          std::fill_n(explained.data(), padded, 0.0);
          if (spans)
            for (index_t l = first; l < first + map.cols(); ++l)
              for (index_t t = 0; t < padded; ++t)
                explained[t] += zt[l * padded + t] * zt[l * padded + t];
          if (!spans || options.coefficients)
            for (index_t i = 0; i < dd.rank(); ++i) {
              double* ci = own.data() + i * padded;
              std::fill_n(ci, padded, 0.0);
              for (index_t l = 0; l < map.cols(); ++l)
                for (index_t t = 0; t < padded; ++t)
                  ci[t] += map(i, l) * zt[(first + l) * padded + t];
              if (!spans)
                for (index_t t = 0; t < padded; ++t) explained[t] += ci[t] * ci[t];
            }
          for (index_t t = 0; t < size; ++t) {
            const index_t j = j0 + t;
            const bool constant = degenerate[static_cast<std::size_t>(j)] != 0;
            const double r2 = constant ? nan : explained[t] / totals[t];
            result.r_squared(d, j) = r2;
            result.adjusted_r_squared(d, j) = constant ? nan : dd.adjust(r2);
            if (!options.coefficients) continue;
            auto beta = result.coefficients[static_cast<std::size_t>(d)].col(j);
            if (constant) {
              beta.setConstant(nan);
              continue;
            }
            for (index_t i = 0; i < dd.rank(); ++i) coordinates[i] = own[i * padded + t];
            dd.coefficients(coordinates.data(), means[t], beta.data());
          }
        }
      });
    }
  }
  errors.rethrow();

  for (index_t j = 0; j < count; ++j)
    if (degenerate[static_cast<std::size_t>(j)]) result.degenerate_targets.push_back(j);
  if (!result.degenerate_targets.empty())
    result.info = status::degenerate_input;
  else
    for (index_t d = 0; d < designs; ++d)
      if (set[d].info() == status::rank_deficient) result.info = status::rank_deficient;
  return result;
}

/// Fits the set to m × T targets in an xtensor array of shape (m, T) (1-D: one target).
template <std::floating_point Scalar, floating_xexpression E>
[[nodiscard]] ols_result fit(const design_set<Scalar>& set, const xt::xexpression<E>& targets,
                             fit_options options = {}) {
  const xtensor_matrix<typename E::value_type> y(targets, "fit");
  return fit(set, y.matrix(), options);
}

/// Fits the set to a stack of target RDMs.
template <std::floating_point Scalar>
[[nodiscard]] ols_result fit(const design_set<Scalar>& set, const rdm_stack<Scalar>& targets,
                             fit_options options = {}) {
  return fit(set, targets.values(), options);
}

/// Fits the set to one target RDM (an ROI).
template <std::floating_point Scalar>
[[nodiscard]] ols_result fit(const design_set<Scalar>& set, const rdm<Scalar>& target,
                             fit_options options = {}) {
  return fit(set, target.values(), options);
}

/// Fits one design to m × T targets (a design_set of one; build the design_set once instead when
/// fitting the same design to many chunks).
template <floating_eigen Derived>
[[nodiscard]] ols_result fit(const design& one, const Eigen::MatrixBase<Derived>& targets,
                             fit_options options = {}) {
  return fit(design_set<typename Derived::Scalar>(one), targets, options);
}

/// Fits one design to m × T targets in an xtensor array of shape (m, T).
template <floating_xexpression E>
[[nodiscard]] ols_result fit(const design& one, const xt::xexpression<E>& targets,
                             fit_options options = {}) {
  return fit(design_set<typename E::value_type>(one), targets, options);
}

/// Fits one design to a stack of target RDMs.
template <std::floating_point Scalar>
[[nodiscard]] ols_result fit(const design& one, const rdm_stack<Scalar>& targets,
                             fit_options options = {}) {
  return fit(design_set<Scalar>(one), targets.values(), options);
}

/// Fits one design to one target RDM.
template <std::floating_point Scalar>
[[nodiscard]] ols_result fit(const design& one, const rdm<Scalar>& target,
                             fit_options options = {}) {
  return fit(design_set<Scalar>(one), target.values(), options);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_REGRESSION_OLS_HPP
