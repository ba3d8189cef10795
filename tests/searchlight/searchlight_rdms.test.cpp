// Streaming searchlight RDMs against the foundation's builder run on one searchlight at a time,
// and their invariance to chunk size and thread count.
#include <dnn2brain/metrics.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/searchlight.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include <catch2/catch.hpp>

#include "support/test_helpers.hpp"

using dnn2brain::brain_mask;
using dnn2brain::index_t;
using dnn2brain::volume_geometry;
namespace nb = dnn2brain::neighborhood;

namespace {

// A blob-shaped mask in a 10 × 9 × 8 volume with 2 × 2 × 3 mm voxels.
brain_mask blob_mask() {
  xt::xtensor<bool, 3> m = xt::zeros<bool>({10, 9, 8});
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 9; ++j)
      for (int k = 0; k < 8; ++k)
        m(i, j, k) = (i - 5) * (i - 5) + (j - 4) * (j - 4) + 2 * (k - 4) * (k - 4) <= 16;
  volume_geometry g;
  g.shape = {10, 9, 8};
  g.affine.diagonal().head<3>() << 2.0, 2.0, 3.0;
  return {m, g};
}

template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> random_betas(Eigen::Index conditions,
                                                                   Eigen::Index voxels,
                                                                   unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x(conditions, voxels);
  for (Eigen::Index v = 0; v < voxels; ++v) {
    const double offset = 5.0 * normal(rng);  // voxel baselines, as in fMRI betas
    for (Eigen::Index c = 0; c < conditions; ++c)
      x(c, v) = static_cast<Scalar>(offset + normal(rng));
  }
  return x;
}

// The RDM of one searchlight by the foundation's builder, in double on the float data: the
// oracle the kernel's rounding is measured against.
template <typename Scalar, typename Metric>
Eigen::VectorXd one_at_a_time(const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& x,
                              const dnn2brain::searchlight& s, const Metric& metric) {
  Eigen::MatrixXd patterns(x.rows(), s.size());
  for (index_t v = 0; v < s.size(); ++v)
    patterns.col(v) = x.col(s.members[std::size_t(v)]).template cast<double>();
  return dnn2brain::compute_rdm(patterns, metric).values();
}

template <typename Scalar, typename Metric>
void check_against_builder(const Metric& metric, double scale_of_values, double radius_mm = 4.0) {
  const brain_mask mask = blob_mask();
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{radius_mm, nb::unit::mm});
  const auto x = random_betas<Scalar>(12, mask.size(), 11);
  const auto all = dnn2brain::compute_searchlight_rdms(x, table, metric);
  REQUIRE(all.size() == table.size());
  REQUIRE(all.pairs() == 66);
  // Error model: inner products over k voxels in Scalar, |error| <= k·ε·‖zₐ‖‖z_b‖, which moves a
  // correlation distance by about (k + 4)·ε and a squared distance by k·ε·(‖zₐ‖² + ‖z_b‖²).
  // Euclidean distances are compared squared: near zero, d itself carries √(that) error.
  const double eps = std::numeric_limits<Scalar>::epsilon();
  constexpr bool root = std::is_same_v<Metric, dnn2brain::metric::euclidean>;
  double worst = 0.0;
  for (const auto& s : table) {
    Eigen::VectorXd want = one_at_a_time(x, s, metric);
    Eigen::VectorXd got = all.column(s.index).template cast<double>();
    if (root) {
      want = want.array().square();
      got = got.array().square();
    }
    const double bound = 4.0 * (double(s.size()) + 4.0) * eps * scale_of_values;
    const double deviation = dnn2brain::test::max_abs_diff(got, want);
    worst = std::max(worst, deviation / bound);
  }
  INFO("worst deviation / error bound: " << worst);
  CHECK(worst <= 1.0);
}

}  // namespace

TEST_CASE("Searchlight RDMs equal the builder's RDMs of each searchlight", "[searchlight]") {
  SECTION("correlation, float") {
    check_against_builder<float>(dnn2brain::metric::correlation{}, 1);
  }
  SECTION("correlation, double") {
    check_against_builder<double>(dnn2brain::metric::correlation{}, 1);
  }
  SECTION("correlation with centered features") {
    check_against_builder<float>(dnn2brain::metric::correlation{true}, 1);
  }
  SECTION("cosine") {
    check_against_builder<float>(dnn2brain::metric::cosine{}, 1);
  }
  // Squared distances of unit-variance patterns over up to ~30 voxels: values up to ~150.
  SECTION("euclidean") {
    check_against_builder<double>(dnn2brain::metric::euclidean{}, 200);
  }
  SECTION("squared euclidean") {
    check_against_builder<float>(dnn2brain::metric::sq_euclidean{}, 200);
  }
  // rsatoolbox's per-feature distances: divided by each searchlight's voxel count.
  SECTION("squared euclidean per feature") {
    check_against_builder<float>(dnn2brain::metric::sq_euclidean{.per_feature = true}, 200);
  }
  SECTION("euclidean per feature") {
    check_against_builder<double>(dnn2brain::metric::euclidean{.per_feature = true}, 200);
  }
}

TEST_CASE("Metrics without a searchlight kernel run the builder itself, bit for bit",
          "[searchlight]") {
  const brain_mask mask = blob_mask();
  const auto table = dnn2brain::make_neighbor_table(mask, nb::cube{1});
  const auto x = random_betas<double>(9, mask.size(), 5);
  const auto all = dnn2brain::compute_searchlight_rdms(x, table, dnn2brain::metric::spearman{});
  for (const auto& s : table) {
    Eigen::MatrixXd patterns(x.rows(), s.size());
    for (index_t v = 0; v < s.size(); ++v) patterns.col(v) = x.col(s.members[std::size_t(v)]);
    const auto want = dnn2brain::compute_rdm(patterns, dnn2brain::metric::spearman{});
    REQUIRE((all.column(s.index).array() == want.values().array()).all());
  }
}

TEST_CASE("Searchlight RDMs do not depend on the chunk size or the thread count", "[searchlight]") {
  const brain_mask mask = blob_mask();
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{2.0});
  const auto x = random_betas<float>(20, mask.size(), 3);
  const auto reference = dnn2brain::compute_searchlight_rdms(x, table);
  const std::size_t rdm_bytes = 190 * sizeof(float);
  for (const index_t per_chunk : {index_t{1}, index_t{7}, index_t{100}}) {
    for (const int threads : {1, 2}) {
      CAPTURE(per_chunk, threads);
      dnn2brain::test::thread_count scope(threads);
      Eigen::MatrixXf got(190, table.size());
      std::vector<index_t> progress;
      index_t expected_first = 0;
      const auto summary = dnn2brain::searchlight_rdms(
          x, table,
          [&](index_t first, const dnn2brain::rdm_stack<float>& chunk) {
            CHECK(first == expected_first);
            CHECK(chunk.size() <= per_chunk);
            got.middleCols(first, chunk.size()) = chunk.values();
            expected_first += chunk.size();
          },
          dnn2brain::metric::correlation{},
          {.memory_budget = std::size_t(per_chunk) * rdm_bytes + 3,
           .progress = [&](index_t done, index_t) { progress.push_back(done); }});
      CHECK(summary.searchlights == table.size());
      CHECK(summary.chunks == (table.size() + per_chunk - 1) / per_chunk);
      CHECK(summary.degenerate == 0);
      CHECK(progress.back() == table.size());
      CHECK((got.array() == reference.values().array()).all());
    }
  }
  // A block with an outer stride (the top rows of a taller matrix) is read in place, same bits.
  Eigen::MatrixXf taller(23, x.cols());
  taller.setConstant(7.0f);
  taller.topRows(20) = x;
  CHECK((dnn2brain::compute_searchlight_rdms(taller.topRows(20), table).values().array() ==
         reference.values().array())
            .all());
  // Row-major input is copied once and gives the same bits.
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = x;
  CHECK((dnn2brain::compute_searchlight_rdms(row_major, table).values().array() ==
         reference.values().array())
            .all());
}

TEST_CASE("A pattern constant over a searchlight gives NaN distances and is counted",
          "[searchlight]") {
  const brain_mask mask = blob_mask();
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  auto x = random_betas<float>(6, mask.size(), 9);
  // Condition 2 is constant over searchlight 0's voxels: its 5 distances there are NaN.
  for (const auto col : table[0].members) x(2, col) = 3.25f;
  const auto all = dnn2brain::compute_searchlight_rdms(x, table);
  const auto r0 = all.get(0);
  for (int other = 0; other < 6; ++other)
    if (other != 2) CHECK(std::isnan(r0(2, other)));
  CHECK(std::isfinite(r0(0, 1)));
  index_t degenerate = 0;
  const auto summary =
      dnn2brain::searchlight_rdms(x, table, [](index_t, const dnn2brain::rdm_stack<float>&) {});
  for (const auto& s : table) {
    bool constant = true;
    for (const auto col : s.members) constant = constant && x(2, col) == 3.25f;
    degenerate += constant ? 1 : 0;
  }
  CHECK(summary.degenerate == degenerate);
}

TEST_CASE("searchlight_rdms rejects data that do not fit the table", "[searchlight]") {
  const brain_mask mask = blob_mask();
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  const auto none = [](index_t, const dnn2brain::rdm_stack<float>&) {};
  const auto x = random_betas<float>(5, mask.size(), 1);
  CHECK_THROWS_WITH(
      dnn2brain::searchlight_rdms(x.leftCols(10), table, none),
      Catch::Contains("searchlight_rdms") && Catch::Contains("one column per mask voxel"));
  CHECK_THROWS_WITH(dnn2brain::searchlight_rdms(x.topRows(1), table, none),
                    Catch::Contains("at least 2 conditions"));
  CHECK_THROWS_WITH(dnn2brain::searchlight_rdms(x, table, none, dnn2brain::metric::correlation{},
                                                {.memory_budget = 8, .progress = {}}),
                    Catch::Contains("memory budget"));
  auto bad = x;
  bad(3, 17) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(dnn2brain::searchlight_rdms(bad, table, none),
                    Catch::Contains("condition 3, feature 17"));
}
