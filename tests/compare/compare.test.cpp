#include <dnn2brain/compare.hpp>
#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/compare/cosine.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>

#include <algorithm>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/reference_impl.hpp"
#include "support/test_helpers.hpp"

namespace measure = dnn2brain::measure;
using dnn2brain::index_t;
using dnn2brain::nan_policy;
using dnn2brain::test::reference_vector;

namespace {

template <typename Measure>
double score(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return dnn2brain::compare_vectors(a, b, Measure{});
}

// Naive oracle for every measure.
double naive(const std::string& name, const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  using namespace dnn2brain::test;
  if (name == "pearson") return double(pearson(to_real(a), to_real(b)));
  if (name == "spearman") return double(pearson(ranks(to_real(a)), ranks(to_real(b))));
  if (name == "cosine") return double(cosine(to_real(a), to_real(b)));
  return naive_kendall(a, b, name == "kendall_tau_b");
}

double ours(const std::string& name, const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  if (name == "pearson") return score<measure::pearson>(a, b);
  if (name == "spearman") return score<measure::spearman>(a, b);
  if (name == "cosine") return score<measure::cosine>(a, b);
  if (name == "kendall_tau_a") return score<measure::kendall_tau_a>(a, b);
  return score<measure::kendall_tau_b>(a, b);
}

const char* const all_measures[] = {"pearson", "spearman", "cosine", "kendall_tau_a",
                                    "kendall_tau_b"};

}  // namespace

TEST_CASE("RDM comparisons match scipy (pearsonr, spearmanr, kendalltau variant b) and tau-a",
          "[compare][scipy]") {
  double worst = 0;
  for (const auto& [a, b] : {std::pair{"u", "v"}, std::pair{"u_ties", "v_ties"},
                             std::pair{"categorical", "v"}, std::pair{"categorical", "v_ties"}})
    for (const std::string m : all_measures) {
      const double expected = dnn2brain::test::reference(std::string(a) + "__" + b + "_" + m)(0, 0);
      const double got = ours(m, reference_vector(a), reference_vector(b));
      INFO(a << " vs " << b << ", " << m << ": got " << got << ", scipy " << expected);
      CHECK(std::abs(got - expected) <= 1e-13);
      worst = std::max(worst, std::abs(got - expected));
    }
  INFO("worst deviation from scipy " << worst);
  SUCCEED();
}

TEST_CASE("RDM comparisons match the naive definitions on random data with and without ties",
          "[compare][naive]") {
  std::mt19937 engine(17);
  for (int trial = 0; trial < 40; ++trial) {
    const index_t m = std::uniform_int_distribution<index_t>(2, 300)(engine);
    Eigen::VectorXd a = dnn2brain::test::gaussian(m, 1, unsigned(trial)).col(0);
    Eigen::VectorXd b = 0.5 * a + dnn2brain::test::gaussian(m, 1, unsigned(100 + trial)).col(0);
    if (trial % 3 == 1) {  // heavy ties in both
      a = a.array().round();
      b = (2 * b.array()).round();
    } else if (trial % 3 == 2) {  // a categorical model
      a = (a.array() > 0.3).cast<double>();
    }
    for (const std::string name : all_measures) {
      const double expected = naive(name, a, b);
      const double got = ours(name, a, b);
      INFO("trial " << trial << ", m = " << m << ", " << name);
      if (std::isnan(expected))
        CHECK(std::isnan(got));
      else
        CHECK(std::abs(got - expected) <= 1e-12);
    }
  }
}

TEST_CASE(
    "comparisons are invariant to reordering the pairs jointly, and a measure of an RDM with "
    "itself is 1",
    "[compare][invariants]") {
  const Eigen::VectorXd a = reference_vector("u_ties");
  const Eigen::VectorXd b = reference_vector("v");
  std::vector<index_t> order(std::size_t(a.size()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  Eigen::VectorXd pa(a.size()), pb(b.size());
  for (index_t k = 0; k < a.size(); ++k) {
    pa[k] = a[order[k]];
    pb[k] = b[order[k]];
  }
  for (const std::string m : all_measures) {
    INFO(m);
    CHECK(ours(m, pa, pb) == Approx(ours(m, a, b)).margin(1e-14));
    CHECK(ours(m, pb, pa) == Approx(ours(m, a, b)).margin(1e-14));  // symmetric
    if (m != "kendall_tau_a") CHECK(ours(m, b, b) == Approx(1.0));  // tau-a < 1 with ties
  }
  // tau-a with ties in both is below tau-b; without ties they agree.
  CHECK(ours("kendall_tau_a", a, a) < 1.0);
  CHECK(ours("kendall_tau_a", b, b) == Approx(1.0));
}

TEST_CASE("one model against a stack equals the pairwise comparisons, for any thread count",
          "[compare][batched][determinism]") {
  const index_t n = 12, m = dnn2brain::condensed_size(n), count = 37;
  Eigen::MatrixXf targets = dnn2brain::test::gaussian(m, count, 5).cast<float>();
  targets.col(3) = targets.col(3).array().round();  // ties
  targets.col(8).setConstant(0.5f);                 // constant: correlation undefined
  const auto stack = dnn2brain::rdm_stack<float>::from_columns(targets, n);
  const dnn2brain::rdm<double> model(dnn2brain::test::gaussian(m, 1, 6).col(0).eval());
  auto run = [&](auto measure) {
    Eigen::VectorXd one, two;
    {
      dnn2brain::test::thread_count t(1);
      one = dnn2brain::compare(model, stack, measure);
    }
    {
      dnn2brain::test::thread_count t(2);
      two = dnn2brain::compare(model, stack, measure);
    }
    REQUIRE(one.size() == count);
    for (index_t t = 0; t < count; ++t) {
      const double pairwise = dnn2brain::compare(model, stack.get(t), measure);
      if (std::isnan(pairwise)) {
        CHECK(std::isnan(one[t]));
        CHECK(std::isnan(two[t]));
      } else {
        CHECK(one[t] == pairwise);
        CHECK(two[t] == pairwise);
      }
    }
    return one;
  };
  // Against the naive definitions, column by column.
  const Eigen::VectorXd model_d = model.values();
  for (const std::string name : all_measures) {
    Eigen::VectorXd batched;
    if (name == "pearson") batched = dnn2brain::compare(model, stack, measure::pearson{});
    if (name == "spearman") batched = dnn2brain::compare(model, stack, measure::spearman{});
    if (name == "cosine") batched = dnn2brain::compare(model, stack, measure::cosine{});
    if (name == "kendall_tau_a")
      batched = dnn2brain::compare(model, stack, measure::kendall_tau_a{});
    if (name == "kendall_tau_b")
      batched = dnn2brain::compare(model, stack, measure::kendall_tau_b{});
    for (index_t t = 0; t < count; ++t) {
      const double expected = naive(name, model_d, targets.col(t).cast<double>());
      INFO(name << ", column " << t);
      if (std::isnan(expected))
        CHECK(std::isnan(batched[t]));
      else
        CHECK(batched[t] == Approx(expected).margin(1e-12));
    }
  }
  CHECK(std::isnan(run(measure::pearson{})[8]));
  CHECK(std::isnan(run(measure::spearman{})[8]));
  CHECK(std::isnan(run(measure::kendall_tau_b{})[8]));
  CHECK(run(measure::kendall_tau_a{})[8] == 0.0);
  CHECK_FALSE(std::isnan(run(measure::cosine{})[8]));
}

TEST_CASE("NaN entries: raise names the pair, omit leaves it out, propagate gives NaN",
          "[compare][nan]") {
  const Eigen::VectorXd a = reference_vector("u");  // 45 entries: 10 conditions
  Eigen::VectorXd b = reference_vector("v");
  b[dnn2brain::condensed_index(10, 2, 7)] = std::numeric_limits<double>::quiet_NaN();
  const dnn2brain::rdm ra(a), rb(b);
  REQUIRE_THROWS_WITH(
      dnn2brain::compare(ra, rb),
      "dnn2brain::compare: expected RDM entries without NaN (nan_policy::omit leaves "
      "such pairs out), got nan in the target at entry 21 (conditions 2, 7)");
  REQUIRE(std::isnan(dnn2brain::compare(ra, rb, measure::spearman{}, nan_policy::propagate)));
  // omit equals the comparison of the remaining 44 pairs.
  Eigen::VectorXd a_kept(44), b_kept(44);
  for (index_t k = 0, o = 0; k < 45; ++k)
    if (!std::isnan(b[k])) {
      a_kept[o] = a[k];
      b_kept[o++] = b[k];
    }
  for (const std::string m : all_measures) {
    INFO(m);
    const double omitted =
        m == "pearson"    ? dnn2brain::compare(ra, rb, measure::pearson{}, nan_policy::omit)
        : m == "spearman" ? dnn2brain::compare(ra, rb, measure::spearman{}, nan_policy::omit)
        : m == "cosine"   ? dnn2brain::compare(ra, rb, measure::cosine{}, nan_policy::omit)
        : m == "kendall_tau_a"
            ? dnn2brain::compare(ra, rb, measure::kendall_tau_a{}, nan_policy::omit)
            : dnn2brain::compare(ra, rb, measure::kendall_tau_b{}, nan_policy::omit);
    CHECK(omitted == Approx(naive(m, a_kept, b_kept)).margin(1e-13));
  }
  // NaN in the model under omit: each target keeps its own pairs.
  dnn2brain::rdm_stack<double> stack(10, 2);
  stack.values().col(0) = a;
  stack.values().col(1) = b;
  const Eigen::VectorXd s = dnn2brain::compare(rb, stack, measure::pearson{}, nan_policy::omit);
  CHECK(s[0] == Approx(naive("pearson", b_kept, a_kept)).margin(1e-13));
  CHECK(s[1] == Approx(1.0));
  REQUIRE_THROWS_WITH(dnn2brain::compare(rb, stack), Catch::Contains("in the model at entry 21"));
  // All pairs NaN leaves nothing to compare.
  Eigen::VectorXd all_nan = Eigen::VectorXd::Constant(45, std::numeric_limits<double>::quiet_NaN());
  CHECK(std::isnan(dnn2brain::compare_vectors(a, all_nan, measure::pearson{}, nan_policy::omit)));
}

TEST_CASE("comparison rejects mismatched and infinite input", "[compare][errors]") {
  const Eigen::VectorXd a = reference_vector("u");
  REQUIRE_THROWS_WITH(
      dnn2brain::compare_vectors(a, Eigen::VectorXd::Ones(44).eval()),
      "dnn2brain::compare_vectors: expected vectors of equal length, got 45 and 44");
  REQUIRE_THROWS_WITH(
      dnn2brain::compare(dnn2brain::rdm<double>(10), dnn2brain::rdm<double>(9)),
      "dnn2brain::compare: expected RDMs of the same conditions, got 10 and 9 conditions");
  REQUIRE_THROWS_WITH(
      dnn2brain::compare(dnn2brain::rdm<double>(10), dnn2brain::rdm_stack<float>(9, 3)),
      "dnn2brain::compare: expected a model over the stack's 9 conditions, got 10");
  REQUIRE_THROWS_AS(
      dnn2brain::compare_vectors(Eigen::VectorXd::Ones(1).eval(), Eigen::VectorXd::Ones(1).eval()),
      dnn2brain::invalid_argument);
  Eigen::VectorXd b = a;
  b[3] = std::numeric_limits<double>::infinity();
  for (const auto policy : {nan_policy::raise, nan_policy::omit, nan_policy::propagate})
    REQUIRE_THROWS_WITH(
        dnn2brain::compare_vectors(a, b, measure::kendall_tau_b{}, policy),
        "dnn2brain::compare_vectors: expected finite RDM entries, got inf in the target at "
        "entry 3 (conditions 0, 4)");
}

namespace {

// A measure with a parameter: Pearson's r of the model raised to a power, by prepare().
struct powered_pearson {
  static constexpr const char* name = "powered pearson";
  double power = 1.0;
  [[nodiscard]] measure::pearson::prepared prepare(const Eigen::VectorXd& model) const {
    return measure::pearson::prepared(model.array().pow(power).matrix());
  }
};
static_assert(dnn2brain::rdm_measure<powered_pearson>);

}  // namespace

TEST_CASE("a measure object with parameters is used, not rebuilt", "[compare][measure]") {
  const index_t m = 45;
  const Eigen::VectorXd model = dnn2brain::test::gaussian(m, 1, 21).cwiseAbs();
  const Eigen::MatrixXd targets = dnn2brain::test::gaussian(m, 5, 22);
  const powered_pearson cubed{.power = 3.0};
  const Eigen::VectorXd expected = dnn2brain::compare_columns(
      model.array().pow(3.0).matrix().eval(), targets, measure::pearson{});
  CHECK(dnn2brain::compare_columns(model, targets, cubed) == expected);
  CHECK(dnn2brain::compare_vectors(model, targets.col(2), cubed) == expected[2]);
  const dnn2brain::rdm<double> a(model), b(targets.col(4).eval());
  CHECK(dnn2brain::compare(a, b, cubed) == expected[4]);
  // Under nan_policy::omit the object is used for the kept pairs too.
  Eigen::MatrixXd holey = targets;
  holey(3, 1) = std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd kept_model(m - 1), kept_target(m - 1);
  kept_model << model.head(3), model.tail(m - 4);
  kept_target << targets.col(1).head(3), targets.col(1).tail(m - 4);
  CHECK(dnn2brain::compare_columns(model, holey, cubed, nan_policy::omit)[1] ==
        Approx(dnn2brain::compare_vectors(kept_model.array().pow(3.0).matrix().eval(), kept_target))
            .epsilon(1e-14));
}
