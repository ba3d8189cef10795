#ifndef DNN2BRAIN_ANALYSIS_TASK_SIMILARITY_HPP
#define DNN2BRAIN_ANALYSIS_TASK_SIMILARITY_HPP

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>
#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/detail/finite.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/detail/gram.hpp>

/// \file
/// \brief Task similarity (DESIGN §4.7): which DNNs represent the stimuli alike. Model × model
/// similarity of layer RDMs, linear CKA between activation matrices, average-linkage clustering
/// with scipy's merge table, leaf order and flat clusters, and the comparison of a similarity
/// matrix with Taskonomy's transfer affinities.

namespace dnn2brain {

// ---------------------------------------------------------------------------------------------
// Model × model similarity of layer RDMs
// ---------------------------------------------------------------------------------------------

/// How model_similarity() combines the layers when no layer is named.
enum class layer_pooling {
  /// The mean over layers of the per-layer similarity matrices (the default): every layer counts
  /// equally and the value keeps the per-layer measure's scale.
  mean,
  /// The similarity of the concatenated layer RDMs, each first z-scored per model as
  /// measure::pearson::pool does (a constant RDM is only centred), so that differences between the
  /// layers' offsets and spreads cannot pass for similarity between models.
  concatenated,
};

/// Options of model_similarity().
struct model_similarity_options {
  /// The layer whose RDMs are compared (the paper's "block4" or "encoder_output"); empty: over
  /// all layers, as `over_layers` says.
  std::string layer{};
  layer_pooling over_layers = layer_pooling::mean;
};

/// \brief A named, symmetric D × D similarity matrix: of models' RDMs (model_similarity()), of
/// activations (linear CKA), or any other, with what it measures.
struct similarity_matrix {
  std::vector<std::string> names;  ///< D names, in the order of the rows and columns
  Eigen::MatrixXd values;          ///< D × D, symmetric
  std::string measure;             ///< "spearman", "pearson", "kendall_tau_a", "linear_cka", ...
  std::string layer;               ///< the layer compared; empty when over layers
  layer_pooling over_layers = layer_pooling::mean;  ///< how, when `layer` is empty

  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(names.size()); }
  /// The similarity of two names. \throws invalid_argument for a name not in `names`.
  [[nodiscard]] double at(std::string_view a, std::string_view b) const {
    return values(index(a), index(b));
  }
  /// Position of a name. \throws invalid_argument for a name not in `names`.
  [[nodiscard]] index_t index(std::string_view name) const {
    const auto it = std::ranges::find(names, name);
    if (it == names.end())
      detail::throw_invalid_argument(
          "similarity_matrix::index",
          detail::concat("expected one of the ", names.size(), " names, got '", name, "'"));
    return static_cast<index_t>(it - names.begin());
  }
};

namespace detail {

// Similarity of every pair of columns of `rdms` (pairs × D): column a against columns a..D−1 is
// one batched comparison (compare_columns), the lower triangle mirrors it, so the matrix is
// exactly symmetric and its diagonal is each column against itself.
template <typename Measure>
[[nodiscard]] Eigen::MatrixXd column_similarity(const Eigen::MatrixXd& rdms, const Measure& measure,
                                                const char* function) {
  const index_t d = rdms.cols();
  Eigen::MatrixXd s(d, d);
  for (index_t a = 0; a < d; ++a) {
    const Eigen::VectorXd row =
        compare_columns(rdms.col(a), rdms.rightCols(d - a), measure, nan_policy::raise, function);
    s.col(a).tail(d - a) = row;
    s.row(a).tail(d - a) = row.transpose();
  }
  return s;
}

}  // namespace detail

/// \brief Model × model similarity of the models' layer RDMs.
///
/// Entry (a, b) is the comparison of model a's RDM with model b's under `measure`
/// (measure::spearman by default, measure::pearson, measure::kendall_tau_a, or any rdm_measure),
/// as compare() gives it. With `options.layer` named, the RDMs of that layer are compared; with it
/// empty, over all layers:
/// - layer_pooling::mean: S = (1/L) Σ_l S_l, the mean of the L per-layer matrices;
/// - layer_pooling::concatenated: each model's L layer RDMs, each z-scored (population σ), are
///   concatenated into one vector of L·m entries, and those vectors are compared.
///
/// Each model costs one batched comparison against the models after it (D calls of
/// compare_columns per layer, not D²). The matrix is exactly symmetric. The diagonal is each RDM
/// against itself: 1 for Pearson and Spearman, 1 − (tied pairs)/(m(m − 1)/2) for Kendall's τ_A.
/// A constant RDM has no correlation: its row and column are NaN.
/// \return a similarity_matrix with the models' names, measure name and layer.
/// \throws invalid_argument for an empty or incomplete set or an unknown layer.
/// \par Complexity
///   O(D² m) per layer for Pearson, O(D² m log m) for the rank measures; m = n(n − 1)/2.
template <rdm_measure Measure = measure::spearman>
[[nodiscard]] similarity_matrix model_similarity(const model_set& models,
                                                 const model_similarity_options& options = {},
                                                 const Measure& measure = {}) {
  constexpr const char* function = "model_similarity";
  models.check_complete(function);
  similarity_matrix result{models.names(), {}, Measure::name, options.layer, options.over_layers};
  if (!options.layer.empty()) {
    if (std::ranges::find(models.layers(), options.layer) == models.layers().end())
      detail::throw_invalid_argument(
          function, detail::concat("expected one of the ", models.layer_count(),
                                   " layers of the set, got '", options.layer, "'"));
    result.values =
        detail::column_similarity(models.layer(options.layer).values(), measure, function);
    return result;
  }
  if (options.over_layers == layer_pooling::mean) {
    result.values.setZero(models.size(), models.size());
    for (const std::string& layer : models.layers())
      result.values += detail::column_similarity(models.layer(layer).values(), measure, function);
    result.values /= static_cast<double>(models.layer_count());
    return result;
  }
  const index_t m = models.pairs();
  Eigen::MatrixXd joined(m * models.layer_count(), models.size());
  for (index_t l = 0; l < models.layer_count(); ++l) {
    Eigen::MatrixXd layer = models.layer(models.layers()[static_cast<std::size_t>(l)]).values();
    for (index_t d = 0; d < models.size(); ++d) measure::pearson::pool(layer.col(d));
    joined.middleRows(l * m, m) = layer;
  }
  result.values = detail::column_similarity(joined, measure, function);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Linear CKA
// ---------------------------------------------------------------------------------------------

/// Options of the linear CKA functions.
struct cka_options {
  /// Features per streamed chunk of the Gram engine; 0 picks a cache-sized width (as
  /// rdm_options::chunk_features). Results depend on it only through rounding.
  index_t chunk_features = 0;
};

/// \brief The centred linear Gram matrix of one activation matrix, K = X_c X_cᵀ (n × n, double),
/// X_c the n × p activations with every feature centred over the conditions; what linear CKA
/// needs of a matrix, computed once and reused for every pair.
struct linear_gram {
  Eigen::MatrixXd values;  ///< K, n × n, symmetric positive semi-definite
  double norm = 0.0;       ///< ‖K‖_F = ‖X_cᵀX_c‖_F
  index_t features = 0;    ///< p

  [[nodiscard]] index_t conditions() const noexcept { return values.rows(); }
};

namespace detail {

// compute_linear_gram(); `which` names the matrix in errors (−1: the only one).
template <typename Derived>
[[nodiscard]] linear_gram linear_gram_impl(const Eigen::MatrixBase<Derived>& x,
                                           const cka_options& options, const char* function,
                                           index_t which) {
  using Scalar = typename Derived::Scalar;
  const index_t n = x.rows();
  const index_t p = x.cols();
  const std::string of = which >= 0 ? concat(" in activation matrix ", which) : std::string();
  if (n < 2 || p < 1)
    throw_invalid_argument(
        function, concat("expected at least 2 conditions x 1 feature, got ", n, " x ", p, of));
  if (options.chunk_features < 0)
    throw_invalid_argument(function,
                           concat("expected chunk_features >= 0, got ", options.chunk_features));
  // One pass in double over the raw activations: the finiteness check, and the energy Σx² that
  // bounds what centring leaves of a constant feature (a few n·ε·|x| per entry).
  const double energy = x.template cast<double>().squaredNorm();
  if (!std::isfinite(energy)) {
    require_finite(x, function, "activations", [&](Eigen::Index i, Eigen::Index j) {
      return concat("condition ", i, ", feature ", j, of);
    });
    throw_invalid_argument(function, concat("expected activations whose squares sum to a finite "
                                            "double, got an overflow",
                                            of));
  }
  const metric::gram_recipe centre_features{
      .center_features = true, .center_rows = false, .output = metric::gram_output::distance};
  centred_gram_result c = centred_gram(x, centre_features, options.chunk_features, function);
  const double eps = std::numeric_limits<Scalar>::epsilon();
  const double floor = static_cast<double>(n) * static_cast<double>(n) * eps * eps * energy;
  if (!(c.gram.trace() > floor))
    throw_invalid_argument(
        function,
        concat("expected activations that vary over conditions, got a matrix that is constant "
               "over conditions (every feature zero after centring, to rounding)",
               of));
  linear_gram result;
  result.norm = c.gram.norm();
  result.values = std::move(c.gram);
  result.features = p;
  return result;
}

template <typename X, typename Y>
void check_same_conditions(const X& x, const Y& y, const char* function) {
  if (x.rows() != y.rows())
    throw_invalid_argument(function, concat("expected activation matrices of the same number of "
                                            "conditions, got ",
                                            x.rows(), " and ", y.rows()));
}

}  // namespace detail

/// \brief The centred linear Gram matrix K = X_c X_cᵀ of an n × p activation matrix (conditions
/// first, any Eigen expression, read in place), for linear_cka() and linear_cka_matrix().
///
/// K is accumulated by the RDM Gram engine (compute_rdm's): feature chunks are copied into one
/// cache-sized buffer, centred there and multiplied in the input's scalar type, and the chunk
/// products are summed in double, so a 1M-feature layer is never copied whole and costs n²p
/// flops. Rounding in K is about b·ε·‖zᵢ‖‖zⱼ‖ (z the centred rows, b the chunk width, ε the
/// input's unit roundoff). One more pass in double over the input checks it is finite.
/// \throws invalid_argument if n < 2, p < 1, an activation is NaN or Inf, or the matrix is
///         constant over conditions: tr K ≤ (n·ε)²·Σx², what centring leaves of constant features.
template <floating_eigen Derived>
[[nodiscard]] linear_gram compute_linear_gram(const Eigen::MatrixBase<Derived>& activations,
                                              const cka_options& options = {}) {
  return detail::linear_gram_impl(activations, options, "compute_linear_gram", -1);
}

/// compute_linear_gram() of an xtensor expression whose first axis is conditions; the other axes
/// are flattened in C order (conditions × channels × height × width activations).
template <floating_xexpression E>
[[nodiscard]] linear_gram compute_linear_gram(const xt::xexpression<E>& activations,
                                              const cka_options& options = {}) {
  const xtensor_patterns<typename E::value_type> view(activations, "compute_linear_gram");
  return detail::linear_gram_impl(view.matrix(), options, "compute_linear_gram", -1);
}

/// \brief Linear CKA (Kornblith et al. 2019) from two centred Gram matrices:
/// ⟨K_X, K_Y⟩_F / (‖K_X‖_F ‖K_Y‖_F), clamped to [0, 1].
/// \throws invalid_argument if their condition counts differ.
[[nodiscard]] inline double linear_cka(const linear_gram& x, const linear_gram& y) {
  if (x.conditions() != y.conditions() || x.conditions() < 2)
    detail::throw_invalid_argument(
        "linear_cka", detail::concat("expected Gram matrices of the same conditions (at least 2), "
                                     "got ",
                                     x.conditions(), " and ", y.conditions()));
  return std::clamp(x.values.cwiseProduct(y.values).sum() / (x.norm * y.norm), 0.0, 1.0);
}

/// \brief Linear CKA between two activation matrices X (n × p₁) and Y (n × p₂), rows the same n
/// conditions, every feature centred over the conditions (Kornblith et al. 2019):
///
///   CKA(X, Y) = ‖Y_cᵀX_c‖²_F / (‖X_cᵀX_c‖_F ‖Y_cᵀY_c‖_F) = ⟨K_X, K_Y⟩_F / (‖K_X‖_F ‖K_Y‖_F),
///
/// computed through the n × n Gram matrices K = X_c X_cᵀ (compute_linear_gram()), so that
/// p ≫ n costs O(n²p) and no copy of X or Y. It lies in [0, 1], is 1 for X against itself, and is
/// invariant to orthogonal transforms and isotropic scaling of either matrix's features.
/// Inputs may be float or double, in any mix.
/// \throws invalid_argument if the condition counts differ, n < 2, an activation is NaN or Inf, or
///         either matrix is constant over conditions.
template <floating_eigen X, floating_eigen Y>
[[nodiscard]] double linear_cka(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                                const cka_options& options = {}) {
  constexpr const char* function = "linear_cka";
  detail::check_same_conditions(x, y, function);
  return linear_cka(detail::linear_gram_impl(x, options, function, 0),
                    detail::linear_gram_impl(y, options, function, 1));
}

/// linear_cka() of two xtensor expressions whose first axis is conditions (other axes flattened).
template <floating_xexpression X, floating_xexpression Y>
[[nodiscard]] double linear_cka(const xt::xexpression<X>& x, const xt::xexpression<Y>& y,
                                const cka_options& options = {}) {
  constexpr const char* function = "linear_cka";
  const xtensor_patterns<typename X::value_type> a(x, function);
  const xtensor_patterns<typename Y::value_type> b(y, function);
  detail::check_same_conditions(a.matrix(), b.matrix(), function);
  return linear_cka(detail::linear_gram_impl(a.matrix(), options, function, 0),
                    detail::linear_gram_impl(b.matrix(), options, function, 1));
}

/// \brief The D × D linear CKA matrix of D Gram matrices: entry (a, b) is
/// linear_cka(grams[a], grams[b]). Exactly symmetric; O(D² n²).
/// \throws invalid_argument for no Gram matrix or different condition counts.
[[nodiscard]] inline Eigen::MatrixXd linear_cka_matrix(std::span<const linear_gram> grams) {
  constexpr const char* function = "linear_cka_matrix";
  const auto d = static_cast<index_t>(grams.size());
  if (d == 0)
    detail::throw_invalid_argument(function, "expected at least one Gram matrix, got none");
  for (std::size_t k = 1; k < grams.size(); ++k)
    if (grams[k].conditions() != grams[0].conditions())
      detail::throw_invalid_argument(
          function, detail::concat("expected Gram matrices of the same conditions, got ",
                                   grams[0].conditions(), " in matrix 0 and ",
                                   grams[k].conditions(), " in matrix ", k));
  Eigen::MatrixXd s(d, d);
  for (index_t a = 0; a < d; ++a)
    for (index_t b = a; b < d; ++b)
      s(a, b) = s(b, a) =
          linear_cka(grams[static_cast<std::size_t>(a)], grams[static_cast<std::size_t>(b)]);
  return s;
}

/// \brief The D × D linear CKA matrix of D activation matrices (a range of Eigen matrices or of
/// xtensor arrays, conditions first, float or double): each Gram matrix is computed once, then
/// every pair costs O(n²).
/// \throws invalid_argument as compute_linear_gram() (naming the matrix), for no matrix, or for
///         different condition counts.
template <std::ranges::forward_range Range>
requires(floating_eigen<std::ranges::range_value_t<Range>> ||
         floating_xexpression<std::ranges::range_value_t<Range>>) [[nodiscard]] Eigen::MatrixXd
    linear_cka_matrix(const Range& activations, const cka_options& options = {}) {
  constexpr const char* function = "linear_cka_matrix";
  using value = std::ranges::range_value_t<Range>;
  // Condition counts first: a mismatch is reported before any Gram matrix is computed.
  std::vector<index_t> rows;
  for (const auto& x : activations) {
    if constexpr (floating_eigen<value>)
      rows.push_back(x.rows());
    else
      rows.push_back(x.dimension() == 0 ? 0 : static_cast<index_t>(x.shape()[0]));
  }
  for (std::size_t k = 1; k < rows.size(); ++k)
    if (rows[k] != rows[0])
      detail::throw_invalid_argument(
          function,
          detail::concat("expected activation matrices of the same number of conditions, got ",
                         rows[0], " in matrix 0 and ", rows[k], " in matrix ", k));
  std::vector<linear_gram> grams;
  grams.reserve(rows.size());
  index_t k = 0;
  for (const auto& x : activations) {
    if constexpr (floating_eigen<value>) {
      grams.push_back(detail::linear_gram_impl(x, options, function, k++));
    } else {
      const xtensor_patterns<typename value::value_type> view(x, function);
      grams.push_back(detail::linear_gram_impl(view.matrix(), options, function, k++));
    }
  }
  return linear_cka_matrix(std::span<const linear_gram>(grams));
}

// ---------------------------------------------------------------------------------------------
// Average-linkage (UPGMA) clustering, as scipy.cluster.hierarchy
// ---------------------------------------------------------------------------------------------

/// \brief 1 − similarity with a zero diagonal: the dissimilarity average_linkage() takes, from a
/// square similarity matrix (the diagonal of Kendall's τ_A, below 1 with ties, is ignored).
/// \throws invalid_argument if the matrix is not square.
template <floating_eigen Derived>
[[nodiscard]] Eigen::MatrixXd one_minus_similarity(const Eigen::MatrixBase<Derived>& similarity) {
  if (similarity.rows() != similarity.cols())
    detail::throw_invalid_argument(
        "one_minus_similarity", detail::concat("expected a square matrix, got ", similarity.rows(),
                                               " x ", similarity.cols()));
  Eigen::MatrixXd d = 1.0 - similarity.template cast<double>().array();
  d.diagonal().setZero();
  return d;
}

namespace detail {

// Checks a D × D dissimilarity matrix as average_linkage() requires.
template <typename Derived>
void check_dissimilarity(const Eigen::MatrixBase<Derived>& d, const char* function) {
  if (d.rows() != d.cols() || d.rows() < 2)
    throw_invalid_argument(function, concat("expected a square dissimilarity matrix of at least "
                                            "2 x 2, got ",
                                            d.rows(), " x ", d.cols()));
  for (Eigen::Index i = 0; i < d.rows(); ++i) {
    if (d(i, i) != 0)
      throw_invalid_argument(
          function, concat("expected a zero diagonal, got ", static_cast<double>(d(i, i)), " at (",
                           i, ", ", i, ")"));
    for (Eigen::Index j = i + 1; j < d.cols(); ++j) {
      const auto v = static_cast<double>(d(i, j));
      if (!std::isfinite(v) || v < 0.0)
        throw_invalid_argument(function, concat("expected finite, non-negative dissimilarities, "
                                                "got ",
                                                v, " at (", i, ", ", j, ")"));
      if (d(j, i) != d(i, j))
        throw_invalid_argument(
            function, concat("expected a symmetric matrix, got ", v, " at (", i, ", ", j, ") and ",
                             static_cast<double>(d(j, i)), " at (", j, ", ", i, ")"));
    }
  }
}

// Checks a linkage matrix (scipy's is_valid_linkage: (n − 1) × 4, children ids formed before
// use and used once, non-negative finite distances, consistent counts); returns n.
template <typename Derived>
index_t check_linkage(const Eigen::MatrixBase<Derived>& z, const char* function) {
  if (z.cols() != 4 || z.rows() < 1)
    throw_invalid_argument(function, concat("expected a linkage matrix of n - 1 >= 1 rows x 4 "
                                            "columns, got ",
                                            z.rows(), " x ", z.cols()));
  const index_t n = z.rows() + 1;
  std::vector<double> size(static_cast<std::size_t>(2 * n - 1), 1.0);
  std::vector<bool> used(static_cast<std::size_t>(2 * n - 1), false);
  for (index_t i = 0; i < n - 1; ++i) {
    double count = 0.0;
    for (index_t c = 0; c < 2; ++c) {
      const auto v = static_cast<double>(z(i, c));
      if (!(v >= 0.0 && v < static_cast<double>(n + i) && v == std::floor(v)) ||
          used[static_cast<std::size_t>(v)])
        throw_invalid_argument(
            function,
            concat("expected cluster ids in row i below n + i, each used once (scipy's linkage "
                   "matrix), got ",
                   v, " in row ", i, ", column ", c));
      used[static_cast<std::size_t>(v)] = true;
      count += size[static_cast<std::size_t>(v)];
    }
    const auto distance = static_cast<double>(z(i, 2));
    if (!(std::isfinite(distance) && distance >= 0.0) || static_cast<double>(z(i, 3)) != count)
      throw_invalid_argument(function,
                             concat("expected a finite, non-negative distance and the merged "
                                    "cluster's size, got ",
                                    distance, " and ", static_cast<double>(z(i, 3)), " in row ", i,
                                    " (size ", count, ")"));
    size[static_cast<std::size_t>(n + i)] = count;
  }
  return n;
}

// Children of merge (cluster n + i) as ints.
template <typename Derived>
std::pair<index_t, index_t> children(const Eigen::MatrixBase<Derived>& z, index_t i) {
  return {static_cast<index_t>(z(i, 0)), static_cast<index_t>(z(i, 1))};
}

}  // namespace detail

/// \brief Average-linkage (UPGMA) hierarchical clustering of a D × D dissimilarity matrix: the
/// linkage matrix exactly as `scipy.cluster.hierarchy.linkage(squareform(d), method='average')`
/// returns it.
///
/// Row i, a (D − 1) × 4 matrix, is the merge [a, b, distance, count] that forms cluster D + i;
/// ids below D are the inputs, a < b, and count is the new cluster's size. The distance between
/// clusters is the mean dissimilarity over their members' pairs, updated as
/// d(x∪y, i) = (|x|·d(x, i) + |y|·d(y, i)) / (|x| + |y|). The algorithm is scipy's: the
/// nearest-neighbour chain (which prefers the previous chain element among equal distances, and
/// the lowest index otherwise), rows stably sorted by distance, then relabelled by union-find.
/// Ties therefore break as in scipy, and the arithmetic is the same, operation for operation
/// (bit-identical unless the compiler contracts a·b + c into a fused multiply-add, as
/// -march=native with -ffp-contract=fast may).
/// \throws invalid_argument unless the matrix is square, at least 2 × 2, exactly symmetric, with a
///         zero diagonal and finite, non-negative entries.
/// \par Complexity
///   O(D²) time and memory.
template <floating_eigen Derived>
[[nodiscard]] Eigen::MatrixXd average_linkage(const Eigen::MatrixBase<Derived>& dissimilarity) {
  constexpr const char* function = "average_linkage";
  detail::check_dissimilarity(dissimilarity, function);
  const index_t n = dissimilarity.rows();
  Eigen::VectorXd dist(condensed_size(n));
  for (index_t i = 0; i + 1 < n; ++i)
    for (index_t j = i + 1; j < n; ++j)
      dist[condensed_index(n, i, j)] = static_cast<double>(dissimilarity(i, j));
  const auto at = [&](index_t i, index_t j) -> double& {
    return dist[condensed_index_symmetric(n, i, j)];
  };

  // scipy's nn_chain (_hierarchy.pyx); the merged cluster keeps the larger index y.
  Eigen::MatrixXd z(n - 1, 4);
  std::vector<index_t> size(static_cast<std::size_t>(n), 1);
  std::vector<index_t> chain;
  chain.reserve(static_cast<std::size_t>(n));
  for (index_t k = 0; k < n - 1; ++k) {
    if (chain.empty())
      for (index_t i = 0; i < n; ++i)
        if (size[static_cast<std::size_t>(i)] > 0) {
          chain.push_back(i);
          break;
        }
    index_t x = 0, y = 0;
    double current_min = 0.0;
    while (true) {
      x = chain.back();
      if (chain.size() > 1) {
        y = chain[chain.size() - 2];
        current_min = at(x, y);
      } else {
        current_min = std::numeric_limits<double>::infinity();
      }
      for (index_t i = 0; i < n; ++i) {
        if (size[static_cast<std::size_t>(i)] == 0 || i == x) continue;
        if (const double d = at(x, i); d < current_min) {
          current_min = d;
          y = i;
        }
      }
      if (chain.size() > 1 && y == chain[chain.size() - 2]) break;
      chain.push_back(y);
    }
    chain.resize(chain.size() - 2);
    if (x > y) std::swap(x, y);
    const index_t nx = size[static_cast<std::size_t>(x)];
    const index_t ny = size[static_cast<std::size_t>(y)];
    z.row(k) << static_cast<double>(x), static_cast<double>(y), current_min,
        static_cast<double>(nx + ny);
    size[static_cast<std::size_t>(x)] = 0;
    size[static_cast<std::size_t>(y)] = nx + ny;
    for (index_t i = 0; i < n; ++i) {
      if (size[static_cast<std::size_t>(i)] == 0 || i == y) continue;
      at(i, y) = (static_cast<double>(nx) * at(i, x) + static_cast<double>(ny) * at(i, y)) /
                 static_cast<double>(nx + ny);
    }
  }

  // Stable sort by distance (numpy's mergesort), then scipy's union-find relabelling.
  std::vector<index_t> order(static_cast<std::size_t>(n - 1));
  std::iota(order.begin(), order.end(), index_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](index_t a, index_t b) { return z(a, 2) < z(b, 2); });
  Eigen::MatrixXd sorted(n - 1, 4);
  for (index_t k = 0; k < n - 1; ++k) sorted.row(k) = z.row(order[static_cast<std::size_t>(k)]);
  std::vector<index_t> parent(static_cast<std::size_t>(2 * n - 1));
  std::iota(parent.begin(), parent.end(), index_t{0});
  std::vector<index_t> cluster_size(static_cast<std::size_t>(2 * n - 1), 1);
  const auto find = [&](index_t v) {
    index_t root = v;
    while (parent[static_cast<std::size_t>(root)] != root)
      root = parent[static_cast<std::size_t>(root)];
    while (parent[static_cast<std::size_t>(v)] != root)
      v = std::exchange(parent[static_cast<std::size_t>(v)], root);
    return root;
  };
  for (index_t k = 0; k < n - 1; ++k) {
    const index_t a = find(static_cast<index_t>(sorted(k, 0)));
    const index_t b = find(static_cast<index_t>(sorted(k, 1)));
    const index_t merged = n + k;
    parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(b)] = merged;
    cluster_size[static_cast<std::size_t>(merged)] =
        cluster_size[static_cast<std::size_t>(a)] + cluster_size[static_cast<std::size_t>(b)];
    sorted(k, 0) = static_cast<double>(std::min(a, b));
    sorted(k, 1) = static_cast<double>(std::max(a, b));
    sorted(k, 3) = static_cast<double>(cluster_size[static_cast<std::size_t>(merged)]);
  }
  return sorted;
}

/// \brief The leaves of a linkage matrix in dendrogram order, left to right: what
/// `scipy.cluster.hierarchy.leaves_list(Z)` and `dendrogram(Z, no_plot=True)['leaves']` give
/// (each merge's first child, then its second).
/// \throws invalid_argument for a matrix that is no valid linkage matrix (see average_linkage()).
template <floating_eigen Derived>
[[nodiscard]] std::vector<index_t> leaves_list(const Eigen::MatrixBase<Derived>& linkage) {
  const index_t n = detail::check_linkage(linkage, "leaves_list");
  std::vector<index_t> leaves;
  leaves.reserve(static_cast<std::size_t>(n));
  std::vector<index_t> stack{2 * n - 2};
  while (!stack.empty()) {
    const index_t node = stack.back();
    stack.pop_back();
    if (node < n) {
      leaves.push_back(node);
      continue;
    }
    const auto [left, right] = detail::children(linkage, node - n);
    stack.push_back(right);
    stack.push_back(left);
  }
  return leaves;
}

/// \brief Cuts a linkage tree into at most k flat clusters at the lowest height that allows it:
/// `scipy.cluster.hierarchy.fcluster(Z, k, criterion='maxclust')` as scipy computes it since the
/// fix of gh-12651 (scipy PR #21121; older releases, such as Debian's scipy 1.10, may return
/// fewer clusters than possible).
///
/// The cut height is the smallest merge height t (over the clusters' maximal merge heights) whose
/// cut, every subtree whose merges all lie at or below t, leaves at most k clusters. Merges tied
/// at t fall together, so tied heights can give fewer than k clusters. Labels are 1-based, in
/// scipy's order of discovery (a depth-first walk from the root, subtrees before leaves); k ≥ D
/// gives every input its own cluster, labelled 1..D in input order.
/// \return D labels in 1..(number of clusters).
/// \throws invalid_argument for an invalid linkage matrix or k < 1.
template <floating_eigen Derived>
[[nodiscard]] std::vector<index_t> fcluster_maxclust(const Eigen::MatrixBase<Derived>& linkage,
                                                     index_t k) {
  constexpr const char* function = "fcluster_maxclust";
  const index_t n = detail::check_linkage(linkage, function);
  if (k < 1)
    detail::throw_invalid_argument(function,
                                   detail::concat("expected at least 1 cluster, got k = ", k));
  std::vector<index_t> labels(static_cast<std::size_t>(n));
  if (k >= n) {
    std::iota(labels.begin(), labels.end(), index_t{1});
    return labels;
  }
  // Each cluster's largest merge height over its subtree (scipy's get_max_dist_for_each_cluster;
  // children are formed before their parents, so one forward pass suffices).
  std::vector<double> max_dist(static_cast<std::size_t>(n - 1));
  for (index_t i = 0; i < n - 1; ++i) {
    const auto [left, right] = detail::children(linkage, i);
    double m = static_cast<double>(linkage(i, 2));
    for (const index_t c : {left, right})
      if (c >= n) m = std::max(m, max_dist[static_cast<std::size_t>(c - n)]);
    max_dist[static_cast<std::size_t>(i)] = m;
  }
  // The number of clusters of the cut at height t, stopping early above `limit`.
  std::vector<index_t> stack;
  std::vector<bool> visited(static_cast<std::size_t>(2 * n - 1));
  const auto clusters_at = [&](double t, index_t limit) {
    std::fill(visited.begin(), visited.end(), false);
    index_t count = 0;
    stack.assign(1, 2 * n - 2);
    while (!stack.empty() && count <= limit) {
      const index_t root = stack.back() - n;
      const auto [left, right] = detail::children(linkage, root);
      if (max_dist[static_cast<std::size_t>(root)] <= t) {  // this subtree is one cluster
        ++count;
        stack.pop_back();
        visited[static_cast<std::size_t>(left)] = visited[static_cast<std::size_t>(right)] = true;
        continue;
      }
      bool descended = false;
      for (const index_t child : {left, right}) {
        if (visited[static_cast<std::size_t>(child)]) continue;
        visited[static_cast<std::size_t>(child)] = true;
        if (child >= n) {
          stack.push_back(child);
          descended = true;
          break;
        }
        ++count;  // a singleton
        if (count > limit) break;
      }
      if (!descended) stack.pop_back();
    }
    return count;
  };
  // scipy's binary search over the merges' indices: `lower` never qualifies (−1 stands for −∞),
  // `upper` always does (the root's height gives one cluster).
  index_t lower = -1, upper = n - 2;
  while (upper - lower > 1) {
    const index_t mid = (lower + upper) / 2;
    if (clusters_at(max_dist[static_cast<std::size_t>(mid)], k) > k)
      lower = mid;
    else
      upper = mid;
  }
  const double cutoff = max_dist[static_cast<std::size_t>(upper)];
  // scipy's cluster_monocrit labelling.
  std::fill(visited.begin(), visited.end(), false);
  index_t clusters = 0, leader = -1;
  stack.assign(1, 2 * n - 2);
  while (!stack.empty()) {
    const index_t root = stack.back() - n;
    const auto [left, right] = detail::children(linkage, root);
    if (leader == -1 && max_dist[static_cast<std::size_t>(root)] <= cutoff) {
      leader = root;
      ++clusters;
    }
    if (left >= n && !visited[static_cast<std::size_t>(left)]) {
      visited[static_cast<std::size_t>(left)] = true;
      stack.push_back(left);
      continue;
    }
    if (right >= n && !visited[static_cast<std::size_t>(right)]) {
      visited[static_cast<std::size_t>(right)] = true;
      stack.push_back(right);
      continue;
    }
    for (const index_t child : {left, right})
      if (child < n) {
        if (leader == -1) ++clusters;  // a singleton
        labels[static_cast<std::size_t>(child)] = clusters;
      }
    if (leader == root) leader = -1;
    stack.pop_back();
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Taskonomy transfer affinities
// ---------------------------------------------------------------------------------------------

/// \brief One first-order transfer: how well `source`'s representation transfers to `target`.
///
/// Taskonomy's table (`all_affinities.pkl`; shared/data/taskonomy as CSV, whose rows of order 1,
/// columns sources, target and affinity, are these triples) is oriented higher = better
/// transfer, although shared/data/README.md reads the other way: in every one of its 22 target
/// columns the self-transfer ranks among the top 8 of the 27 sources (first or second in 16),
/// and the untrained `random` source ranks last in 12 of them. Values are kept as given.
struct transfer_affinity {
  std::string source;
  std::string target;
  double value = 0.0;
};

/// Which task pairs have a symmetric affinity.
enum class affinity_directions {
  /// Both directions are known: their mean (the default).
  both,
  /// At least one is known: the mean of those known.
  either,
};

/// \brief First-order transfer affinities between tasks: a task × task matrix, source × target,
/// built from (source, target, value) triples (no file I/O; read the CSV with any reader and pass
/// its order-1 rows).
///
/// Tasks are numbered in order of first appearance in the triples (source, then target). Names are
/// matched exactly: Taskonomy spells some tasks differently from the paper's networks
/// (impainting_whole, segmentsemantic_rb, class_selected).
class transfer_affinities {
 public:
  transfer_affinities() = default;

  /// \throws invalid_argument for an empty task name, a non-finite value or a (source, target)
  /// pair given twice.
  template <std::ranges::input_range Range>
  requires std::convertible_to < std::ranges::range_reference_t<Range>,
  const transfer_affinity& > explicit transfer_affinities(const Range& triples) {
    constexpr const char* function = "transfer_affinities";
    std::vector<std::pair<index_t, index_t>> where;
    std::vector<double> values;
    for (const transfer_affinity& t : triples) {
      if (t.source.empty() || t.target.empty() || !std::isfinite(t.value))
        detail::throw_invalid_argument(
            function, detail::concat("expected non-empty task names and a finite affinity, got '",
                                     t.source, "' -> '", t.target, "' = ", t.value));
      where.emplace_back(add_task(t.source), add_task(t.target));
      values.push_back(t.value);
    }
    const index_t count = size();
    m_values.setConstant(count, count, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t k = 0; k < where.size(); ++k) {
      double& v = m_values(where[k].first, where[k].second);
      if (!std::isnan(v))
        detail::throw_invalid_argument(
            function,
            detail::concat("expected each (source, target) pair once, got '",
                           m_tasks[static_cast<std::size_t>(where[k].first)], "' -> '",
                           m_tasks[static_cast<std::size_t>(where[k].second)], "' twice"));
      v = values[k];
    }
  }
  transfer_affinities(std::initializer_list<transfer_affinity> triples)
      : transfer_affinities(std::span<const transfer_affinity>(triples.begin(), triples.size())) {}

  /// Number of tasks.
  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(m_tasks.size()); }
  [[nodiscard]] const std::vector<std::string>& tasks() const noexcept { return m_tasks; }
  [[nodiscard]] bool contains(std::string_view task) const noexcept { return find(task) >= 0; }
  /// Index of a task. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t index(std::string_view task) const {
    const index_t t = find(task);
    if (t < 0)
      detail::throw_invalid_argument(
          "transfer_affinities::index",
          detail::concat("expected one of the ", size(), " tasks, got '", task, "'"));
    return t;
  }

  /// T × T affinities, row the source, column the target; NaN where no triple was given. The
  /// diagonal holds self-transfers where given.
  [[nodiscard]] const Eigen::MatrixXd& values() const noexcept { return m_values; }
  /// The affinity source → target, NaN if absent. \throws invalid_argument for an unknown task.
  [[nodiscard]] double operator()(std::string_view source, std::string_view target) const {
    return m_values(index(source), index(target));
  }

  /// \brief The symmetrised T × T matrix: (A(s, t) + A(t, s)) / 2 where both directions exist;
  /// with affinity_directions::either, the one direction where only one exists. NaN elsewhere.
  [[nodiscard]] Eigen::MatrixXd symmetrised(
      affinity_directions directions = affinity_directions::both) const {
    const index_t count = size();
    Eigen::MatrixXd s(count, count);
    for (index_t i = 0; i < count; ++i)
      for (index_t j = 0; j < count; ++j) s(i, j) = pair_value(i, j, directions);
    return s;
  }

  /// The symmetric affinity of tasks i and j (see symmetrised()).
  [[nodiscard]] double pair_value(index_t i, index_t j, affinity_directions directions) const {
    const double a = m_values(i, j), b = m_values(j, i);
    if (!std::isnan(a) && !std::isnan(b)) return (a + b) / 2.0;
    if (directions == affinity_directions::either) return std::isnan(a) ? b : a;
    return std::numeric_limits<double>::quiet_NaN();
  }

 private:
  [[nodiscard]] index_t find(std::string_view task) const noexcept {
    const auto it = std::ranges::find(m_tasks, task);
    return it == m_tasks.end() ? -1 : static_cast<index_t>(it - m_tasks.begin());
  }
  index_t add_task(const std::string& task) {
    const index_t t = find(task);
    if (t >= 0) return t;
    m_tasks.push_back(task);
    return size() - 1;
  }

  std::vector<std::string> m_tasks;
  Eigen::MatrixXd m_values;
};

/// What compare_with_affinities() found.
struct affinity_comparison {
  /// Spearman ρ between the similarities and the symmetric affinities over the task pairs: the
  /// Pearson correlation of their average ranks (scipy's spearmanr of the two, unoriented). With
  /// affinities where higher is better transfer (Taskonomy's table), agreement (similar
  /// representations transfer well) gives ρ > 0; with losses (lower is better), ρ < 0. NaN with
  /// fewer than 3 pairs or when either side is constant.
  double rho = std::numeric_limits<double>::quiet_NaN();
  /// The number of unordered pairs of distinct matched names with a symmetric affinity.
  index_t pairs = 0;
  /// Per pair, in order (i < j in the names' order): the similarity and the symmetric affinity.
  Eigen::VectorXd similarity, affinity;
  std::vector<std::string> matched;        ///< names that enter at least one pair
  std::vector<std::string> unknown;        ///< names that are no task of the affinities
  std::vector<std::string> without_pairs;  ///< tasks without an affinity to another matched name
  affinity_directions directions = affinity_directions::both;
};

/// \brief Spearman correlation between a similarity matrix over named models (DNNs named by their
/// tasks) and the tasks' transfer affinities, over the unordered pairs of tasks that both name.
///
/// Names match tasks by exact string equality. For each pair i < j (in the names' order) of
/// matched names with a symmetric affinity (transfer_affinities::pair_value() under
/// `directions`), the pair contributes similarity(i, j), read from the upper triangle, and that
/// affinity. ρ is not oriented: with Taskonomy's affinities (higher is better transfer, see
/// transfer_affinity) agreement shows as ρ > 0.
/// \param names      the D names of the similarity matrix's rows and columns (distinct)
/// \param similarity D × D
/// \throws invalid_argument for a non-square matrix, a names count other than D, a repeated name,
///         or a non-finite similarity in a pair that is used.
template <std::ranges::forward_range Names, floating_eigen Derived>
requires std::convertible_to<std::ranges::range_reference_t<Names>, std::string_view>
[[nodiscard]] affinity_comparison compare_with_affinities(
    const Names& names, const Eigen::MatrixBase<Derived>& similarity,
    const transfer_affinities& affinities,
    affinity_directions directions = affinity_directions::both) {
  constexpr const char* function = "compare_with_affinities";
  std::vector<std::string> all;
  all.reserve(static_cast<std::size_t>(std::ranges::distance(names)));
  for (const auto& name : names) all.emplace_back(std::string_view(name));
  const auto d = static_cast<index_t>(all.size());
  if (similarity.rows() != similarity.cols() || similarity.rows() != d)
    detail::throw_invalid_argument(
        function, detail::concat("expected a square similarity matrix with one row per name (", d,
                                 "), got ", similarity.rows(), " x ", similarity.cols()));
  for (std::size_t a = 0; a < all.size(); ++a)
    if (std::find(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(a), all[a]) !=
        all.begin() + static_cast<std::ptrdiff_t>(a))
      detail::throw_invalid_argument(
          function, detail::concat("expected distinct names, got '", all[a], "' twice"));

  affinity_comparison result;
  result.directions = directions;
  std::vector<index_t> task(all.size(), -1);
  std::vector<bool> used(all.size(), false);
  for (std::size_t a = 0; a < all.size(); ++a)
    if (affinities.contains(all[a])) task[a] = affinities.index(all[a]);
  std::vector<double> s, v;
  for (index_t i = 0; i < d; ++i)
    for (index_t j = i + 1; j < d; ++j) {
      const index_t ti = task[static_cast<std::size_t>(i)], tj = task[static_cast<std::size_t>(j)];
      if (ti < 0 || tj < 0) continue;
      const double value = affinities.pair_value(ti, tj, directions);
      if (std::isnan(value)) continue;
      const auto sim = static_cast<double>(similarity(i, j));
      if (!std::isfinite(sim))
        detail::throw_invalid_argument(
            function, detail::concat("expected finite similarities, got ", sim, " for '",
                                     all[static_cast<std::size_t>(i)], "' and '",
                                     all[static_cast<std::size_t>(j)], "'"));
      s.push_back(sim);
      v.push_back(value);
      used[static_cast<std::size_t>(i)] = used[static_cast<std::size_t>(j)] = true;
    }
  for (std::size_t a = 0; a < all.size(); ++a)
    (used[a]       ? result.matched
     : task[a] < 0 ? result.unknown
                   : result.without_pairs)
        .push_back(all[a]);
  result.pairs = static_cast<index_t>(s.size());
  result.similarity = Eigen::Map<const Eigen::VectorXd>(s.data(), result.pairs);
  result.affinity = Eigen::Map<const Eigen::VectorXd>(v.data(), result.pairs);
  if (result.pairs >= 3)
    result.rho = compare_vectors(result.similarity, result.affinity, measure::spearman{});
  return result;
}

/// compare_with_affinities() of a similarity_matrix (its names and values).
[[nodiscard]] inline affinity_comparison compare_with_affinities(
    const similarity_matrix& similarity, const transfer_affinities& affinities,
    affinity_directions directions = affinity_directions::both) {
  return compare_with_affinities(similarity.names, similarity.values, affinities, directions);
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_TASK_SIMILARITY_HPP
