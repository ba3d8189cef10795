#ifndef DNN2BRAIN_RDM_DETAIL_GRAM_HPP
#define DNN2BRAIN_RDM_DETAIL_GRAM_HPP
// IWYU pragma: private

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/detail/gram_kernel.hpp>

namespace dnn2brain::detail {

template <typename Scalar>
using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Features per chunk: keeps the n × chunk buffer near 256 KiB, i.e. in L2 while it is reused.
[[nodiscard]] inline Eigen::Index default_chunk(Eigen::Index n, std::size_t scalar_size) {
  const auto target = static_cast<Eigen::Index>(std::size_t{256} * 1024 / scalar_size) /
                      std::max<Eigen::Index>(n, 1);
  return std::clamp<Eigen::Index>(target / 16 * 16, 64, 16384);
}

/// Throws, naming the first non-finite activation of x (features from column_offset on).
template <typename Derived>
void require_finite_activations(const Eigen::MatrixBase<Derived>& x, Eigen::Index column_offset,
                                const char* function) {
  require_finite(x, function, "activations", [column_offset](Eigen::Index i, Eigen::Index j) {
    return concat("condition ", i, ", feature ", column_offset + j);
  });
}

/// Copies features [start, start + width) of x into the top-left n × width block of buffer and,
/// when asked, subtracts each feature's mean over conditions (chunk-local, since a feature's mean
/// involves that feature only; summed in the buffer's scalar type, which perturbs each value by
/// about n·ε·|x|, below the Gram route's b·ε). Finiteness is the caller's to check.
template <typename Derived, typename Buffer>
void load_chunk(const Eigen::MatrixBase<Derived>& x, Eigen::Index start, Eigen::Index width,
                Buffer& buffer, bool center_features) {
  using Scalar = typename Buffer::Scalar;
  auto block = buffer.topLeftCorner(x.rows(), width);
  block = x.middleCols(start, width).template cast<Scalar>();
  if (center_features) {
    const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> means =
        block.colwise().sum() / static_cast<Scalar>(x.rows());
    block.rowwise() -= means;
  }
}

/// Centred second moments of a set of patterns: count, mean vector and the lower triangle of the
/// scatter matrix Σ (z − mean)(z − mean)ᵀ, all in double.
struct moments {
  double count = 0.0;
  Eigen::VectorXd mean;
  Eigen::MatrixXd scatter;

  /// Adds a part whose scatter has already been added into `scatter` (Chan, Golub & LeVeque's
  /// pairwise update): only the spread of the two means enters, never a raw second moment, so no
  /// cancellation grows with the patterns' means.
  void merge_mean(const Eigen::VectorXd& part_mean, double part_count) {
    const double total = count + part_count;
    if (count > 0.0) {
      const Eigen::VectorXd delta = part_mean - mean;
      const Eigen::Index n = delta.size();  // scatter may carry padding rows beyond n
      scatter.topLeftCorner(n, n).triangularView<Eigen::Lower>() +=
          (count * part_count / total) * delta * delta.transpose();
      mean += (part_count / total) * delta;
    } else {
      mean = part_mean;
    }
    count = total;
  }
};

/// Whether the tiled dot-product kernel serves this scalar type (GCC/Clang vector extensions for
/// float and double); other types use Eigen's packed rank update.
template <typename Scalar>
[[nodiscard]] constexpr bool use_gram_tiles() noexcept {
#if DNN2BRAIN_VECTOR_EXTENSIONS
  return std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>;
#else
  return false;
#endif
}

/// Whether x's rows can be addressed directly (row-major, unit inner stride).
template <typename Derived>
constexpr bool has_row_major_data() {
  if constexpr (requires(const Derived& d) {
                  d.data();
                  d.outerStride();
                })
    return (Derived::Flags & Eigen::RowMajorBit) != 0 && Derived::InnerStrideAtCompileTime == 1;
  else
    return false;
}

/// \brief Spreads software prefetches of the next chunk of a row-major input over the tiles of the
/// current one.
///
/// Copying a chunk reads n rows far apart in memory; alone, that phase waits on DRAM while the
/// arithmetic units idle. Prefetching the next chunk a few cache lines per tile overlaps the two.
/// A no-op for inputs without direct row-major access.
template <typename Derived>
class chunk_prefetcher {
 public:
  static constexpr bool enabled = has_row_major_data<Derived>();

  chunk_prefetcher(const Eigen::MatrixBase<Derived>& x, Eigen::Index start, Eigen::Index width,
                   Eigen::Index tiles)
      : m_x(x.derived()), m_start(start) {
    constexpr Eigen::Index line = 64;
    const Eigen::Index bytes =
        std::max<Eigen::Index>(width, 0) * Eigen::Index(sizeof(typename Derived::Scalar));
    m_lines_per_row = (bytes + line - 1) / line;
    m_quota = (m_lines_per_row * x.rows() + tiles - 1) / std::max<Eigen::Index>(tiles, 1);
  }

  void operator()() noexcept {
    if constexpr (enabled) {
#if DNN2BRAIN_VECTOR_EXTENSIONS
      for (Eigen::Index k = 0; k < m_quota && m_row < m_x.rows(); ++k) {
        const char* p =
            reinterpret_cast<const char*>(m_x.data() + m_row * m_x.outerStride() + m_start);
        __builtin_prefetch(p + 64 * m_line, 0, 2);  // into L2, where the copy reads it
        if (++m_line == m_lines_per_row) {
          m_line = 0;
          ++m_row;
        }
      }
#endif
    }
  }

 private:
  const Derived& m_x;
  Eigen::Index m_start;
  Eigen::Index m_lines_per_row = 0, m_quota = 0, m_row = 0, m_line = 0;
};

/// Locates the entry of features [start, start + width) that made a chunk's Gram diagonal
/// non-finite and throws, naming it.
template <typename Derived>
[[noreturn]] DNN2BRAIN_COLD void throw_non_finite_chunk(const Eigen::MatrixBase<Derived>& x,
                                                        Eigen::Index start, Eigen::Index width,
                                                        const char* function) {
  require_finite_activations(x.middleCols(start, width), start, function);
  throw_invalid_argument(function,
                         concat("expected activations whose squares fit the scalar type, got an "
                                "overflow in features [",
                                start, ", ", start + width, "); use double or rdm_method::direct"));
}

/// What centred_gram() returns.
struct centred_gram_result {
  Eigen::MatrixXd gram;  ///< C, full symmetric n × n
  Eigen::VectorXd
      energy;  ///< per pattern, Σ_f z² before row centring (the scale of Cᵢᵢ's rounding)
};

/// \brief Gram matrix of the recipe's centred patterns, streamed over feature chunks.
///
/// Returns the full symmetric n × n matrix C = Z Zᵀ in double, Z the patterns after the recipe's
/// feature and row centring, and its diagonal's reference energy (see below). x is read once, chunk
/// by chunk, and never copied whole.
///
/// Each chunk is copied into a padded row-major buffer in x's scalar type, feature means are
/// subtracted when asked, and for row centring each pattern is centred on its own mean over the
/// chunk. The chunk's Gram product is formed in x's scalar type, corrected to the exact chunk
/// means in double, and merged into the running total with Chan's pairwise update, which adds
/// only the spread of chunk means. Rounding in C is therefore about b·ε·‖zᵢ‖‖zⱼ‖ with z the
/// centred patterns, b the chunk width and ε the scalar's unit roundoff, however large the
/// patterns' means (ReLU layers in float) and however unrepresentative any one chunk is.
///
/// Non-finite input shows up as a non-finite Gram diagonal, checked per chunk; only then is the
/// chunk scanned to name the entry. Determinism: chunk k is merged into lane k mod L in chunk
/// order, lanes are merged in order, and L depends on the chunk count only, so the result is
/// identical for any number of threads.
inline namespace DNN2BRAIN_SIMD_NAMESPACE {  // its padding follows the kernel's vector width
template <typename Derived>
[[nodiscard]] centred_gram_result centred_gram(const Eigen::MatrixBase<Derived>& x,
                                               const metric::gram_recipe& recipe,
                                               Eigen::Index chunk, const char* function) {
  using Scalar = typename Derived::Scalar;
  const Eigen::Index n = x.rows();
  const Eigen::Index p = x.cols();
  constexpr bool tiles = use_gram_tiles<Scalar>();
  // Tiles need rows in multiples of the tile and columns in multiples of the SIMD width.
  const Eigen::Index row_step = tiles ? gram_tile : 1;
  const Eigen::Index col_step = tiles ? simd_lanes<Scalar> : 1;
  const Eigen::Index rows = round_up(n, row_step);
  // Cache-sized chunks, but at least 512 features so each tile's horizontal sums stay cheap.
  Eigen::Index b =
      chunk > 0 ? chunk : std::max<Eigen::Index>(default_chunk(rows, sizeof(Scalar)), 512);
  b = std::min(b, p);
  const Eigen::Index b_padded = round_up(b, col_step);
  const Eigen::Index chunks = (p + b - 1) / b;
  constexpr Eigen::Index max_lanes = 4;
  const Eigen::Index lanes = std::min(max_lanes, chunks);

  std::vector<moments> lane_moments(static_cast<std::size_t>(lanes));
  parallel_error error;
  DNN2BRAIN_OMP(parallel for schedule(static, 1) if (lanes > 1))
  for (Eigen::Index lane = 0; lane < lanes; ++lane) {
    error.run(lane, [&] {
      moments& total = lane_moments[static_cast<std::size_t>(lane)];
      total.scatter.setZero(rows, rows);
      total.mean.setZero(n);
      row_matrix<Scalar> buffer = row_matrix<Scalar>::Zero(rows, b_padded);
      Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> product;
      for (Eigen::Index k = lane; k < chunks; k += lanes) {
        const Eigen::Index start = k * b;
        const Eigen::Index width = std::min(b, p - start);
        load_chunk(x, start, width, buffer, recipe.center_features);
        if (width < b_padded) buffer.rightCols(b_padded - width).setZero();  // last chunk
        auto block = buffer.topLeftCorner(n, width);
        Eigen::VectorXd chunk_mean;
        Eigen::VectorXd residual_sum;  // Σ_f (zᵢf − cᵢ): what the rounded shift c left over
        if (recipe.center_rows) {
          // Any shift is exact here, since the residual sum below corrects for it; the chunk mean
          // in the scalar type (one vectorised pass) keeps the correction small. A constant
          // pattern leaves a constant residue whose scatter cancels to rounding of that residue.
          const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> shift =
              block.rowwise().sum() / static_cast<Scalar>(width);
          block.colwise() -= shift;
          residual_sum = block.rowwise().sum().template cast<double>();
          chunk_mean = shift.template cast<double>() + residual_sum / static_cast<double>(width);
        }
        if constexpr (tiles) {
          const Eigen::Index next = start + lanes * b;  // this lane's next chunk
          const Eigen::Index tile_count = rows / gram_tile * (rows / gram_tile + 1) / 2;
          chunk_prefetcher<Derived> prefetch(x, next, std::min(b, p - next), tile_count);
          gram_tiles_add(buffer.data(), b_padded, rows, b_padded, total.scatter.data(), rows,
                         prefetch);
        } else {
          product.setZero(rows, rows);
          product.template selfadjointView<Eigen::Lower>().rankUpdate(buffer);
          total.scatter.template triangularView<Eigen::Lower>() += product.template cast<double>();
        }
        if (!total.scatter.diagonal().head(n).allFinite())
          throw_non_finite_chunk(x, start, width, function);
        if (recipe.center_rows) {
          // The product used the shift c, not the exact chunk mean: remove the rank-1 remainder.
          total.scatter.topLeftCorner(n, n).template triangularView<Eigen::Lower>() -=
              residual_sum * residual_sum.transpose() / static_cast<double>(width);
          total.merge_mean(chunk_mean, static_cast<double>(width));
        }
      }
    });
  }
  error.rethrow();

  moments& all = lane_moments[0];
  for (std::size_t lane = 1; lane < lane_moments.size(); ++lane) {
    all.scatter += lane_moments[lane].scatter;
    if (recipe.center_rows) all.merge_mean(lane_moments[lane].mean, lane_moments[lane].count);
  }
  centred_gram_result result;
  result.gram = all.scatter.topLeftCorner(n, n);
  result.gram.triangularView<Eigen::StrictlyUpper>() = result.gram.transpose();
  // Energy of each pattern before row centring, Σ_f zᵢf² = Cᵢᵢ + p·meanᵢ²: the scale that rounding
  // in Cᵢᵢ is relative to.
  result.energy = result.gram.diagonal();
  if (recipe.center_rows)
    result.energy += static_cast<double>(p) * all.mean.array().square().matrix();
  return result;
}
}  // namespace DNN2BRAIN_SIMD_NAMESPACE

}  // namespace dnn2brain::detail

#endif  // DNN2BRAIN_RDM_DETAIL_GRAM_HPP
