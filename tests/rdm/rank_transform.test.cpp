// Average ranks against scipy.stats.rankdata (tests/reference/make_stats_reference.py). Ranks are
// half-integers, exact in both, so the comparison is exact.
#include <dnn2brain/rdm/rank_transform.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using Catch::Matchers::Contains;
using dnn2brain::index_t;
using dnn2brain::nan_policy;

namespace {

Eigen::VectorXd stats_vector(const std::string& name) {
  return dnn2brain::test::reference(name, DNN2BRAIN_STATS_REFERENCE_FILE)
      .reshaped<Eigen::RowMajor>();
}

// Equal entries, NaN where the other is NaN.
bool same(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  if (a.size() != b.size()) return false;
  for (index_t k = 0; k < a.size(); ++k)
    if (!(a[k] == b[k] || (std::isnan(a[k]) && std::isnan(b[k])))) return false;
  return true;
}

}  // namespace

TEST_CASE("rank_transform of a vector equals scipy's rankdata", "[rdm][rank_transform]") {
  const Eigen::VectorXd v = stats_vector("rank_values");
  CHECK(dnn2brain::rank_transform(v) == stats_vector("rank_average"));
  CHECK(dnn2brain::rank_transform(v.transpose()) == stats_vector("rank_average"));  // a row
  CHECK(dnn2brain::rank_transform(v.cast<float>()) == stats_vector("rank_average"));

  const Eigen::VectorXd with_nan = stats_vector("rank_values_nan");
  CHECK(same(dnn2brain::rank_transform(with_nan, nan_policy::omit), stats_vector("rank_omit")));
  CHECK(dnn2brain::rank_transform(with_nan, nan_policy::propagate).array().isNaN().all());
  CHECK_THROWS_WITH(
      dnn2brain::rank_transform(with_nan),
      Contains("dnn2brain::rank_transform: expected no NaN") && Contains("got NaN at entry 0"));
  CHECK_THROWS_WITH(dnn2brain::rank_transform(Eigen::MatrixXd::Zero(3, 2)),
                    Contains("expected a vector, got a 3 x 2 matrix"));

  // ±Inf are values: ranked first and last.
  Eigen::VectorXd inf(4);
  inf << 1.0, std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
      1.0;
  CHECK(dnn2brain::rank_transform(inf) == Eigen::Vector4d(2.5, 4.0, 1.0, 2.5));
}

TEST_CASE("rank_transform of an RDM and of a stack, column by column", "[rdm][rank_transform]") {
  // An RDM of 9 conditions (36 pairs) from the first 36 values, keeping its metadata and type.
  const Eigen::VectorXd v = stats_vector("rank_values").head(36);
  dnn2brain::rdm<float> r(v.cast<float>().eval());
  r.set_degenerate_conditions({4});
  const dnn2brain::rdm<float> ranked = dnn2brain::rank_transform(r);
  CHECK(ranked.conditions() == 9);
  CHECK(ranked.degenerate_conditions() == std::vector<index_t>{4});
  CHECK(ranked.values().cast<double>() ==
        dnn2brain::rank_transform(v.cast<float>().cast<double>()));

  // 3 RDMs of 6 conditions with many ties, against rankdata(axis=0).
  const Eigen::MatrixXd stack_values =
      dnn2brain::test::reference("rank_stack", DNN2BRAIN_STATS_REFERENCE_FILE).transpose();
  const Eigen::MatrixXd expected =
      dnn2brain::test::reference("rank_stack_ranks", DNN2BRAIN_STATS_REFERENCE_FILE).transpose();
  const auto stack = dnn2brain::rdm_stack<double>::from_columns(stack_values, 6);
  for (const int threads : {1, 2}) {
    const dnn2brain::test::thread_count scope(threads);
    const auto ranks = dnn2brain::rank_transform(stack);
    CHECK(ranks.conditions() == 6);
    CHECK(ranks.values() == expected);
  }
  // A wide stack (parallel), each column its vector form.
  const Eigen::MatrixXd wide = dnn2brain::test::gaussian(190, 400, 3).array().round();
  const auto wide_ranks =
      dnn2brain::rank_transform(dnn2brain::rdm_stack<double>::from_columns(wide, 20));
  for (index_t t = 0; t < wide.cols(); t += 37)
    CHECK(wide_ranks.values().col(t) == dnn2brain::rank_transform(wide.col(t)));

  Eigen::MatrixXd bad = stack_values;
  bad(4, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(dnn2brain::rank_transform(dnn2brain::rdm_stack<double>::from_columns(bad, 6)),
                    Contains("got NaN at entry 4 of RDM 2"));
  const auto omitted = dnn2brain::rank_transform(dnn2brain::rdm_stack<double>::from_columns(bad, 6),
                                                 nan_policy::omit);
  CHECK(std::isnan(omitted.values()(4, 2)));
  CHECK(omitted.values().col(1) == expected.col(1));
  CHECK(same(omitted.values().col(2), dnn2brain::rank_transform(bad.col(2), nan_policy::omit)));
}
