#include <dnn2brain/core/concepts.hpp>

#include <type_traits>

#include <catch2/catch.hpp>

namespace {

// What a function taking `const Eigen::MatrixBase<Derived>&` deduces: Eigen returns expressions
// as const objects, so decltype of an expression is const-qualified but Derived never is.
template <typename Derived>
std::bool_constant<dnn2brain::floating_eigen<Derived>> accepts(const Eigen::MatrixBase<Derived>&);

}  // namespace

TEST_CASE("floating_eigen admits floating-point matrix expressions only", "[core][concepts]") {
  const Eigen::MatrixXf m = Eigen::MatrixXf::Ones(3, 2);
  const Eigen::MatrixXi k = Eigen::MatrixXi::Ones(3, 2);
  STATIC_REQUIRE(dnn2brain::floating_eigen<Eigen::MatrixXf>);
  STATIC_REQUIRE(dnn2brain::floating_eigen<Eigen::VectorXd>);
  STATIC_REQUIRE(dnn2brain::floating_eigen<Eigen::Map<const Eigen::MatrixXd>>);
  STATIC_REQUIRE(dnn2brain::floating_eigen<Eigen::Block<Eigen::MatrixXf>>);
  STATIC_REQUIRE(decltype(accepts(m * 2.0f))::value);
  STATIC_REQUIRE(decltype(accepts(m.transpose() + m.transpose()))::value);
  STATIC_REQUIRE(decltype(accepts(m.col(1)))::value);
  STATIC_REQUIRE_FALSE(decltype(accepts(k))::value);
  STATIC_REQUIRE_FALSE(dnn2brain::floating_eigen<Eigen::MatrixXi>);
  STATIC_REQUIRE_FALSE(dnn2brain::floating_eigen<Eigen::ArrayXXd>);
  STATIC_REQUIRE_FALSE(dnn2brain::floating_eigen<double>);
}
