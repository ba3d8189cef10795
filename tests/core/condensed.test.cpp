#include <dnn2brain/core/condensed.hpp>

#include <catch2/catch.hpp>

using dnn2brain::index_t;

TEST_CASE("condensed_index enumerates the strict upper triangle in pdist order",
          "[core][condensed]") {
  for (index_t n = 2; n <= 40; ++n) {
    index_t expected = 0;
    for (index_t i = 0; i < n; ++i)
      for (index_t j = i + 1; j < n; ++j, ++expected) {
        REQUIRE(dnn2brain::condensed_index(n, i, j) == expected);
        REQUIRE(dnn2brain::condensed_index_symmetric(n, j, i) == expected);
        const auto [a, b] = dnn2brain::condensed_pair(n, expected);
        REQUIRE(a == i);
        REQUIRE(b == j);
      }
    REQUIRE(dnn2brain::condensed_size(n) == expected);
    REQUIRE(dnn2brain::conditions_from_pairs(expected, "test") == n);
  }
}

TEST_CASE("condensed_pair is exact for large n", "[core][condensed]") {
  const index_t n = 230000;
  for (const index_t k : {index_t{0}, index_t{1}, n - 2, n - 1, n, dnn2brain::condensed_size(n) / 2,
                          dnn2brain::condensed_size(n) - 2, dnn2brain::condensed_size(n) - 1}) {
    const auto [i, j] = dnn2brain::condensed_pair(n, k);
    REQUIRE(0 <= i);
    REQUIRE(i < j);
    REQUIRE(j < n);
    REQUIRE(dnn2brain::condensed_index(n, i, j) == k);
  }
}

TEST_CASE("conditions_from_pairs rejects lengths that are not n(n-1)/2",
          "[core][condensed][errors]") {
  for (const index_t bad : {index_t{0}, index_t{2}, index_t{4}, index_t{1224}, index_t{-3}})
    REQUIRE_THROWS_WITH(dnn2brain::conditions_from_pairs(bad, "rdm"),
                        Catch::StartsWith("dnn2brain::rdm: expected a condensed RDM"));
  REQUIRE(dnn2brain::conditions_from_pairs(1225, "rdm") == 50);
  REQUIRE(dnn2brain::condensed_conditions(1225) == 50);
  REQUIRE(dnn2brain::condensed_conditions(1) == 2);
  for (const index_t bad : {index_t{0}, index_t{2}, index_t{1224}, index_t{-3}})
    REQUIRE(dnn2brain::condensed_conditions(bad) == 0);
}
