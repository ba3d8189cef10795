#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>

#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xtensor.hpp>

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

  const auto wrapped = dnn2brain::rdm_stack<float>::from_columns(Eigen::MatrixXf::Ones(45, 7), 10);
  REQUIRE(wrapped.conditions() == 10);
  REQUIRE(wrapped.size() == 7);

  // numpy's subjects × pairs layout, rows as RDMs.
  const Eigen::MatrixXd rows = Eigen::MatrixXd::Random(7, 45);
  const auto by_rows = dnn2brain::rdm_stack<>::from_rows(rows, 10);
  REQUIRE(by_rows.size() == 7);
  REQUIRE(by_rows.values() == rows.transpose());

  // Any range of RDMs, the scalar type deduced.
  const dnn2brain::rdm_stack deduced(rdms);
  STATIC_REQUIRE(std::is_same_v<decltype(deduced), const dnn2brain::rdm_stack<float>>);
  REQUIRE(deduced.values() == dnn2brain::rdm_stack<float>(std::span(rdms)).values());
}

TEST_CASE("views of temporaries cannot dangle", "[core][rdm][rdm_stack][lifetime]") {
  const Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(10, 1.0, 10.0);
  // values() of a temporary moves the values out: an owning vector, not a view.
  STATIC_REQUIRE(std::is_same_v<decltype(dnn2brain::rdm<double>(v).values()), Eigen::VectorXd>);
  STATIC_REQUIRE(
      std::is_same_v<decltype(dnn2brain::rdm_stack<float>(5, 2).values()), Eigen::MatrixXf>);
  auto owned = dnn2brain::rdm<double>(v).values();
  REQUIRE(owned == v);
  // ... and a view of an lvalue stays a view.
  dnn2brain::rdm<double> r(v);
  r.values()[0] = 42.0;
  REQUIRE(r(0, 1) == 42.0);
  // rdm_stack::column() of a temporary does not compile: tests/compile/lifetime.cpp.
}

TEST_CASE("rdm_stack rejects mismatched RDMs and bad indices", "[core][rdm_stack][errors]") {
  dnn2brain::rdm_stack<double> stack(5, 2);
  REQUIRE_THROWS_WITH(
      stack.set(0, dnn2brain::rdm<double>(6)),
      "dnn2brain::rdm_stack::set: expected an RDM of 5 conditions, got 6 at position 0");
  REQUIRE_THROWS_WITH(stack.get(2),
                      "dnn2brain::rdm_stack::get: expected an index in [0, 2), got 2");
  // The orientation is explicit: numpy's 10 subjects × 435 pairs is not 435 RDMs of 5 conditions.
  const Eigen::MatrixXd subjects_by_pairs = Eigen::MatrixXd::Zero(10, 435);
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack<>::from_columns(subjects_by_pairs, 30),
                      "dnn2brain::rdm_stack::from_columns: expected 435 pairs (30 conditions), got "
                      "10 (the other axis has 435: use rdm_stack::from_rows)");
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack<>::from_rows(subjects_by_pairs.transpose(), 30),
                      Catch::Contains("use rdm_stack::from_columns"));
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack<>::from_columns(Eigen::MatrixXd::Zero(7, 2), 4),
                      "dnn2brain::rdm_stack::from_columns: expected 6 pairs (4 conditions), got 7");
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack<>::from_rows(Eigen::MatrixXd::Zero(2, 1), 1),
                      "dnn2brain::rdm_stack::from_rows: expected at least 2 conditions, got 1");
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

TEST_CASE("rdm_stack from xtensor arrays: numpy's (subjects, pairs) rows",
          "[core][rdm_stack][xtensor]") {
  xt::xtensor<double, 2> rows = xt::zeros<double>({4, 10});
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t k = 0; k < 10; ++k) rows(s, k) = double(10 * s + k);
  const auto stack = dnn2brain::rdm_stack<double>::from_rows(rows, 5);
  REQUIRE(stack.size() == 4);
  CHECK(stack.column(2)[3] == 23.0);
  const auto same =
      dnn2brain::rdm_stack<float>::from_columns(xt::xtensor<double, 2>(xt::transpose(rows)), 5);
  CHECK(same.values() == stack.values().cast<float>());
  REQUIRE_THROWS_WITH(dnn2brain::rdm_stack<double>::from_columns(rows, 5),
                      Catch::Contains("use rdm_stack::from_rows"));
}

TEST_CASE("io_error is reachable where the readers live", "[core][errors]") {
  STATIC_REQUIRE(std::is_same_v<dnn2brain::io::io_error, dnn2brain::io_error>);
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, dnn2brain::io_error>);
}
