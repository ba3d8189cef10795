#include <dnn2brain/rdm/condition_map.hpp>
#include <dnn2brain/rdm/squareform.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "support/test_helpers.hpp"

using dnn2brain::index_t;

namespace {
dnn2brain::rdm<double> random_rdm(index_t n, unsigned seed) {
  return dnn2brain::rdm(
      dnn2brain::test::gaussian(dnn2brain::condensed_size(n), 1, seed).col(0).eval());
}
}  // namespace

TEST_CASE("permute reorders rows and columns together", "[rdm][condition_map]") {
  const auto r = random_rdm(9, 1);
  std::vector<index_t> perm(9);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937(4));
  const auto p = dnn2brain::permute(r, perm);
  const Eigen::MatrixXd square = dnn2brain::to_square(r);
  for (index_t i = 0; i < 9; ++i)
    for (index_t j = 0; j < 9; ++j) REQUIRE(p(i, j) == square(perm[i], perm[j]));
  // The inverse permutation restores the RDM exactly.
  std::vector<index_t> inverse(9);
  for (index_t k = 0; k < 9; ++k) inverse[perm[k]] = k;
  REQUIRE(dnn2brain::permute(p, inverse).values() == r.values());
}

TEST_CASE("subset selects conditions; repeated conditions give NaN pairs", "[rdm][condition_map]") {
  auto r = random_rdm(8, 2);
  r.set_degenerate_conditions({5});
  const std::vector<index_t> pick{6, 1, 5, 1};
  const auto s = dnn2brain::subset(r, pick);
  REQUIRE(s.conditions() == 4);
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 4; ++j) {
      if (i == j) continue;
      if (pick[i] == pick[j])
        REQUIRE(std::isnan(s(i, j)));
      else
        REQUIRE(s(i, j) == r(pick[i], pick[j]));
    }
  REQUIRE(s.degenerate_conditions() == std::vector<index_t>{2});
}

TEST_CASE("one condition_map gathers every RDM of a stack", "[rdm][condition_map]") {
  dnn2brain::rdm_stack<float> stack(7, 4);
  stack.values() = dnn2brain::test::gaussian(21, 4, 3).cast<float>();
  const std::vector<index_t> pick{3, 0, 6};
  const dnn2brain::condition_map map(7, pick);
  REQUIRE(map.pairs() == 3);
  REQUIRE(map.sources() == std::vector<index_t>{dnn2brain::condensed_index(7, 0, 3),
                                                dnn2brain::condensed_index(7, 3, 6),
                                                dnn2brain::condensed_index(7, 0, 6)});
  const auto sub = map.apply(stack);
  REQUIRE(sub.size() == 4);
  for (index_t k = 0; k < 4; ++k) REQUIRE(sub.get(k).values() == map.apply(stack.get(k)).values());
  // apply_into writes through blocks.
  Eigen::MatrixXf out = Eigen::MatrixXf::Zero(3, 6);
  map.apply_into(stack.values(), out.middleCols(1, 4));
  REQUIRE(out.middleCols(1, 4) == sub.values());
  REQUIRE(out.col(0).isZero());
}

TEST_CASE("condition_map rejects bad selections", "[rdm][condition_map][errors]") {
  const std::vector<index_t> out_of_range{0, 7};
  REQUIRE_THROWS_WITH(
      dnn2brain::condition_map(7, out_of_range),
      "dnn2brain::condition_map: expected conditions in [0, 7), got 7 at position 1");
  const std::vector<index_t> one{2};
  REQUIRE_THROWS_WITH(dnn2brain::condition_map(7, one),
                      "dnn2brain::condition_map: expected at least 2 source conditions and 2 "
                      "selected, got 7 and 1");
  const std::vector<index_t> not_perm{0, 2, 2};
  REQUIRE_THROWS_WITH(
      dnn2brain::condition_map::permutation(not_perm),
      "dnn2brain::condition_map::permutation: expected a permutation of 0..2, got 2 "
      "at position 2 (repeated)");
  const auto r = random_rdm(4, 5);
  REQUIRE_THROWS_WITH(dnn2brain::permute(r, not_perm),
                      "dnn2brain::permute: expected a permutation of 4 conditions, got 3 entries");
  const dnn2brain::condition_map map(5, std::vector<index_t>{0, 1});
  REQUIRE_THROWS_WITH(map.apply(r),
                      "dnn2brain::condition_map::apply: expected RDMs of 5 conditions, got 4");
}
