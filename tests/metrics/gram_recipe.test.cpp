#include <dnn2brain/config.hpp>
#include <dnn2brain/metrics.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>
#include <dnn2brain/version.hpp>

#include <string>

#include <catch2/catch.hpp>

#include "support/reference_impl.hpp"
#include "support/test_helpers.hpp"

namespace metric = dnn2brain::metric;

static_assert(metric::gram_metric<metric::correlation>);
static_assert(metric::gram_metric<metric::cosine>);
static_assert(metric::gram_metric<metric::euclidean>);
static_assert(metric::gram_metric<metric::sq_euclidean>);
static_assert(metric::gram_metric<metric::spearman>);
static_assert(metric::gram_metric<metric::mahalanobis>);
static_assert(!metric::gram_metric<metric::crossnobis>,
              "crossnobis needs runs: compute_crossnobis_rdm");

namespace {
// A metric the library does not ship, defined by its recipe alone: the cosine distance after
// centring every feature over conditions.
struct centred_cosine {
  static constexpr const char* name = "centred_cosine";
  [[nodiscard]] constexpr metric::gram_recipe recipe() const noexcept {
    return {true, false, metric::gram_output::one_minus_r};
  }
};
static_assert(metric::gram_metric<centred_cosine>);
}  // namespace

TEST_CASE("each metric's recipe states what it centres and returns", "[metrics][gram_recipe]") {
  using metric::gram_output;
  const auto check = [](metric::gram_recipe r, bool features, bool rows, gram_output out) {
    CHECK(r.center_features == features);
    CHECK(r.center_rows == rows);
    CHECK(r.output == out);
  };
  check(metric::correlation{}.recipe(), false, true, gram_output::one_minus_r);
  check(metric::correlation{.center_features = true}.recipe(), true, true,
        gram_output::one_minus_r);
  check(metric::cosine{}.recipe(), false, false, gram_output::one_minus_r);
  check(metric::euclidean{}.recipe(), true, false,
        gram_output::distance);  // invariant, more accurate
  check(metric::sq_euclidean{}.recipe(), true, false, gram_output::squared_distance);
  check(metric::spearman{}.recipe(), false, false, gram_output::one_minus_r);  // ranks come centred
  CHECK(std::string(metric::spearman::name) == "spearman");
}

TEST_CASE("a user-defined recipe metric runs on the same engine, both routes",
          "[metrics][gram_recipe]") {
  const Eigen::MatrixXd x = dnn2brain::test::gaussian(8, 90, 31).array() + 3.0;
  const Eigen::MatrixXd centred = x.rowwise() - x.colwise().mean();
  const Eigen::VectorXd expected = dnn2brain::test::naive_rdm(centred, "cosine");
  for (const auto method : {dnn2brain::rdm_method::gram, dnn2brain::rdm_method::direct}) {
    const auto r = dnn2brain::compute_rdm(x, centred_cosine{}, {.method = method});
    CHECK(dnn2brain::test::max_abs_diff(r.values(), expected) <= 1e-13);
  }
}

TEST_CASE("the version macros match the CMake project version", "[config][version]") {
  const std::string version = std::to_string(DNN2BRAIN_VERSION_MAJOR) + "." +
                              std::to_string(DNN2BRAIN_VERSION_MINOR) + "." +
                              std::to_string(DNN2BRAIN_VERSION_PATCH);
  CHECK(version == DNN2BRAIN_PROJECT_VERSION);
}
