#include <dnn2brain/core/patterns.hpp>

#include <type_traits>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <catch2/catch.hpp>

TEST_CASE("xtensor_patterns views row-major containers in place and flattens trailing axes",
          "[core][patterns]") {
  xt::xtensor<float, 4> acts = xt::zeros<float>({3, 2, 2, 5});
  for (std::size_t k = 0; k < acts.size(); ++k) acts.data()[k] = static_cast<float>(k);
  const dnn2brain::xtensor_patterns<float> view(acts, "test");
  REQUIRE_FALSE(view.copied());
  REQUIRE(view.matrix().rows() == 3);
  REQUIRE(view.matrix().cols() == 20);
  REQUIRE(view.matrix().data() == acts.data());
  REQUIRE(view.matrix()(1, 7) == acts(1, 0, 1, 2));
}

TEST_CASE("xtensor_patterns evaluates views and column-major data once", "[core][patterns]") {
  xt::xtensor<double, 3> acts = xt::zeros<double>({4, 3, 6});
  for (std::size_t k = 0; k < acts.size(); ++k) acts.data()[k] = static_cast<double>(k);
  const auto slice = xt::view(acts, xt::all(), 1, xt::range(1, 5));
  const dnn2brain::xtensor_patterns<double> view(slice, "test");
  REQUIRE(view.copied());
  REQUIRE(view.matrix().rows() == 4);
  REQUIRE(view.matrix().cols() == 4);
  for (Eigen::Index i = 0; i < 4; ++i)
    for (Eigen::Index f = 0; f < 4; ++f)
      REQUIRE(view.matrix()(i, f) == acts(std::size_t(i), 1, std::size_t(f + 1)));

  xt::xtensor<double, 2, xt::layout_type::column_major> colmajor = {{1, 2, 3}, {4, 5, 6}};
  const dnn2brain::xtensor_patterns<double> cm(colmajor, "test");
  REQUIRE(cm.copied());
  REQUIRE(cm.matrix()(1, 0) == 4);
  REQUIRE(cm.matrix()(0, 2) == 3);
}

TEST_CASE("xtensor_patterns needs a conditions axis and a feature axis",
          "[core][patterns][errors]") {
  const xt::xtensor<double, 1> flat = {1, 2, 3};
  REQUIRE_THROWS_WITH(dnn2brain::xtensor_patterns<double>(flat, "compute_rdm"),
                      "dnn2brain::compute_rdm: expected an array of at least 2 dimensions "
                      "(conditions first), got 1 dimension(s)");
}

TEST_CASE("a temporary xtensor view hands out an owning matrix", "[core][patterns][lifetime]") {
  const xt::xarray<double, xt::layout_type::column_major> colmajor = {{1.0, 2.0}, {3.0, 4.0}};
  using owning = dnn2brain::xtensor_matrix<double>::matrix_type;
  STATIC_REQUIRE(
      std::is_same_v<decltype(dnn2brain::xtensor_matrix<double>(colmajor, "t").matrix()), owning>);
  const auto m = dnn2brain::xtensor_matrix<double>(colmajor, "t").matrix();  // owns its values
  CHECK(m(1, 0) == 3.0);
  const dnn2brain::xtensor_matrix<double> view(colmajor, "t");
  STATIC_REQUIRE(
      std::is_same_v<decltype(view.matrix()), dnn2brain::xtensor_matrix<double>::map_type>);
}
