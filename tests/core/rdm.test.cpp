#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>

#include <vector>

#include <catch2/catch.hpp>

using dnn2brain::index_t;

TEST_CASE("rdm stores a condensed vector and reads it symmetrically", "[core][rdm]") {
  Eigen::VectorXd values(6);
  values << 1, 2, 3, 4, 5, 6;  // n = 4: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
  const dnn2brain::rdm r(values);
  REQUIRE(r.conditions() == 4);
  REQUIRE(r.pairs() == 6);
  REQUIRE(r(0, 0) == 0.0);
  REQUIRE(r(0, 3) == 3.0);
  REQUIRE(r(3, 0) == 3.0);
  REQUIRE(r(2, 1) == 4.0);
  REQUIRE(r(2, 3) == 6.0);
  REQUIRE(r.info() == dnn2brain::status::success);

  dnn2brain::rdm<float> zeros(5);
  REQUIRE(zeros.pairs() == 10);
  REQUIRE(zeros.values().isZero());
}

TEST_CASE("rdm rejects bad shapes with a message naming the function", "[core][rdm][errors]") {
  REQUIRE_THROWS_AS(dnn2brain::rdm<double>(1), dnn2brain::invalid_argument);
  REQUIRE_THROWS_WITH(dnn2brain::rdm<double>(0),
                      "dnn2brain::rdm: expected at least 2 conditions, got 0");
  REQUIRE_THROWS_WITH(dnn2brain::rdm(Eigen::VectorXd::Zero(5)),
                      Catch::StartsWith("dnn2brain::rdm: expected a condensed RDM") &&
                          Catch::Contains("got 5 entries"));
  REQUIRE_THROWS_WITH(dnn2brain::rdm(Eigen::MatrixXd::Zero(3, 2)),
                      Catch::Contains("expected a condensed vector, got a 3 x 2 matrix"));
  REQUIRE_THROWS_AS(dnn2brain::rdm(Eigen::VectorXd()), dnn2brain::invalid_argument);
}

TEST_CASE("rdm_stack holds one RDM per column", "[core][rdm_stack]") {
  std::vector<dnn2brain::rdm<float>> rdms;
  for (int k = 0; k < 3; ++k) rdms.emplace_back(Eigen::VectorXf::Constant(10, float(k)));
  const dnn2brain::rdm_stack<double> stack{std::span<const dnn2brain::rdm<float>>(rdms)};
  REQUIRE(stack.conditions() == 5);
  REQUIRE(stack.pairs() == 10);
  REQUIRE(stack.size() == 3);
  REQUIRE(stack.column(2).isConstant(2.0));
  REQUIRE(stack.get(1).values().isConstant(1.0));
  REQUIRE(stack.get(1).conditions() == 5);

  dnn2brain::rdm_stack<float> empty(5, 2);
  empty.set(1, rdms[2]);
  REQUIRE(empty.column(0).isZero());
  REQUIRE(empty.column(1).isConstant(2.0f));

  const dnn2brain::rdm_stack wrapped(Eigen::MatrixXf::Ones(45, 7));
  REQUIRE(wrapped.conditions() == 10);
  REQUIRE(wrapped.size() == 7);
}

TEST_CASE("rdm_stack rejects mismatched RDMs and bad indices", "[core][rdm_stack][errors]") {
  dnn2brain::rdm_stack<double> stack(5, 2);
  REQUIRE_THROWS_WITH(
      stack.set(0, dnn2brain::rdm<double>(6)),
      "dnn2brain::rdm_stack::set: expected an RDM of 5 conditions, got 6 at position 0");
  REQUIRE_THROWS_WITH(stack.get(2),
                      "dnn2brain::rdm_stack::get: expected an index in [0, 2), got 2");
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack(Eigen::MatrixXd::Zero(7, 2)),
                      Catch::StartsWith("dnn2brain::rdm_stack: expected a condensed RDM"));
  REQUIRE_THROWS_AS(dnn2brain::rdm_stack<double>(1, 3), dnn2brain::invalid_argument);
  std::vector<dnn2brain::rdm<double>> none;
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack<double>{std::span<const dnn2brain::rdm<double>>(none)},
                      "dnn2brain::rdm_stack: expected at least one RDM, got none");
  std::vector<dnn2brain::rdm<double>> mixed{dnn2brain::rdm<double>(4), dnn2brain::rdm<double>(5)};
  REQUIRE_THROWS_AS(dnn2brain::rdm_stack<double>{std::span<const dnn2brain::rdm<double>>(mixed)},
                    dnn2brain::invalid_argument);
}

TEST_CASE("rdm keeps degenerate conditions sorted, unique and in range", "[core][rdm]") {
  dnn2brain::rdm<double> r(6);
  r.set_degenerate_conditions({4, 1, 4});
  REQUIRE(r.degenerate_conditions() == std::vector<index_t>{1, 4});
  REQUIRE(r.info() == dnn2brain::status::degenerate_input);
  REQUIRE_THROWS_WITH(
      r.set_degenerate_conditions({6}),
      "dnn2brain::rdm::set_degenerate_conditions: expected conditions in [0, 6), got 6");
  // The writable view of the values cannot change their number.
  r.values().setConstant(2.0);
  REQUIRE(r(0, 5) == 2.0);
  REQUIRE(r.pairs() == 15);
}
