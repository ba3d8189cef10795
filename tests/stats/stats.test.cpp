// Statistics: counter-based random streams, t-tests (scipy), multiple-comparison corrections
// (statsmodels), noise ceilings, and bad input.
#include <dnn2brain/rdm/rank_transform.hpp>
#include <dnn2brain/stats/bootstrap.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>
#include <dnn2brain/stats/random.hpp>
#include <dnn2brain/stats/ttest.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::index_t;
using dnn2brain::test::max_abs_diff;

namespace {

const dnn2brain::test::row_matrix& stats_reference(const std::string& name) {
  return dnn2brain::test::reference(name, DNN2BRAIN_STATS_REFERENCE_FILE);
}

// Largest |a − b| / |b| over entries.
template <typename A, typename B>
double max_rel_diff(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  double worst = 0.0;
  for (index_t k = 0; k < a.size(); ++k) {
    const double x = a.reshaped()(k), y = b.reshaped()(k);
    worst = std::max(worst, x == y ? 0.0 : std::abs(x - y) / std::abs(y));
  }
  return worst;
}

}  // namespace

TEST_CASE("Philox4x32-10 reproduces the Random123 known answers", "[stats][random]") {
  using block = std::array<std::uint32_t, 4>;
  CHECK(dnn2brain::philox4x32({0, 0, 0, 0}, {0, 0}) ==
        block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(dnn2brain::philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                              {0xffffffff, 0xffffffff}) ==
        block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(dnn2brain::philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                              {0xa4093822, 0x299f31d0}) ==
        block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("random streams: reproducible, independent of order, unbiased", "[stats][random]") {
  // The same (seed, stream) gives the same values whenever it is drawn.
  dnn2brain::random_stream a(42, 7), b(42, 7), other(42, 8), reseeded(43, 7);
  std::vector<std::uint64_t> first;
  for (int k = 0; k < 9; ++k) first.push_back(a());
  for (int k = 0; k < 9; ++k) CHECK(b() == first[std::size_t(k)]);
  CHECK(other() != first[0]);
  CHECK(reseeded() != first[0]);

  // Permutation b of n is a fixed function of (seed, b): drawing it later, or after others,
  // changes nothing.
  const auto p5 = dnn2brain::random_permutation(50, 1, 5);
  for (std::uint64_t s = 0; s < 5; ++s) (void)dnn2brain::random_permutation(50, 1, s);
  CHECK(dnn2brain::random_permutation(50, 1, 5) == p5);
  std::vector<index_t> sorted = p5;
  std::sort(sorted.begin(), sorted.end());
  for (index_t i = 0; i < 50; ++i) CHECK(sorted[std::size_t(i)] == i);

  // All 24 permutations of 4 items equally likely: chi-square over 48,000 draws, 23 degrees of
  // freedom; 49.7 is the 0.999 quantile.
  std::map<std::vector<index_t>, int> counts;
  const int draws = 48000;
  for (int s = 0; s < draws; ++s)
    ++counts[dnn2brain::random_permutation(4, 2021, std::uint64_t(s))];
  REQUIRE(counts.size() == 24);
  double chi2 = 0.0;
  for (const auto& [perm, count] : counts)
    chi2 += std::pow(count - draws / 24.0, 2) / (draws / 24.0);
  INFO("chi-square " << chi2);
  CHECK(chi2 < 49.7);

  // below(n) for an n far from a power of two: 3 equally likely values.
  dnn2brain::random_stream s(9, 0);
  std::array<int, 3> hits{};
  for (int k = 0; k < 30000; ++k) ++hits[s.below(3)];
  for (const int h : hits) CHECK(std::abs(h - 10000) < 400);  // > 4.9 standard deviations
  for (int k = 0; k < 1000; ++k) {
    const double u = s.uniform();
    CHECK((u >= 0.0 && u < 1.0));
  }
  CHECK_THROWS_WITH(dnn2brain::random_permutation(0, 1, 1), Catch::Matchers::Contains("got 0"));
}

TEST_CASE("t-tests agree with scipy", "[stats][ttest]") {
  const Eigen::MatrixXd a = stats_reference("t_a"), b = stats_reference("t_b"),
                        c = stats_reference("t_c");
  const std::pair<const char*, dnn2brain::alternative> alternatives[] = {
      {"two_sided", dnn2brain::alternative::two_sided},
      {"greater", dnn2brain::alternative::greater},
      {"less", dnn2brain::alternative::less}};
  double worst_t = 0.0, worst_p = 0.0;
  for (const auto& [key, alt] : alternatives) {
    INFO("alternative " << key);
    const auto check = [&](const dnn2brain::ttest_result& r, const std::string& name) {
      const auto& ref = stats_reference(name);
      const double dt = max_rel_diff(r.statistic, ref.row(0).transpose());
      const double dp = max_rel_diff(r.p_value, ref.row(1).transpose());
      INFO(name << ": t " << dt << ", p " << dp);
      CHECK(dt <= 1e-13);
      CHECK(dp <= 1e-12);  // the bound: Student-t p-values to 1e-12 relative
      worst_t = std::max(worst_t, dt);
      worst_p = std::max(worst_p, dp);
    };
    check(dnn2brain::ttest_one_sample(a, 0.1, alt), std::string("t_one_") + key);
    check(dnn2brain::ttest_paired(a, b, alt), std::string("t_paired_") + key);
    check(dnn2brain::ttest_welch(a, c, alt), std::string("t_welch_") + key);
    check(dnn2brain::ttest_student(a, c, alt), std::string("t_student_") + key);
  }
  CHECK((dnn2brain::ttest_student(a, c).dof.array() == 12.0 + 9.0 - 2.0).all());
  CHECK(max_rel_diff(dnn2brain::ttest_welch(a, c).dof,
                     stats_reference("t_welch_dof").transpose()) <= 1e-14);
  CHECK(max_rel_diff(dnn2brain::sem(a), stats_reference("t_sem").transpose()) <= 1e-14);
  // The huge effect of test 5 has p ≈ 8e-13: still 1e-12 relative, not absolute.
  CHECK(stats_reference("t_one_two_sided")(1, 5) < 1e-12);
  WARN("t-tests vs scipy, worst relative deviation: t " << worst_t << ", p " << worst_p);
}

TEST_CASE("t-tests: NaN policies, zero spread, bad input", "[stats][ttest]") {
  using Catch::Matchers::Contains;
  Eigen::MatrixXd x = dnn2brain::test::gaussian(6, 3, 5);
  x(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(dnn2brain::ttest_one_sample(x),
                    Contains("dnn2brain::ttest_one_sample: expected no NaN") &&
                        Contains("at sample 2 of test 1"));
  const auto propagated = dnn2brain::ttest_one_sample(x, 0.0, dnn2brain::alternative::two_sided,
                                                      dnn2brain::nan_policy::propagate);
  CHECK(std::isnan(propagated.p_value[1]));
  CHECK(std::isfinite(propagated.p_value[0]));
  const auto omitted = dnn2brain::ttest_one_sample(x, 0.0, dnn2brain::alternative::two_sided,
                                                   dnn2brain::nan_policy::omit);
  Eigen::MatrixXd kept(5, 1);
  kept << x(0, 1), x(1, 1), x(3, 1), x(4, 1), x(5, 1);
  CHECK(omitted.p_value[1] == dnn2brain::ttest_one_sample(kept).p_value[0]);
  CHECK(omitted.dof[1] == 4.0);

  // Zero spread: an effect gives t = ±∞ and p = 0; no effect gives NaN (scipy does the same).
  Eigen::MatrixXd constant(4, 2);
  constant.col(0).setConstant(0.5);
  constant.col(1).setZero();
  const auto r = dnn2brain::ttest_one_sample(constant);
  CHECK(std::isinf(r.statistic[0]));
  CHECK(r.p_value[0] == 0.0);
  CHECK(std::isnan(r.p_value[1]));

  CHECK_THROWS_WITH(dnn2brain::ttest_one_sample(Eigen::MatrixXd::Zero(1, 3)),
                    Contains("expected at least 2 samples (subjects) in samples, got 1"));
  CHECK_THROWS_WITH(
      dnn2brain::ttest_paired(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(3, 3)),
      Contains("expected a and b of the same shape, got 3 × 2 and 3 × 3"));
  CHECK_THROWS_WITH(
      dnn2brain::ttest_welch(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(1, 2)),
      Contains("at least 2 samples (subjects) in b, got 1"));
  Eigen::MatrixXd with_inf = Eigen::MatrixXd::Zero(3, 1);
  with_inf(1, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(dnn2brain::ttest_one_sample(with_inf), Contains("expected finite samples"));

  // Student's test: the same policies; under omit each group counts its kept samples.
  const Eigen::MatrixXd y = dnn2brain::test::gaussian(5, 3, 6);
  CHECK_THROWS_WITH(dnn2brain::ttest_student(x, y),
                    Contains("dnn2brain::ttest_student: expected no NaN") &&
                        Contains("at sample 2 of test 1 in a"));
  const auto student_omitted =
      dnn2brain::ttest_student(x, y, dnn2brain::alternative::less, dnn2brain::nan_policy::omit);
  const auto student_kept = dnn2brain::ttest_student(kept, y.col(1), dnn2brain::alternative::less);
  CHECK(student_omitted.p_value[1] == student_kept.p_value[0]);
  CHECK(student_omitted.dof[1] == 5.0 + 5.0 - 2.0);
  CHECK(student_omitted.dof[0] == 6.0 + 5.0 - 2.0);
  const auto student_propagated = dnn2brain::ttest_student(x, y, dnn2brain::alternative::two_sided,
                                                           dnn2brain::nan_policy::propagate);
  CHECK(std::isnan(student_propagated.p_value[1]));
  CHECK(std::isfinite(student_propagated.p_value[2]));
  // Zero spread in both groups: t = ±∞ for different means, NaN for equal ones (scipy).
  Eigen::MatrixXd flat_a(3, 2), flat_b(4, 2);
  flat_a << 1, 2, 1, 2, 1, 2;
  flat_b << 0, 2, 0, 2, 0, 2, 0, 2;
  const auto flat = dnn2brain::ttest_student(flat_a, flat_b);
  CHECK(std::isinf(flat.statistic[0]));
  CHECK(flat.p_value[0] == 0.0);
  CHECK(std::isnan(flat.p_value[1]));
  CHECK_THROWS_WITH(
      dnn2brain::ttest_student(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(3, 3)),
      Contains("expected a and b with the same number of tests (columns), got 2 and 3"));
  CHECK_THROWS_WITH(
      dnn2brain::ttest_student(Eigen::MatrixXd::Zero(1, 2), Eigen::MatrixXd::Zero(3, 2)),
      Contains("expected at least 2 samples (subjects) in a, got 1"));
}

TEST_CASE("p-value corrections equal statsmodels multipletests", "[stats][fdr]") {
  const Eigen::VectorXd p = stats_reference("p_values").transpose();
  const std::pair<const char*, dnn2brain::correction> methods[] = {
      {"bonferroni", dnn2brain::correction::bonferroni},
      {"holm", dnn2brain::correction::holm},
      {"fdr_bh", dnn2brain::correction::benjamini_hochberg},
      {"fdr_by", dnn2brain::correction::benjamini_yekutieli}};
  for (const auto& [name, method] : methods) {
    INFO(name);
    const Eigen::VectorXd adjusted = dnn2brain::adjust_p_values(p, method);
    const Eigen::VectorXd expected = stats_reference(std::string("p_") + name).transpose();
    // Same arithmetic as statsmodels, so identical values; only BY's Σ 1/i is summed in another
    // order (numpy sums pairwise): a few ulps.
    const double tolerance = method == dnn2brain::correction::benjamini_yekutieli ? 1e-15 : 0.0;
    INFO("relative deviation " << max_rel_diff(adjusted, expected));
    CHECK(max_rel_diff(adjusted, expected) <= tolerance);
    const auto rejected = dnn2brain::reject(p, 0.05, method);
    const Eigen::VectorXd expected_reject =
        stats_reference(std::string("p_") + name + "_reject").transpose();
    for (index_t i = 0; i < p.size(); ++i) REQUIRE(rejected[i] == (expected_reject[i] == 1.0));
  }
}

TEST_CASE("p-value corrections: NaN leaves the family, bad p-values are errors", "[stats][fdr]") {
  using Catch::Matchers::Contains;
  const Eigen::VectorXd p = stats_reference("p_values").transpose();
  Eigen::VectorXd with_nan(p.size() + 2);
  with_nan << std::numeric_limits<double>::quiet_NaN(), p.head(150),
      std::numeric_limits<double>::quiet_NaN(), p.tail(p.size() - 150);
  CHECK_THROWS_WITH(dnn2brain::adjust_p_values(with_nan, dnn2brain::correction::benjamini_hochberg),
                    Contains("got NaN at 0"));
  const Eigen::VectorXd adjusted = dnn2brain::adjust_p_values(
      with_nan, dnn2brain::correction::benjamini_hochberg, dnn2brain::nan_policy::omit);
  CHECK(std::isnan(adjusted[0]));
  CHECK(std::isnan(adjusted[151]));
  Eigen::VectorXd defined(p.size());
  defined << adjusted.segment(1, 150), adjusted.tail(p.size() - 150);
  CHECK(defined == dnn2brain::adjust_p_values(p, dnn2brain::correction::benjamini_hochberg));
  CHECK(!dnn2brain::reject(with_nan, 0.05, dnn2brain::correction::holm,
                           dnn2brain::nan_policy::omit)[0]);

  Eigen::VectorXd bad = p;
  bad[7] = 1.5;
  CHECK_THROWS_WITH(dnn2brain::adjust_p_values(bad, dnn2brain::correction::holm),
                    Contains("expected p-values in [0, 1], got 1.5 at 7"));
  bad[7] = -0.1;
  CHECK_THROWS_AS(dnn2brain::adjust_p_values(bad, dnn2brain::correction::bonferroni),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_WITH(dnn2brain::reject(p, 1.0, dnn2brain::correction::holm),
                    Contains("expected alpha in (0, 1), got 1"));
  CHECK(dnn2brain::adjust_p_values(Eigen::VectorXd(0), dnn2brain::correction::holm).size() == 0);
}

TEST_CASE("noise ceiling: bounds, searchlight form, bad input", "[stats][noise_ceiling]") {
  using Catch::Matchers::Contains;
  // 6 subjects sharing a true RDM plus independent noise.
  const Eigen::VectorXd truth = dnn2brain::test::gaussian(190, 1, 1);
  Eigen::MatrixXd subjects(190, 6);
  const Eigen::MatrixXd noise = dnn2brain::test::gaussian(190, 6, 2);
  for (index_t s = 0; s < 6; ++s) subjects.col(s) = truth + noise.col(s);
  const auto stack = dnn2brain::rdm_stack<double>::from_columns(subjects, 20);
  const auto nc = dnn2brain::noise_ceiling(stack, dnn2brain::measure::spearman{});
  CHECK(nc.lower < nc.upper);
  CHECK(nc.lower > 0.4);  // signal and noise of equal variance: r ≈ 0.5 against the others
  CHECK(nc.upper < 1.0);
  CHECK(nc.lower_per_subject.size() == 6);

  // Searchlight form: every target of a stack equals the ROI computation.
  std::vector<dnn2brain::rdm_stack<double>> per_subject;
  for (index_t s = 0; s < 6; ++s) {
    Eigen::MatrixXd targets(190, 3);
    targets << subjects.col(s), subjects.col(s) * 2.0, subjects.col(s).array().square().matrix();
    per_subject.push_back(dnn2brain::rdm_stack<double>::from_columns(targets, 20));
  }
  for (const int threads : {1, 2}) {
    const dnn2brain::test::thread_count scope(threads);
    const auto many = dnn2brain::noise_ceiling(
        std::span<const dnn2brain::rdm_stack<double>>(per_subject), dnn2brain::measure::spearman{});
    CHECK(many.lower[0] == nc.lower);
    CHECK(many.upper[0] == nc.upper);
    CHECK(many.lower[1] == nc.lower);  // ranks do not see the scale
  }
  const auto pearson = dnn2brain::noise_ceiling(stack, dnn2brain::measure::pearson{});
  CHECK(pearson.lower < pearson.upper);

  CHECK_THROWS_WITH(
      dnn2brain::noise_ceiling(dnn2brain::rdm_stack<double>::from_columns(subjects.leftCols(1), 20),
                               dnn2brain::measure::spearman{}),
      Contains("expected RDMs of at least 2 subjects, got 1"));
  Eigen::MatrixXd bad = subjects;
  bad(5, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(dnn2brain::noise_ceiling(dnn2brain::rdm_stack<double>::from_columns(bad, 20),
                                             dnn2brain::measure::spearman{}),
                    Contains("at pair 5 of RDM 2"));
}

namespace {

// A measure with a parameter and no pooling convention: Pearson r of the model with x^power.
struct power_pearson {
  static constexpr const char* name = "power_pearson";
  double power = 1.0;

  class prepared {
   public:
    prepared(const Eigen::VectorXd& model, double power) : m_pearson(model), m_power(power) {}
    [[nodiscard]] double operator()(const Eigen::VectorXd& target) const {
      return m_pearson(target.array().pow(m_power).matrix());
    }

   private:
    dnn2brain::measure::pearson::prepared m_pearson;
    double m_power;
  };
  [[nodiscard]] prepared prepare(const Eigen::VectorXd& model) const {
    return prepared(model, power);
  }
};

struct derived_spearman : dnn2brain::measure::spearman {};

}  // namespace

TEST_CASE("noise ceiling options: pooling by measure or raw mean, squared bounds, measure objects",
          "[stats][noise_ceiling]") {
  using Catch::Matchers::Contains;
  namespace measure = dnn2brain::measure;
  // 6 subjects sharing a true RDM plus noise, each on its own scale and offset, so that the pooling
  // conventions differ.
  const Eigen::VectorXd truth = dnn2brain::test::gaussian(190, 1, 1);
  const Eigen::MatrixXd noise = dnn2brain::test::gaussian(190, 6, 2);
  Eigen::MatrixXd subjects(190, 6);
  for (index_t s = 0; s < 6; ++s)
    subjects.col(s) = ((truth + noise.col(s)) * (1.0 + double(s))).array() + 10.0 + double(s);
  const auto stack = dnn2brain::rdm_stack<double>::from_columns(subjects, 20);
  const double count = 6.0;

  // The subjects pooled by hand, summed in order; the mean of the others sums them in order too.
  const auto mean_of = [&](const Eigen::MatrixXd& pooled, index_t except) {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(190);
    for (index_t t = 0; t < 6; ++t)
      if (t != except) sum += pooled.col(t);
    return Eigen::VectorXd(sum / (except < 0 ? count : count - 1.0));
  };
  // Expected per-subject bounds of a measure against pooled subjects.
  const auto expected = [&](const auto& m, const Eigen::MatrixXd& pooled) {
    Eigen::MatrixXd bounds(6, 2);  // lower, upper
    for (index_t s = 0; s < 6; ++s) {
      bounds(s, 0) = dnn2brain::compare_vectors(mean_of(pooled, s), subjects.col(s), m);
      bounds(s, 1) = dnn2brain::compare_vectors(mean_of(pooled, -1), subjects.col(s), m);
    }
    return bounds;
  };
  const auto got = [](const dnn2brain::noise_ceiling_result& r) {
    Eigen::MatrixXd bounds(6, 2);
    bounds << r.lower_per_subject, r.upper_per_subject;
    return bounds;
  };
  // Means formed in another order differ by rounding (a few ulps of the entries), which moves a
  // Pearson-type r by at most about m·ε (unit vectors, an m-term dot product) and cannot reorder
  // these entries for a rank measure (their gaps are ~1e-3).
  const double tolerance = 2.0 * 190.0 * std::numeric_limits<double>::epsilon();

  SECTION("the convention belongs to the measure: ranks, z-scores, unit RMS") {
    Eigen::MatrixXd ranks(190, 6), z(190, 6), unit(190, 6);
    for (index_t s = 0; s < 6; ++s) {
      ranks.col(s) = dnn2brain::rank_transform(subjects.col(s));
      const Eigen::ArrayXd centred = subjects.col(s).array() - subjects.col(s).mean();
      z.col(s) = centred / std::sqrt(centred.square().mean());
      unit.col(s) = subjects.col(s) / std::sqrt(subjects.col(s).squaredNorm() / 190.0);
    }
    CHECK(got(dnn2brain::noise_ceiling(stack, measure::spearman{})) ==
          expected(measure::spearman{}, ranks));
    CHECK(got(dnn2brain::noise_ceiling(stack, derived_spearman{})) ==
          expected(measure::spearman{}, ranks));
    CHECK(got(dnn2brain::noise_ceiling(stack, measure::kendall_tau_b{})) ==
          expected(measure::kendall_tau_b{}, ranks));
    CHECK(max_abs_diff(got(dnn2brain::noise_ceiling(stack, measure::pearson{})),
                       expected(measure::pearson{}, z)) <= tolerance);
    CHECK(max_abs_diff(got(dnn2brain::noise_ceiling(stack, measure::cosine{})),
                       expected(measure::cosine{}, unit)) <= tolerance);
  }
  SECTION("raw mean (Net2Brain) and squared bounds") {
    const dnn2brain::noise_ceiling_options raw{.pooling = dnn2brain::rdm_pooling::raw_mean};
    const auto r = dnn2brain::noise_ceiling(stack, measure::spearman{}, raw);
    CHECK(got(r) == expected(measure::spearman{}, subjects));
    CHECK(got(r) != got(dnn2brain::noise_ceiling(stack, measure::spearman{})));
    CHECK(max_abs_diff(got(dnn2brain::noise_ceiling(stack, measure::pearson{}, raw)),
                       expected(measure::pearson{}, subjects)) <= tolerance);

    const auto squared = dnn2brain::noise_ceiling(
        stack, measure::spearman{}, {.pooling = dnn2brain::rdm_pooling::raw_mean, .squared = true});
    CHECK(squared.lower_per_subject == r.lower_per_subject.cwiseAbs2());
    CHECK(squared.upper_per_subject == r.upper_per_subject.cwiseAbs2());
    double sum = 0.0;
    for (index_t s = 0; s < 6; ++s) sum += squared.lower_per_subject[s];
    CHECK(squared.lower == sum / count);

    // The searchlight form applies the same options to every target.
    std::vector<dnn2brain::rdm_stack<double>> per_subject;
    for (index_t s = 0; s < 6; ++s) {
      Eigen::MatrixXd targets(190, 2);
      targets << subjects.col(s), subjects.col(s).array().exp().matrix();
      per_subject.push_back(dnn2brain::rdm_stack<double>::from_columns(targets, 20));
    }
    const auto many = dnn2brain::noise_ceiling(
        std::span<const dnn2brain::rdm_stack<double>>(per_subject), measure::spearman{},
        {.pooling = dnn2brain::rdm_pooling::raw_mean, .squared = true});
    CHECK(many.lower[0] == squared.lower);
    CHECK(many.upper[0] == squared.upper);
  }
  SECTION("the measure object is passed through; a measure without pool() needs raw_mean") {
    const dnn2brain::noise_ceiling_options raw{.pooling = dnn2brain::rdm_pooling::raw_mean};
    const auto linear = dnn2brain::noise_ceiling(stack, power_pearson{1.0}, raw);
    // (Its scorer reads an expression, which the compiler may sum in another order.)
    CHECK(max_abs_diff(got(linear),
                       got(dnn2brain::noise_ceiling(stack, measure::pearson{}, raw))) <= tolerance);
    const auto squared_power = dnn2brain::noise_ceiling(stack, power_pearson{2.0}, raw);
    CHECK(max_abs_diff(got(squared_power), expected(power_pearson{2.0}, subjects)) <= tolerance);
    CHECK(got(squared_power) != got(linear));
    CHECK_THROWS_WITH(dnn2brain::noise_ceiling(stack, power_pearson{2.0}),
                      Contains("dnn2brain::noise_ceiling: expected a measure with a pooling "
                               "convention (a pool() member) or rdm_pooling::raw_mean, got "
                               "rdm_pooling::by_measure with measure power_pearson"));
  }
}

TEST_CASE("bootstrap over subjects: standard error, interval, determinism", "[stats][bootstrap]") {
  using Catch::Matchers::Contains;
  Eigen::MatrixXd scores = dnn2brain::test::gaussian(15, 3, 31);
  scores.col(1).array() += 2.0;
  const auto r = dnn2brain::bootstrap_subjects(scores, {.samples = 20000, .seed = 4});
  // The bootstrap SE of a mean converges to the plug-in SE, sd(ddof = 0)/√n: within 2 % at
  // 20,000 samples (the SE of an SE estimate is about SE/√(2B) = 0.5 %).
  for (index_t t = 0; t < 3; ++t) {
    const auto column = scores.col(t);
    const double plug_in =
        std::sqrt((column.array() - column.mean()).square().mean() / double(column.size()));
    CHECK(std::abs(r.standard_error(t) / plug_in - 1.0) < 0.02);
    CHECK(r.estimate(t) == column.mean());
    CHECK(r.lower(t) < r.estimate(t));
    CHECK(r.upper(t) > r.estimate(t));
    // Percentile interval ≈ mean ± 1.96 SE for a mean of 15 normal scores.
    CHECK(std::abs((r.upper(t) - r.lower(t)) / (2 * 1.96 * r.standard_error(t)) - 1.0) < 0.05);
  }
  for (const int threads : {1, 2}) {
    const dnn2brain::test::thread_count scope(threads);
    const auto again = dnn2brain::bootstrap_subjects(scores, {.samples = 20000, .seed = 4});
    for (index_t t = 0; t < 3; ++t) CHECK(again.distribution(t) == r.distribution(t));
  }
  CHECK_THROWS_WITH(dnn2brain::bootstrap_subjects(scores.topRows(1)),
                    Contains("expected scores of at least 2 subjects, got 1"));
  CHECK_THROWS_WITH(dnn2brain::bootstrap_subjects(scores, {.samples = 0}),
                    Contains("expected at least 1 bootstrap sample, got 0"));
  CHECK_THROWS_WITH(dnn2brain::bootstrap_subjects(scores, {.level = 1.5}),
                    Contains("expected a confidence level in (0, 1), got 1.5"));
}
