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
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/metrics/correlation.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>
#include <dnn2brain/searchlight/detail/searchlight_kernel.hpp>
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
  /// In bytes, hence std::size_t like sizeof.
  std::size_t memory_budget = std::size_t{4} << 20;
  /// Called on the calling thread after each chunk with (searchlights done, total).
  std::function<void(index_t, index_t)> progress;
};

/// What searchlight_rdms() did.
struct searchlight_summary {
  index_t searchlights = 0;  ///< RDMs computed
  index_t chunks = 0;        ///< consumer calls
  /// Searchlights with an undefined (NaN) distance: some condition's pattern is constant over the
  /// searchlight (zero under cosine).
  index_t degenerate = 0;
};

/// \brief The RDMs of any searchlights of a neighbor table on demand: the data checked once, one
/// workspace per thread, then compute(first, out) for any range of searchlights. searchlight_rdms
/// streams a whole table through it; an analysis that needs the same searchlights of several
/// subjects at once (their mean, a noise ceiling) holds one engine per subject.
///
/// data: conditions × in-mask voxels (column c = the mask's voxel c, e.g. from
/// brain_mask::apply); read in place when column-major with contiguous columns, so it must
/// outlive the engine, else copied once. The table must outlive the engine too.
/// metric: correlation (default), cosine, euclidean and sq_euclidean run on the searchlight kernel
/// (see detail::searchlight_kernel); other metrics (spearman, mahalanobis) call compute_rdm_into
/// on each searchlight's patterns.
template <std::floating_point Scalar, typename Metric = metric::correlation>
requires metric::gram_metric<Metric>
class searchlight_engine {
 public:
  /// \throws invalid_argument if the data do not match the table, contain NaN/Inf, or a
  /// searchlight has no member.
  template <floating_eigen Derived>
  requires std::same_as<typename Derived::Scalar, Scalar> searchlight_engine(
      const Eigen::MatrixBase<Derived>& data, const neighbor_table& table,
      const Metric& metric = {})
      : m_table(&table), m_metric(metric), m_conditions(data.rows()) {
    constexpr const char* function = "searchlight_rdms";
    if (m_conditions < 2)
      detail::throw_invalid_argument(
          function, detail::concat("expected at least 2 conditions, got ", m_conditions));
    if (data.cols() != table.mask_voxels())
      detail::throw_invalid_argument(
          function, detail::concat("expected data with one column per mask voxel (",
                                   table.mask_voxels(), "), got ", data.cols(), " columns"));
    for (index_t c = 0; c < table.size(); ++c)
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
    if constexpr (direct) {
      m_data = data.derived().data();
      m_ld = data.derived().outerStride();
    } else {
      m_copy = data.derived();
      m_ld = m_copy.outerStride();
    }
    detail::require_finite_activations(
        Eigen::Map<const matrix, 0, Eigen::OuterStride<>>(base(), m_conditions, data.cols(),
                                                          Eigen::OuterStride<>(m_ld)),
        0, function);
    const metric::scaled_recipe recipe = metric.recipe();
    if (recipe.per_feature && recipe.gram.output == metric::gram_output::one_minus_r)
      detail::throw_invalid_argument(
          function, "expected per_feature with a distance output, got it with 1 - r");
    // One workspace per thread, allocated here, where an allocation failure can still throw.
    if constexpr (detail::searchlight_kernel_metric<Metric, Scalar>)
      m_kernels.assign(std::size_t(detail::max_threads()),
                       detail::searchlight_kernel<Scalar>(
                           m_conditions, std::size_t(table.max_members()), recipe));
  }

  [[nodiscard]] index_t conditions() const noexcept { return m_conditions; }
  [[nodiscard]] const neighbor_table& table() const noexcept { return *m_table; }

  /// \brief The RDMs of searchlights first, …, first + out.size() − 1 (in table order) into out,
  /// in parallel over searchlights (OpenMP, at most as many threads as when the engine was made);
  /// each RDM depends on its own searchlight only, so results are identical for any thread count
  /// and range. Returns how many are degenerate (an undefined distance: some condition's pattern
  /// is constant over the searchlight). Not re-entrant: the engine's workspaces serve one call
  /// at a time.
  /// \throws invalid_argument if out is not over conditions() or the range leaves the table.
  index_t compute(index_t first, rdm_stack<Scalar>& out) const {
    const index_t count = out.size();
    if (out.conditions() != m_conditions || first < 0 || first + count > m_table->size())
      detail::throw_invalid_argument(
          "searchlight_engine::compute",
          detail::concat("expected a stack over ", m_conditions,
                         " conditions and searchlights in [0, ", m_table->size(), "), got ",
                         out.conditions(), " conditions and [", first, ", ", first + count, ")"));
    auto values = out.values();
    index_t degenerate = 0;
    detail::parallel_error error;
    // No more threads than workspaces: the thread count may have grown since construction.
    const int threads = std::max(
        1, std::min(detail::max_threads(), m_kernels.empty() ? detail::max_threads()
                                                             : static_cast<int>(m_kernels.size())));
    // Grains small enough that every thread gets work even in chunks of few large RDMs.
    const auto grain =
        static_cast<int>(std::clamp<index_t>(count / (8 * index_t(threads)), 1, 256));
    DNN2BRAIN_OMP(parallel num_threads(threads) reduction(+ : degenerate))
    {
      if constexpr (detail::searchlight_kernel_metric<Metric, Scalar>) {
        auto& kernel = m_kernels[std::size_t(detail::thread_num())];
        DNN2BRAIN_OMP(for schedule(dynamic, grain))
        for (index_t s = 0; s < count; ++s)
          degenerate +=
              kernel(base(), m_ld, (*m_table)[first + s].members, values.col(s).data()) ? 1 : 0;
      } else {
        const Eigen::Map<const matrix, 0, Eigen::OuterStride<>> x(
            base(), m_conditions, m_table->mask_voxels(), Eigen::OuterStride<>(m_ld));
        matrix patterns;
        DNN2BRAIN_OMP(for schedule(dynamic, grain))
        for (index_t s = 0; s < count; ++s)
          error.run(s, [&] {
            const auto members = (*m_table)[first + s].members;
            patterns.resize(m_conditions, index_t(members.size()));
            for (std::size_t v = 0; v < members.size(); ++v)
              patterns.col(index_t(v)) = x.col(members[v]);
            auto column = values.col(s);
            degenerate += compute_rdm_into(patterns, column, m_metric).empty() ? 0 : 1;
          });
      }
    }
    error.rethrow();
    return degenerate;
  }

 private:
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const neighbor_table* m_table;
  Metric m_metric;
  index_t m_conditions;
  // The data: read in place (m_data), or copied once (m_copy); base() survives a move or copy.
  [[nodiscard]] const Scalar* base() const noexcept { return m_data ? m_data : m_copy.data(); }
  const Scalar* m_data = nullptr;
  matrix m_copy;
  Eigen::Index m_ld = 0;
  // Per thread; a kernel's workspace changes in a call, the engine's results do not.
  mutable std::vector<detail::searchlight_kernel<Scalar>> m_kernels;
};

/// \brief Computes the RDM of every searchlight of a neighbor table, chunk by chunk, and hands
/// each chunk to a consumer while it is hot.
///
/// \param data     conditions × in-mask voxels (column c = the mask's voxel c, e.g. from
///                 brain_mask::apply); read in place when column-major with contiguous columns,
///                 else copied once.
/// \param table    the searchlights; its mask_voxels() must equal data.cols().
/// \param consume  called as consume(index_t first, chunk): chunk is an rdm_stack of the RDMs of
///                 searchlights first, first + 1, …, first + chunk.size() − 1, in table order, on
///                 the calling thread. It may feed a regression (fit(models, chunk.values())), a
///                 comparison, a writer, or copy what it keeps; the chunk is reused afterwards.
/// \param metric   as for searchlight_engine.
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
  const searchlight_engine<Scalar, Metric> engine(data, table, metric);
  const Eigen::Index n = data.rows();
  const std::size_t per_rdm = std::size_t(condensed_size(n)) * sizeof(Scalar);
  if (options.memory_budget < per_rdm)
    detail::throw_invalid_argument("searchlight_rdms",
                                   detail::concat("expected a memory budget of at least one RDM (",
                                                  per_rdm, " bytes), got ", options.memory_budget));
  const index_t total = table.size();
  const auto chunk_size = static_cast<index_t>(
      std::max<std::size_t>(1, std::min(std::size_t(total), options.memory_budget / per_rdm)));
  rdm_stack<Scalar> chunk(n, std::min(chunk_size, std::max<index_t>(total, 1)));
  searchlight_summary summary;
  for (index_t first = 0; first < total; first += chunk_size) {
    const index_t count = std::min(chunk_size, total - first);
    if (count != chunk.size()) chunk = rdm_stack<Scalar>(n, count);
    const index_t degenerate = engine.compute(first, chunk);
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
  rdm_stack<Scalar> all(std::max<index_t>(data.rows(), 2), table.size());
  auto out = all.values();
  searchlight_rdms(
      data, table,
      [&](index_t first, const rdm_stack<Scalar>& chunk) {
        out.middleCols(first, chunk.size()) = chunk.values();
      },
      metric, options);
  return all;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_SEARCHLIGHT_SEARCHLIGHT_RDMS_HPP
