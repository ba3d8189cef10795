// Task similarity (analysis/task_similarity.hpp): model × model similarity of layer RDMs, linear
// CKA, average-linkage clustering and the comparison with Taskonomy's transfer affinities.
// Oracles: scipy and numpy (tests/reference/make_task_similarity_reference.py writes its inputs
// and results into task_similarity_values.txt, including the first-order rows of the real
// affinity CSV), compare() called pair by pair, Eigen's dense Gram products; invariants of CKA
// (self-similarity, orthogonal and scale invariance, range) and of clustering (planted blocks).
#include <dnn2brain/analysis/paper_tasks.hpp>
#include <dnn2brain/analysis/task_similarity.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <xtensor/xtensor.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using namespace dnn2brain;  // NOLINT(google-build-using-namespace): a test file
using Catch::Matchers::Contains;

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

const std::string& reference_file() {
  static const std::string file =
      (std::filesystem::path(DNN2BRAIN_REFERENCE_FILE).parent_path() / "task_similarity_values.txt")
          .string();
  return file;
}

const test::row_matrix& table(const std::string& name) {
  return test::reference(name, reference_file());
}

// The words of the reference file's comment line "# <key>: word word ...".
std::vector<std::string> comment_words(const std::string& key) {
  std::ifstream in(reference_file());
  const std::string prefix = "# " + key + ":";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) {
      std::istringstream words(line.substr(prefix.size()));
      std::vector<std::string> all;
      for (std::string w; words >> w;) all.push_back(w);
      return all;
    }
  FAIL("no comment line " << prefix);
  return {};
}

template <typename Derived>
std::vector<index_t> as_indices(const Eigen::MatrixBase<Derived>& a) {
  std::vector<index_t> v;
  for (Eigen::Index k = 0; k < a.size(); ++k) v.push_back(static_cast<index_t>(a.reshaped()(k)));
  return v;
}

// The reference's 5 models m0..m4 with layers l0, l1 (sim_rdms: model d's layer l in column 2d+l).
model_set reference_models() {
  const Eigen::MatrixXd rdms = table("sim_rdms");
  model_set models{"l0", "l1"};
  for (index_t d = 0; d < 5; ++d)
    models.add(detail::concat("m", d),
               rdm_stack<double>::from_columns(rdms.middleCols(2 * d, 2), 9));
  return models;
}

// n × p standard-normal activations plus per-feature offsets.
Eigen::MatrixXd activations(index_t n, index_t p, unsigned seed, double offset = 0.0) {
  Eigen::MatrixXd x = test::gaussian(n, p, seed);
  x.rowwise() += offset * test::gaussian(1, p, seed + 1000).row(0).array().abs().matrix();
  return x;
}

// Linear CKA through Eigen's dense Gram products of explicitly centred matrices (double).
double dense_cka(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
  const Eigen::MatrixXd yc = y.rowwise() - y.colwise().mean();
  const Eigen::MatrixXd kx = xc * xc.transpose(), ky = yc * yc.transpose();
  return kx.cwiseProduct(ky).sum() / (kx.norm() * ky.norm());
}

// Whether labels partition the inputs exactly as `blocks` does (up to the labels' names).
bool same_partition(const std::vector<index_t>& labels, const std::vector<index_t>& blocks) {
  std::set<std::pair<index_t, index_t>> pairs;
  std::set<index_t> a(labels.begin(), labels.end()), b(blocks.begin(), blocks.end());
  for (std::size_t i = 0; i < labels.size(); ++i) pairs.emplace(labels[i], blocks[i]);
  return pairs.size() == a.size() && a.size() == b.size();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Model × model similarity
// ---------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("model_similarity matches scipy per layer, averaged and concatenated",
                   "[task_similarity]", measure::spearman, measure::pearson,
                   measure::kendall_tau_a) {
  const model_set models = reference_models();
  const std::string name = TestType::name;
  // Error model: each side sums m = 36 products in double, a relative error of at most about
  // m·ε in every sum; 8·m·ε covers both sides and the final division and square root.
  const double tolerance = 8.0 * 36.0 * eps;
  const auto check = [&](const model_similarity_options& options, const std::string& reference) {
    const similarity_matrix s = model_similarity(models, options, TestType{});
    const double worst = test::max_abs_diff(s.values, table("sim_" + name + "_" + reference));
    INFO(name << " " << reference << ": worst deviation " << worst);
    CHECK(worst <= tolerance);
    CHECK(s.values == s.values.transpose());
    CHECK(s.names == models.names());
    CHECK(s.measure == name);
    CHECK(s.layer == options.layer);
    CHECK(s.over_layers == options.over_layers);
    CHECK(s.at("m1", "m3") == s.values(1, 3));
  };
  check({.layer = "l0"}, "layer0");
  check({.layer = "l1"}, "layer1");
  check({}, "mean");
  check({.over_layers = layer_pooling::concatenated}, "concat");
}

TEST_CASE("model_similarity is the batched form of compare(), pair by pair", "[task_similarity]") {
  const model_set models = reference_models();
  const similarity_matrix s = model_similarity(models, {.layer = "l1"}, measure::kendall_tau_a{});
  const rdm_stack<double> layer = models.layer("l1");
  for (index_t a = 0; a < models.size(); ++a)
    for (index_t b = a; b < models.size(); ++b)
      CHECK(s.values(a, b) == compare(layer.get(a), layer.get(b), measure::kendall_tau_a{}));
  // Kendall's tau-a of an RDM with ties against itself is below 1: the diagonal is computed.
  CHECK(s.values.diagonal().maxCoeff() < 1.0);
}

TEST_CASE("model_similarity: constant RDMs and bad input", "[task_similarity]") {
  model_set models{"l0", "l1"};
  Eigen::MatrixXd rdms = test::gaussian(10, 2, 3).cwiseAbs();
  models.add("a", rdm_stack<double>::from_columns(rdms, 5));
  rdms.col(0).setConstant(0.5);
  models.add("flat", rdm_stack<double>::from_columns(rdms, 5));
  models.add("b", rdm_stack<double>::from_columns(test::gaussian(10, 2, 4).cwiseAbs(), 5));

  const similarity_matrix per_layer = model_similarity(models, {.layer = "l0"});
  CHECK(std::isnan(per_layer.values(1, 0)));
  CHECK(std::isnan(per_layer.values(1, 1)));
  CHECK(std::isfinite(per_layer.values(0, 2)));
  CHECK(std::isnan(model_similarity(models).values(1, 2)));  // the mean carries the NaN
  // Concatenated, the constant layer is only centred (zeros) and the other layer decides.
  const similarity_matrix joined =
      model_similarity(models, {.over_layers = layer_pooling::concatenated}, measure::pearson{});
  CHECK(joined.values(1, 0) ==
        Approx(model_similarity(models, {.layer = "l1"}, measure::pearson{}).values(1, 0) /
               std::sqrt(2.0))
            .epsilon(1e-12));

  REQUIRE_THROWS_WITH(model_similarity(models, {.layer = "block4"}),
                      Contains("dnn2brain::model_similarity: expected one of the 2 layers") &&
                          Contains("'block4'"));
  model_set incomplete{"l0", "l1"};
  incomplete.add_layer("a", "l0", rdm<double>(Eigen::VectorXd::LinSpaced(10, 1.0, 2.0)));
  REQUIRE_THROWS_WITH(model_similarity(incomplete),
                      Contains("dnn2brain::model_similarity") && Contains("without layer 'l1'"));
  REQUIRE_THROWS_WITH(model_similarity(model_set{"l0"}), Contains("with models, got none"));
}

// ---------------------------------------------------------------------------------------------
// Linear CKA
// ---------------------------------------------------------------------------------------------

// Error model of the Gram route against the feature-space formula, both in double: a Gram entry
// is off by at most about b·ε·‖zᵢ‖‖zⱼ‖ (b ≤ p features summed per entry), so ‖δK‖_F ≤ b·ε·tr K ≤
// b·ε·√n·‖K‖_F; numpy's p × p products sum n terms each, ‖δ(XᵀX)‖_F ≤ n·ε·√p‖XᵀX‖_F. CKA is a
// cosine between the Grams, so it moves by at most about 3× their relative error.
double cka_tolerance(index_t n, index_t p) {
  const double nd = static_cast<double>(n), pd = static_cast<double>(p);
  return 4.0 * (std::sqrt(nd) * pd + nd * std::sqrt(pd)) * eps;
}

TEST_CASE("linear_cka matches the feature-space formula (numpy)", "[task_similarity][cka]") {
  const std::vector<Eigen::MatrixXd> xs{table("cka_x0"), table("cka_x1"), table("cka_x2"),
                                        table("cka_x3")};
  const Eigen::MatrixXd expected = table("cka_matrix");
  index_t p_max = 0;
  for (const auto& x : xs) p_max = std::max(p_max, x.cols());
  const double tolerance = cka_tolerance(12, p_max);

  double worst = 0.0;
  for (std::size_t a = 0; a < xs.size(); ++a)
    for (std::size_t b = 0; b < xs.size(); ++b)
      worst = std::max(
          worst, std::abs(linear_cka(xs[a], xs[b]) -
                          expected(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b))));
  const Eigen::MatrixXd matrix = linear_cka_matrix(xs);
  INFO("worst pair deviation " << worst << ", matrix " << test::max_abs_diff(matrix, expected)
                               << ", tolerance " << tolerance);
  CHECK(worst <= tolerance);
  CHECK(test::max_abs_diff(matrix, expected) <= tolerance);
  CHECK(matrix == matrix.transpose());

  // The same from precomputed Grams, streamed in chunks of 7 features.
  std::vector<linear_gram> grams;
  grams.reserve(xs.size());
  for (const auto& x : xs) grams.push_back(compute_linear_gram(x, {.chunk_features = 7}));
  CHECK(test::max_abs_diff(linear_cka_matrix(grams), expected) <= tolerance);
  CHECK(grams[2].features == 120);
  CHECK(grams[2].conditions() == 12);
  CHECK(grams[2].norm == Approx(grams[2].values.norm()).epsilon(1e-15));
}

TEST_CASE("linear_cka of float and xtensor inputs", "[task_similarity][cka]") {
  const Eigen::MatrixXd x = table("cka_x2"), y = table("cka_x3");
  const Eigen::MatrixXf xf = x.cast<float>(), yf = y.cast<float>();
  // Float: the same error model with ε_float, against double CKA of the float-rounded values.
  const double exact = linear_cka(xf.cast<double>(), yf.cast<double>());
  const double tolerance = 4.0 * std::sqrt(12.0) * 120.0 * std::numeric_limits<float>::epsilon();
  INFO("float deviation " << std::abs(linear_cka(xf, yf) - exact) << ", tolerance " << tolerance);
  CHECK(std::abs(linear_cka(xf, yf) - exact) <= tolerance);
  CHECK(std::abs(linear_cka(xf, y.cast<float>().cast<double>()) - exact) <= tolerance);

  // xtensor: conditions first, the other axes flattened in C order: 12 × 10 × 12 is x.
  xt::xtensor<double, 3> tx = xt::zeros<double>({12, 10, 12});
  for (index_t i = 0; i < 12; ++i)
    for (index_t f = 0; f < 120; ++f) tx.data()[i * 120 + f] = x(i, f);
  xt::xtensor<double, 2> ty = xt::zeros<double>({12, 40});
  for (index_t i = 0; i < 12; ++i)
    for (index_t f = 0; f < 40; ++f) ty(i, f) = y(i, f);
  CHECK(linear_cka(tx, ty) == Approx(linear_cka(x, y)).margin(1e-15));
  CHECK(test::max_abs_diff(compute_linear_gram(tx).values, compute_linear_gram(x).values) <= 1e-12);
  const std::vector<xt::xtensor<double, 3>> tensors{tx, tx};
  CHECK(linear_cka_matrix(tensors).minCoeff() == Approx(1.0).margin(4 * eps));
}

TEST_CASE("linear_cka with p >> n against Eigen's dense Gram products", "[task_similarity][cka]") {
  const Eigen::MatrixXd x = activations(16, 20000, 5, 3.0);
  Eigen::MatrixXd y = activations(16, 300, 6);
  y.leftCols(100) += 0.5 * x.leftCols(100);
  const double worst = std::abs(linear_cka(x, y) - dense_cka(x, y));
  INFO("deviation " << worst << ", tolerance " << cka_tolerance(16, 20000));
  CHECK(worst <= cka_tolerance(16, 20000));
  CHECK(linear_cka(x, x) == Approx(1.0).margin(cka_tolerance(16, 20000)));
}

TEST_CASE("linear_cka invariants: self, orthogonal transforms, isotropic scaling, range",
          "[task_similarity][cka]") {
  const index_t n = 15, p = 30;
  const Eigen::MatrixXd x = activations(n, p, 11, 2.0);
  Eigen::MatrixXd y = activations(n, 8, 12);
  y.leftCols(4) += x.leftCols(4);
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(test::gaussian(p, p, 13))
                                .householderQ();       // a random orthogonal p × p matrix
  const double tolerance = cka_tolerance(n, p) * 4.0;  // the transforms round too
  const double base = linear_cka(x, y);
  CHECK(linear_cka(x, x) == Approx(1.0).margin(tolerance));
  CHECK(linear_cka(Eigen::MatrixXd(x * q), y) == Approx(base).margin(tolerance));
  CHECK(linear_cka(Eigen::MatrixXd(3.7 * x), Eigen::MatrixXd(0.01 * y)) ==
        Approx(base).margin(tolerance));
  CHECK(linear_cka(Eigen::MatrixXd(x.array() + 100.0), y) == Approx(base).margin(1e-11));
  CHECK(linear_cka(x, y) == linear_cka(y, x));
  for (unsigned seed = 20; seed < 30; ++seed) {
    const double c = linear_cka(activations(6, 3, seed), activations(6, 2, seed + 50));
    CHECK(c >= 0.0);
    CHECK(c <= 1.0);
  }
}

TEST_CASE("linear_cka: bad input", "[task_similarity][cka]") {
  const Eigen::MatrixXd x = activations(8, 5, 1);
  REQUIRE_THROWS_WITH(linear_cka(x, activations(7, 5, 2)),
                      Contains("dnn2brain::linear_cka: expected activation matrices of the same "
                               "number of conditions, got 8 and 7"));
  REQUIRE_THROWS_WITH(linear_cka(Eigen::MatrixXd(x.topRows(1)), Eigen::MatrixXd(x.topRows(1))),
                      Contains("at least 2 conditions x 1 feature, got 1 x 5"));
  REQUIRE_THROWS_WITH(compute_linear_gram(Eigen::MatrixXd(8, 0)), Contains("got 8 x 0"));
  Eigen::MatrixXd bad = x;
  bad(3, 2) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(linear_cka(x, bad),
                      Contains("expected finite activations, got nan at "
                               "condition 3, feature 2 in activation matrix 1"));
  bad(3, 2) = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_WITH(compute_linear_gram(bad), Contains("dnn2brain::compute_linear_gram") &&
                                                    Contains("got inf at condition 3, feature 2"));
  // Constant over conditions: every row the same, also with large values in float, and zero.
  Eigen::MatrixXf same = Eigen::MatrixXf::Ones(8, 1) * (activations(1, 50, 3).cast<float>() * 1e3f);
  same.array() += 2e3f;
  REQUIRE_THROWS_WITH(linear_cka(x.cast<float>().eval(), same),
                      Contains("constant over conditions") && Contains("in activation matrix 1"));
  REQUIRE_THROWS_WITH(compute_linear_gram(Eigen::MatrixXd::Zero(8, 3)),
                      Contains("constant over conditions"));
  REQUIRE_THROWS_WITH(compute_linear_gram(x, {.chunk_features = -1}),
                      Contains("chunk_features >= 0"));
  REQUIRE_THROWS_WITH(
      linear_cka_matrix(std::vector<Eigen::MatrixXd>{x, activations(9, 5, 2)}),
      Contains("dnn2brain::linear_cka_matrix") && Contains("got 8 in matrix 0 and 9 in matrix 1"));
  REQUIRE_THROWS_WITH(linear_cka_matrix(std::vector<linear_gram>{}), Contains("got none"));
  REQUIRE_THROWS_WITH(linear_cka(compute_linear_gram(x), compute_linear_gram(activations(9, 2, 4))),
                      Contains("same conditions"));
}

// ---------------------------------------------------------------------------------------------
// Average linkage, leaves, flat clusters
// ---------------------------------------------------------------------------------------------

TEST_CASE("average_linkage, leaves_list and fcluster_maxclust match scipy, ties included",
          "[task_similarity][linkage]") {
  // Same operations in the same order as scipy's nn_chain: the merge tables are bit-identical,
  // so tie-breaking (cases 1 to 3 are full of tied distances) is scipy's too.
  for (int c = 0; c < 6; ++c) {
    INFO("case " << c);
    const Eigen::MatrixXd d = table(detail::concat("link", c, "_d"));
    const index_t n = d.rows();
    const Eigen::MatrixXd z = average_linkage(d);
    const Eigen::MatrixXd expected = table(detail::concat("link", c, "_z"));
    INFO("Z =\n" << z << "\nscipy =\n" << expected);
    CHECK(z == expected);
    CHECK(leaves_list(z) == as_indices(table(detail::concat("link", c, "_leaves"))));
    const test::row_matrix clusters = table(detail::concat("link", c, "_fcluster"));
    for (index_t k = 1; k <= n; ++k) {
      INFO("k = " << k);
      CHECK(fcluster_maxclust(z, k) == as_indices(clusters.row(k - 1)));
    }
    std::vector<index_t> each(static_cast<std::size_t>(n));
    std::iota(each.begin(), each.end(), index_t{1});
    CHECK(fcluster_maxclust(z, n + 3) == each);
  }
}

TEST_CASE("average_linkage recovers three planted blocks", "[task_similarity][linkage]") {
  // The reference's interleaved blocks, and 12 shuffled inputs in blocks of 3, 4 and 5.
  const std::vector<index_t> reference_blocks = as_indices(table("link4_blocks"));
  CHECK(same_partition(fcluster_maxclust(average_linkage(table("link4_d")), 3), reference_blocks));

  const std::vector<index_t> blocks{2, 0, 1, 2, 1, 0, 2, 2, 1, 0, 2, 1};
  const index_t n = 12;
  Eigen::MatrixXd noise = test::gaussian(n, n, 9).array().abs() * 0.05;
  Eigen::MatrixXd d(n, n);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) {
      const bool same = blocks[static_cast<std::size_t>(i)] == blocks[static_cast<std::size_t>(j)];
      d(i, j) = i == j ? 0.0 : (same ? 0.2 : 0.9) + noise(std::min(i, j), std::max(i, j));
    }
  const Eigen::MatrixXd z = average_linkage(d);
  CHECK(same_partition(fcluster_maxclust(z, 3), blocks));
  CHECK(fcluster_maxclust(z, 1) == std::vector<index_t>(static_cast<std::size_t>(n), 1));
  // In dendrogram order every block is one run of leaves.
  const std::vector<index_t> leaves = leaves_list(z);
  index_t runs = 1;
  for (std::size_t k = 1; k < leaves.size(); ++k)
    runs += blocks[static_cast<std::size_t>(leaves[k])] !=
            blocks[static_cast<std::size_t>(leaves[k - 1])];
  CHECK(runs == 3);
  // The last two merges join the blocks, at the mean between-block dissimilarity.
  CHECK(z(n - 2, 3) == 12.0);
  CHECK(z(n - 2, 2) > 0.9);
}

TEST_CASE("one_minus_similarity and clustering a model similarity", "[task_similarity][linkage]") {
  const similarity_matrix s = model_similarity(reference_models());
  const Eigen::MatrixXd d = one_minus_similarity(s.values);
  CHECK(d.diagonal().isZero(0.0));
  CHECK(d(0, 1) == 1.0 - s.values(0, 1));
  CHECK(test::max_abs_diff(average_linkage(d), table("link5_z")) <= 8.0 * 36.0 * eps);
}

TEST_CASE("clustering: bad input", "[task_similarity][linkage]") {
  Eigen::MatrixXd d = table("link0_d");
  REQUIRE_THROWS_WITH(average_linkage(Eigen::MatrixXd(d.topRows(3))),
                      Contains("dnn2brain::average_linkage: expected a square dissimilarity "
                               "matrix of at least 2 x 2, got 3 x 8"));
  REQUIRE_THROWS_WITH(average_linkage(Eigen::MatrixXd::Zero(1, 1)), Contains("got 1 x 1"));
  Eigen::MatrixXd bad = d;
  bad(2, 5) += 1e-12;
  REQUIRE_THROWS_WITH(average_linkage(bad), Contains("expected a symmetric matrix"));
  bad = d;
  bad(4, 4) = 0.5;
  REQUIRE_THROWS_WITH(average_linkage(bad),
                      Contains("expected a zero diagonal, got 0.5 at (4, 4)"));
  bad = d;
  bad(1, 6) = bad(6, 1) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(average_linkage(bad), Contains("finite, non-negative") && Contains("(1, 6)"));
  bad(1, 6) = bad(6, 1) = -0.5;
  REQUIRE_THROWS_WITH(average_linkage(bad), Contains("got -0.5 at (1, 6)"));
  REQUIRE_THROWS_WITH(one_minus_similarity(Eigen::MatrixXd::Zero(2, 3)), Contains("square"));

  const Eigen::MatrixXd z = average_linkage(d);
  REQUIRE_THROWS_WITH(leaves_list(Eigen::MatrixXd(z.leftCols(3))),
                      Contains("dnn2brain::leaves_list: expected a linkage matrix"));
  Eigen::MatrixXd twice = z;
  twice(3, 1) = twice(3, 0);
  REQUIRE_THROWS_WITH(leaves_list(twice), Contains("each used once"));
  Eigen::MatrixXd early = z;
  early(0, 1) = 8.0;  // cluster 8 is formed by row 0 itself
  REQUIRE_THROWS_WITH(fcluster_maxclust(early, 2), Contains("dnn2brain::fcluster_maxclust"));
  Eigen::MatrixXd count = z;
  count(2, 3) += 1.0;
  REQUIRE_THROWS_WITH(leaves_list(count), Contains("merged cluster's size"));
  REQUIRE_THROWS_WITH(fcluster_maxclust(z, 0), Contains("at least 1 cluster, got k = 0"));
}

// ---------------------------------------------------------------------------------------------
// Taskonomy transfer affinities
// ---------------------------------------------------------------------------------------------

namespace {

// The first-order rows of the real affinity CSV, as the reference script read them.
transfer_affinities reference_affinities() {
  const std::vector<std::string> tasks = comment_words("affinity_tasks");
  const test::row_matrix& rows = table("aff_triples");
  std::vector<transfer_affinity> triples;
  for (Eigen::Index r = 0; r < rows.rows(); ++r)
    triples.push_back({tasks[static_cast<std::size_t>(rows(r, 0))],
                       tasks[static_cast<std::size_t>(rows(r, 1))], rows(r, 2)});
  return transfer_affinities(triples);
}

}  // namespace

TEST_CASE("transfer_affinities from Taskonomy's first-order rows", "[task_similarity][affinity]") {
  const transfer_affinities affinities = reference_affinities();
  CHECK(affinities.tasks() == comment_words("affinity_tasks"));
  REQUIRE(affinities.size() == 27);
  // 27 sources × 22 targets: five tasks (colorization, impainting_whole, jigsaw, random, self)
  // are sources only.
  CHECK((!affinities.values().array().isNaN()).count() == 594);
  CHECK(affinities("autoencoder", "class_1000") == 0.014074719789938253);
  CHECK(affinities("random", "autoencoder") == 0.00029485712540904414);
  CHECK(std::isnan(affinities("autoencoder", "random")));
  const Eigen::MatrixXd both = affinities.symmetrised();
  CHECK((!both.array().isNaN()).count() == Eigen::Index{22} * 22);
  CHECK(both.cwiseEqual(both.transpose()).count() + both.array().isNaN().count() ==
        Eigen::Index{27} * 27);
  const index_t a = affinities.index("autoencoder"), e = affinities.index("edge2d");
  CHECK(both(a, e) == (affinities.values()(a, e) + affinities.values()(e, a)) / 2.0);
  // The table's orientation is higher = better transfer: every target's self-transfer ranks in
  // the top 8 of its 27 sources, and the untrained network comes last for 12 of the 22 targets.
  const index_t random = affinities.index("random");
  index_t targets = 0, random_last = 0;
  for (index_t t = 0; t < affinities.size(); ++t) {
    const auto column = affinities.values().col(t).array();
    if (column.isNaN().all()) continue;  // a source only
    ++targets;
    CHECK((column > column(t)).count() < 8);
    random_last += (column > column(random)).count() == 26;
  }
  CHECK(targets == 22);
  CHECK(random_last == 12);
  const Eigen::MatrixXd either = affinities.symmetrised(affinity_directions::either);
  CHECK(either(affinities.index("random"), a) == affinities("random", "autoencoder"));
  CHECK(either(a, affinities.index("random")) == affinities("random", "autoencoder"));
}

TEST_CASE("compare_with_affinities matches scipy's spearmanr on the real affinities",
          "[task_similarity][affinity]") {
  const transfer_affinities affinities = reference_affinities();
  const std::vector<std::string> names = comment_words("model_names");
  REQUIRE(names.size() == paper::tasks.size());
  CHECK(std::equal(names.begin(), names.end(), paper::tasks.begin()));
  const Eigen::MatrixXd similarity = table("aff_similarity");
  for (const auto& [rule, directions] :
       {std::pair{std::string("both"), affinity_directions::both},
        std::pair{std::string("either"), affinity_directions::either}}) {
    INFO(rule);
    const affinity_comparison c =
        compare_with_affinities(paper::tasks, similarity, affinities, directions);
    const test::row_matrix& expected = table("aff_" + rule);
    // Ranks are exact; their Pearson correlation over m pairs is good to a few m·ε.
    CHECK(std::abs(c.rho - expected(0, 0)) <= 8.0 * expected(0, 1) * eps);
    CHECK(c.pairs == static_cast<index_t>(expected(0, 1)));
    CHECK(c.similarity.size() == c.pairs);
    CHECK(c.affinity.size() == c.pairs);
    CHECK(c.directions == directions);
    const std::vector<index_t> status = as_indices(table("aff_" + rule + "_status"));
    std::vector<std::string> matched, unknown, without;
    for (std::size_t k = 0; k < names.size(); ++k)
      (status[k] == 1 ? matched : status[k] == 0 ? unknown : without).push_back(names[k]);
    CHECK(c.matched == matched);
    CHECK(c.unknown == unknown);
    CHECK(c.without_pairs == without);
  }
  // What the paper's names find: three are spelt differently in Taskonomy, and colorization and
  // random transfer only as sources, so they have no pair with both directions.
  const affinity_comparison c = compare_with_affinities(paper::tasks, similarity, affinities);
  CHECK(c.unknown ==
        std::vector<std::string>{"class_places", "inpainting_whole", "segmentsemantic"});
  CHECK(c.without_pairs == std::vector<std::string>{"colorization", "random"});
  CHECK(c.pairs == 14 * 13 / 2);
}

TEST_CASE("compare_with_affinities: the sign convention and a similarity_matrix",
          "[task_similarity][affinity]") {
  const transfer_affinities affinities = reference_affinities();
  // A similarity that ranks the pairs as the symmetric affinity does: perfect agreement, which
  // with Taskonomy's orientation (higher = better transfer) reads rho = +1; its negative, -1.
  similarity_matrix s;
  s.names = {"edge2d", "unknown_net", "keypoint2d", "reshade", "rgb2depth", "autoencoder"};
  s.values.setZero(6, 6);
  for (index_t i = 0; i < 6; ++i)
    for (index_t j = 0; j < 6; ++j)
      if (i != j && affinities.contains(s.names[static_cast<std::size_t>(i)]) &&
          affinities.contains(s.names[static_cast<std::size_t>(j)]))
        s.values(i, j) = affinities.pair_value(
            affinities.index(s.names[static_cast<std::size_t>(i)]),
            affinities.index(s.names[static_cast<std::size_t>(j)]), affinity_directions::both);
  const affinity_comparison c = compare_with_affinities(s, affinities);
  CHECK(c.rho == Approx(1.0).margin(1e-14));
  CHECK(compare_with_affinities(s.names, -s.values, affinities).rho == Approx(-1.0).margin(1e-14));
  CHECK(c.pairs == 10);
  CHECK(c.unknown == std::vector<std::string>{"unknown_net"});

  const transfer_affinities few{{"a", "b", 0.1}, {"b", "a", 0.3}, {"a", "c", 0.2}};
  const Eigen::Matrix3d sim = Eigen::Matrix3d::Identity();
  const affinity_comparison small =
      compare_with_affinities(std::vector<std::string>{"a", "b", "c"}, sim, few);
  CHECK(small.pairs == 1);
  CHECK(std::isnan(small.rho));  // fewer than 3 pairs
  CHECK(small.without_pairs == std::vector<std::string>{"c"});
}

TEST_CASE("transfer_affinities and compare_with_affinities: bad input",
          "[task_similarity][affinity]") {
  REQUIRE_THROWS_WITH((transfer_affinities{{"a", "b", 0.1}, {"a", "b", 0.2}}),
                      Contains("dnn2brain::transfer_affinities: expected each (source, target) "
                               "pair once, got 'a' -> 'b' twice"));
  REQUIRE_THROWS_WITH((transfer_affinities{{"a", "", 0.1}}), Contains("non-empty task names"));
  REQUIRE_THROWS_WITH((transfer_affinities{{"a", "b", std::numeric_limits<double>::quiet_NaN()}}),
                      Contains("a finite affinity, got 'a' -> 'b' = nan"));
  const transfer_affinities few{{"a", "b", 0.1}, {"b", "a", 0.3}};
  REQUIRE_THROWS_WITH(few.index("c"), Contains("expected one of the 2 tasks, got 'c'"));
  const std::vector<std::string> names{"a", "b"};
  REQUIRE_THROWS_WITH(compare_with_affinities(names, Eigen::Matrix3d::Zero(), few),
                      Contains("dnn2brain::compare_with_affinities: expected a square similarity "
                               "matrix with one row per name (2), got 3 x 3"));
  REQUIRE_THROWS_WITH(
      compare_with_affinities(std::vector<std::string>{"a", "a"}, Eigen::Matrix2d::Zero(), few),
      Contains("distinct names, got 'a' twice"));
  Eigen::Matrix2d nan = Eigen::Matrix2d::Zero();
  nan(0, 1) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(compare_with_affinities(names, nan, few),
                      Contains("finite similarities, got nan for 'a' and 'b'"));
}
