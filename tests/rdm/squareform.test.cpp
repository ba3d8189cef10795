#include <dnn2brain/rdm/squareform.hpp>

#include <limits>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "support/test_helpers.hpp"

using dnn2brain::index_t;

TEST_CASE("to_square and from_square round-trip in scipy's squareform order", "[rdm][squareform]") {
  Eigen::VectorXd values(6);
  values << 0.1, 0.2, 0.3, 0.4, 0.5, 0.6;
  const dnn2brain::rdm r(values);
  const Eigen::MatrixXd square = dnn2brain::to_square(r);
  Eigen::Matrix4d expected;
  expected << 0, 0.1, 0.2, 0.3,  //
      0.1, 0, 0.4, 0.5,          //
      0.2, 0.4, 0, 0.6,          //
      0.3, 0.5, 0.6, 0;
  REQUIRE(square == expected);
  const auto back = dnn2brain::from_square(square);
  REQUIRE(back.values() == values);
  REQUIRE(back.conditions() == 4);

  const Eigen::MatrixXf big = dnn2brain::to_square(
      dnn2brain::rdm(dnn2brain::test::gaussian(1225, 1, 3).cast<float>().col(0).eval()));
  const auto big_back = dnn2brain::from_square(big);
  REQUIRE(big_back.conditions() == 50);
  for (index_t i = 0; i < 50; ++i)
    for (index_t j = 0; j < 50; ++j) REQUIRE(big_back(i, j) == big(i, j));
}

TEST_CASE("from_square names the entry that breaks symmetry, the diagonal or finiteness",
          "[rdm][squareform][errors]") {
  Eigen::Matrix3d m;
  m << 0, 1, 2,  //
      1, 0, 3,   //
      2, 3.5, 0;
  REQUIRE_THROWS_WITH(
      dnn2brain::from_square(m),
      Catch::StartsWith("dnn2brain::from_square: expected a symmetric matrix (tolerance 3.5") &&
          Catch::EndsWith("got entry (1, 2) = 3 but (2, 1) = 3.5"));
  m(2, 1) = 3.0;
  m(1, 1) = 0.25;
  REQUIRE_THROWS_WITH(dnn2brain::from_square(m),
                      Catch::StartsWith("dnn2brain::from_square: expected a zero diagonal") &&
                          Catch::EndsWith("got 0.25 at (1, 1)"));
  m(1, 1) = 0.0;
  m(0, 2) = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_WITH(dnn2brain::from_square(m),
                      "dnn2brain::from_square: expected finite entries, got inf at (0, 2)");
  m(0, 2) = m(2, 0) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_AS(dnn2brain::from_square(m), dnn2brain::invalid_argument);
  const auto with_nan = dnn2brain::from_square(m, {.allow_nan = true});
  REQUIRE(std::isnan(with_nan(0, 2)));
  REQUIRE(with_nan(1, 2) == 3.0);
  REQUIRE_THROWS_WITH(
      dnn2brain::from_square(Eigen::MatrixXd::Zero(3, 4)),
      "dnn2brain::from_square: expected a square matrix of at least 2 x 2, got 3 x 4");
  REQUIRE_THROWS_AS(dnn2brain::from_square(Eigen::MatrixXd::Zero(1, 1)),
                    dnn2brain::invalid_argument);
  // Tolerance: float rounding passes by default, exactness is available.
  Eigen::Matrix3d almost;
  almost << 0, 1, 2, 1 + 1e-9, 0, 3, 2, 3, 0;
  REQUIRE(dnn2brain::from_square(almost)(0, 1) == 1.0);
  REQUIRE_THROWS_AS(dnn2brain::from_square(almost, {.tolerance = 0.0}),
                    dnn2brain::invalid_argument);
}

TEST_CASE("from_squares stacks the square RDMs of a (count, n, n) array, checking each",
          "[rdm][squareform][xtensor]") {
  // Three random RDMs of 6 conditions as numpy would hold them: (subjects, n, n), row-major.
  xt::xtensor<double, 3> squares = xt::zeros<double>({3, 6, 6});
  std::vector<dnn2brain::rdm<double>> expected;
  for (int k = 0; k < 3; ++k) {
    const dnn2brain::rdm<double> r(Eigen::VectorXd::Random(15).cwiseAbs().eval());
    const Eigen::MatrixXd square = dnn2brain::to_square(r);
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) squares(k, i, j) = square(i, j);
    expected.push_back(r);
  }
  const auto stack = dnn2brain::from_squares(squares);
  REQUIRE(stack.conditions() == 6);
  REQUIRE(stack.size() == 3);
  for (int k = 0; k < 3; ++k) CHECK(stack.get(k).values() == expected[std::size_t(k)].values());
  // One square as a 2-D array, and a lazy view of the 3-D one.
  const xt::xtensor<double, 2> one = xt::view(squares, 1, xt::all(), xt::all());
  CHECK(dnn2brain::from_square(one).values() == expected[1].values());
  CHECK(dnn2brain::from_square(xt::view(squares, 2, xt::all(), xt::all())).values() ==
        expected[2].values());

  squares(2, 4, 1) += 0.5;
  REQUIRE_THROWS_WITH(dnn2brain::from_squares(squares),
                      Catch::StartsWith("dnn2brain::from_squares: expected a symmetric matrix") &&
                          Catch::EndsWith(" of RDM 2"));
  const xt::xtensor<double, 3> not_square = xt::zeros<double>({2, 4, 5});
  REQUIRE_THROWS_WITH(dnn2brain::from_squares(not_square),
                      "dnn2brain::from_squares: expected an array of shape (count, n, n) with "
                      "count >= 1 and n >= 2, got 3 dimension(s) of shape (2, 4, 5)");
}
