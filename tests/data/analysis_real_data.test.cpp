// The ROI analyses (analysis/roi_analysis.hpp, analysis/partition_analysis.hpp) on real public data
// in ../shared/data (see its README), against numpy/scipy/statsmodels:
// tests/reference/make_analysis_real_data_reference.py wrote analysis_real_data_values.txt. Each
// test skips visibly, printing "dnn2brain-skip:", when the data folder is absent; ctest then
// reports it as skipped.
//
// Error model. Both sides read the same files and convert every float32 value to double once
// (exactly); from there on both compute in double. The session mean (a + b)/2 of two float32 values
// and the subject means (summed in subject order, then divided, as numpy's mean over the first
// axis) are the same doubles on both sides. What remains is the rounding of each side's algorithm:
// - least squares by pivoted QR here, by SVD in statsmodels, on centred predictors scaled to unit
//   spread: R² within a few m·ε of each other (the regression tests see 6.5e-16 on these designs);
//   adjusted R² multiplies that by (m − 1)/(m − rank − 1) < 1.01; the 7 fractions are sums of at
//   most 7 unions; R = √(adjusted R²) multiplies the error by 1/(2R) (< 30 for the mean RDM here,
//   where every R ≥ 0.017);
// - Pearson and Spearman r are normalised dot products of m ≤ 4186 terms, |Δr| ≤ (m + 4)·ε ≈ 1e-12;
//   ranks are exact (these RDMs have no ties; scipy's average ranks are the library's otherwise);
// - t statistics divide differences of about 1e-15 by standard errors of at least 1e-3
//   (Δt ≲ 1e-11); p-values move by at most the t density (< 0.4) times Δt.
// Every quantity is expected within about 1e-11: the tolerance 1e-9 leaves a margin of 100, and
// each test prints its worst deviation per quantity.
#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/partition_analysis.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/io/mat.hpp>
#include <dnn2brain/io/npz.hpp>
#include <dnn2brain/regression/design.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"
#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::index_t;
namespace fs = std::filesystem;

namespace {

using dnn2brain::test::data_file;
using dnn2brain::test::data_present;
using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr double tolerance = 1e-9;

const dnn2brain::test::row_matrix& reference(const std::string& name) {
  static const std::string file =
      fs::path(DNN2BRAIN_REFERENCE_FILE).replace_filename("analysis_real_data_values.txt").string();
  return dnn2brain::test::reference(name, file);
}

// The worst deviation of each quantity (over ROIs and scores), checked and reported.
struct deviations {
  std::map<std::string, double> worst;
  // Reference array prefix + quantity against got (row vectors or D × S, compared in row-major
  // order as written).
  void check(const std::string& prefix, const std::string& quantity, const Eigen::MatrixXd& got) {
    const auto& want = reference(prefix + quantity);
    record(prefix + quantity, quantity,
           dnn2brain::test::max_abs_diff(got.reshaped<Eigen::RowMajor>(),
                                         want.reshaped<Eigen::RowMajor>()));
  }
  void record(const std::string& name, const std::string& quantity, double d) {
    INFO(name << ": worst deviation " << d);
    CHECK(d <= tolerance);
    worst[quantity] = std::max(worst[quantity], d);
  }
  [[nodiscard]] std::string report() const {
    std::ostringstream out;
    out << std::setprecision(2);
    double all = 0.0;
    for (const auto& [quantity, d] : worst) {
      out << "\n  " << quantity << ": " << d;
      all = std::max(all, d);
    }
    return "worst deviation " + (std::ostringstream() << std::setprecision(2) << all).str() +
           out.str();
  }
};

// The upper triangle of a square matrix in pdist (row-major) order.
Eigen::VectorXd upper_triangle(const Eigen::Ref<const row_major>& square) {
  const index_t n = square.rows();
  Eigen::VectorXd v(dnn2brain::condensed_size(n));
  for (index_t i = 0, k = 0; i < n; ++i)
    for (index_t j = i + 1; j < n; ++j) v[k++] = square(i, j);
  return v;
}

// A numeric field of every element of a struct array (MATLAB's linear order), as double.
std::vector<row_major> struct_field(const fs::path& file, const char* variable, const char* field) {
  const auto value = dnn2brain::io::mat_file(file).read(variable);
  std::vector<row_major> out;
  for (std::size_t k = 0; k < value.numel(); ++k) {
    const auto a = value.field(field, k).array<double>();
    REQUIRE(a.dimension() == 2);
    out.emplace_back(
        Eigen::Map<const row_major>(a.data(), index_t(a.shape()[0]), index_t(a.shape()[1])));
  }
  return out;
}

// rsa92: the 4 hIT subjects (each the mean of its 2 sessions), 4186 pairs × 4.
dnn2brain::rdm_stack<double> hit_subjects() {
  const auto brain = struct_field(data_file("rsa92/92_brainRDMs.mat"), "RDMs", "RDM");
  REQUIRE(brain.size() == 8);  // 1 × 4 × 2, subject fastest
  Eigen::MatrixXd subjects(4186, 4);
  for (std::size_t s = 0; s < 4; ++s)
    subjects.col(index_t(s)) = upper_triangle(brain[s] + brain[s + 4]) / 2.0;
  return dnn2brain::rdm_stack<double>::from_columns(subjects, 92);
}

const std::vector<std::string> alexnet{"conv1", "conv2", "conv3", "conv4", "conv5",
                                       "fc6",   "fc7",   "fc8",   "prob"};

// rsa92: every AlexNet layer's variant RDMs, 4186 pairs × variants (11 or 2), in file order.
std::vector<Eigen::MatrixXd> alexnet_variants() {
  const fs::path file = data_file("rsa92/modelRDMs_A2020.mat");
  const auto rdms = struct_field(file, "modelRDMs", "RDM");
  const auto value = dnn2brain::io::mat_file(file).read("modelRDMs");
  REQUIRE(rdms.size() == 63);
  std::vector<Eigen::MatrixXd> out;
  for (const std::string& layer : alexnet) {
    std::vector<index_t> columns;
    for (std::size_t i = 0; i < rdms.size(); ++i)
      if (value.field("reprName", i).string() == layer) columns.push_back(index_t(i));
    Eigen::MatrixXd x(4186, index_t(columns.size()));
    for (index_t c = 0; c < x.cols(); ++c)
      x.col(c) = rdms[std::size_t(columns[std::size_t(c)])].row(0).transpose();
    out.push_back(std::move(x));
  }
  return out;
}

// The 9 layers as one model set. model_set gives every model the same layers, but the conv layers
// have 11 variants and the others 2: each model gets 11 predictor slots, and the 2-variant models
// fill theirs by repeating their variants. A repeated column leaves the design's span, and so R²,
// the rank and the rank-based adjusted R², unchanged: the set scores exactly the models "a layer =
// its k variants" (checked against statsmodels on the unpadded designs, and against the two
// unpadded family sets below).
dnn2brain::model_set padded_alexnet(const std::vector<Eigen::MatrixXd>& variants) {
  std::vector<std::string> slots;
  for (int v = 1; v <= 11; ++v) slots.push_back("variant" + std::to_string(v));
  dnn2brain::model_set models(slots);
  for (std::size_t d = 0; d < alexnet.size(); ++d) {
    Eigen::MatrixXd x(4186, 11);
    for (index_t v = 0; v < 11; ++v) x.col(v) = variants[d].col(v % variants[d].cols());
    models.add(alexnet[d], dnn2brain::rdm_stack<double>::from_columns(x, 92));
  }
  return models;
}

// One family of layers with the same variant count as its own model set (slots named by index).
dnn2brain::model_set family(const std::vector<Eigen::MatrixXd>& variants, std::size_t first,
                            std::size_t last) {
  std::vector<std::string> slots;
  for (index_t v = 1; v <= variants[first].cols(); ++v)
    slots.push_back("variant" + std::to_string(v));
  dnn2brain::model_set models(slots);
  for (std::size_t d = first; d < last; ++d)
    models.add(alexnet[d], dnn2brain::rdm_stack<double>::from_columns(variants[d], 92));
  return models;
}

Eigen::RowVectorXd as_row(const std::vector<index_t>& v) {
  Eigen::RowVectorXd out(index_t(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) out[index_t(i)] = double(v[i]);
  return out;
}

}  // namespace

TEST_CASE("ROI analysis of hIT on the AlexNet layers agrees with statsmodels and scipy",
          "[real_data][rsa92][analysis]") {
  if (!data_present("rsa92")) return;
  const auto variants = alexnet_variants();
  const dnn2brain::model_set models = padded_alexnet(variants);
  dnn2brain::roi_set rois;
  rois.add("hIT", hit_subjects());
  deviations dev;

  // Ranks of the models' designs and of the top 3's unions (statsmodels' df_model).
  Eigen::RowVectorXd ranks(models.size());
  for (index_t d = 0; d < models.size(); ++d)
    ranks[d] = double(dnn2brain::design(models.rdms(d)).rank());
  CHECK(ranks == reference("rsa92_hIT_rank"));

  // Adjusted R² (default score): subject-mean scores, subject scores and their t-tests, the
  // paired test of the best against the runner-up, the Pearson r² noise ceilings.
  const auto fits =
      dnn2brain::roi_analysis(models, rois, {.permutations = 0, .bootstrap_samples = 0});
  REQUIRE(fits.ceiling.measure == dnn2brain::ceiling_measure::pearson);
  REQUIRE(fits.ceiling.squared == true);
  dev.check("rsa92_hIT_", "adjusted_r2", fits.scores.transpose());
  dev.check("rsa92_hIT_", "subject_adjusted_r2", fits.subject_scores[0]);
  dev.check("rsa92_hIT_", "subject_mean", fits.subject_mean.transpose());
  dev.check("rsa92_hIT_", "subject_sem", fits.subject_sem.transpose());
  dev.check("rsa92_hIT_", "subject_t", fits.subject_t.transpose());
  dev.check("rsa92_hIT_", "subject_p", fits.subject_p.transpose());
  const std::vector<index_t> order = fits.ranking(0);
  CHECK(as_row(order) == reference("rsa92_hIT_ranking"));
  Eigen::RowVector2d best_vs_runner_up(fits.subject_t_difference(order[0], order[1])[0],
                                       fits.subject_p_difference(order[0], order[1])[0]);
  dev.check("rsa92_hIT_", "best_vs_runner_up", best_vs_runner_up);
  dev.check("rsa92_hIT_", "ceiling_pearson_squared_lower", fits.ceilings[0].lower_per_subject);
  dev.check("rsa92_hIT_", "ceiling_pearson_squared_upper", fits.ceilings[0].upper_per_subject);
  dev.record("rsa92_hIT_ceiling_lower", "ceiling_pearson_squared_lower_mean",
             std::abs(fits.ceiling_lower[0] -
                      reference("rsa92_hIT_ceiling_pearson_squared_lower").mean()));
  dev.record("rsa92_hIT_ceiling_upper", "ceiling_pearson_squared_upper_mean",
             std::abs(fits.ceiling_upper[0] -
                      reference("rsa92_hIT_ceiling_pearson_squared_upper").mean()));

  // R² and the paper's R = √max(adjusted R², 0); R's ceilings are Pearson r, not squared.
  const auto r2 = dnn2brain::roi_analysis(models, rois,
                                          {.score = {dnn2brain::model_score::r_squared},
                                           .subject_tests = false,
                                           .permutations = 0,
                                           .bootstrap_samples = 0,
                                           .ceiling = {.compute = false}});
  dev.check("rsa92_hIT_", "r2", r2.scores.transpose());
  const auto r = dnn2brain::roi_analysis(
      models, rois,
      {.score = {dnn2brain::model_score::multiple_r}, .permutations = 0, .bootstrap_samples = 0});
  REQUIRE(r.ceiling.squared == false);
  dev.check("rsa92_hIT_", "multiple_r", r.scores.transpose());
  dev.check("rsa92_hIT_", "subject_multiple_r", r.subject_scores[0]);
  dev.check("rsa92_hIT_", "ceiling_pearson_unsquared_lower", r.ceilings[0].lower_per_subject);
  dev.check("rsa92_hIT_", "ceiling_pearson_unsquared_upper", r.ceilings[0].upper_per_subject);

  // Fig. 2: the top 3 and the 7 fractions of their commonality analysis (vpart3), on the mean RDM
  // and on each subject's, and the subject fractions' t-tests.
  const auto top3 = dnn2brain::top_k_partitioning(models, rois, fits,
                                                  {.permutations = 0, .bootstrap_samples = 0});
  REQUIRE(top3.k == 3);
  CHECK(Eigen::RowVector3d(double(top3.members(0, 0)), double(top3.members(1, 0)),
                           double(top3.members(2, 0))) == reference("rsa92_hIT_top3"));
  dev.check("rsa92_hIT_", "top3_unions", top3.unions.transpose());
  dev.check("rsa92_hIT_", "top3_fractions", top3.fractions.transpose());
  dev.check("rsa92_hIT_", "top3_subject_fractions", top3.subject_fractions[0]);
  dev.check("rsa92_hIT_", "top3_subject_t", top3.subject_t.transpose());
  dev.check("rsa92_hIT_", "top3_subject_p", top3.subject_p.transpose());
  CHECK(std::abs(top3.total()[0] - top3.fractions.col(0).sum()) <= tolerance);
  // The unions' ranks (statsmodels' df_model of each union of unpadded designs).
  const std::vector<index_t> top{top3.members(0, 0), top3.members(1, 0), top3.members(2, 0)};
  Eigen::RowVectorXd union_ranks(7);
  for (index_t s = 1; s <= 7; ++s) {
    std::vector<Eigen::MatrixXd> parts;
    for (index_t j = 0; j < 3; ++j)
      if (s >> j & 1) parts.push_back(models.rdms(top[std::size_t(j)]).values());
    Eigen::MatrixXd x(4186, 11 * index_t(parts.size()));
    for (std::size_t i = 0; i < parts.size(); ++i) x.middleCols(11 * index_t(i), 11) = parts[i];
    union_ranks[s - 1] = double(dnn2brain::design(x).rank());
  }
  CHECK(union_ranks == reference("rsa92_hIT_top3_union_rank"));

  // The two families as their own, unpadded model sets (11 and 2 variants) score the same.
  for (const auto& [first, last] : {std::pair<std::size_t, std::size_t>{0, 5}, {5, 9}}) {
    const auto part = dnn2brain::roi_analysis(family(variants, first, last), rois,
                                              {.permutations = 0, .bootstrap_samples = 0});
    const auto from = index_t(first), count = index_t(last - first);
    INFO("family " << alexnet[first] << " .. " << alexnet[last - 1]);
    CHECK(dnn2brain::test::max_abs_diff(part.scores, fits.scores.middleRows(from, count)) <= 1e-15);
    CHECK(dnn2brain::test::max_abs_diff(part.subject_scores[0],
                                        fits.subject_scores[0].middleRows(from, count)) <= 1e-15);
  }
  WARN("rsa92 hIT ROI analysis vs statsmodels/scipy, " << dev.report());
}

TEST_CASE("RSA of the n2b78 EVC and IT RDMs with DNN layer RDMs agrees with scipy",
          "[real_data][n2b78][analysis]") {
  if (!data_present("n2b78")) return;
  const std::vector<std::string> files{"case1_ResNet18_rdm_layer3.1.conv2",
                                       "case1_ResNet18_rdm_layer4.1.bn2",
                                       "case2_RN50_rdm_visual.layer4"};
  dnn2brain::model_set models{"rdm"};
  for (const std::string& f : files) {
    const auto a = dnn2brain::io::read_npz<double>(data_file("n2b78/" + f + ".npz"), "arr_0.npy");
    REQUIRE(a.dimension() == 2);
    const Eigen::Map<const row_major> square(a.data(), 78, 78);
    models.add(f, dnn2brain::rdm_stack<double>::from_columns(upper_triangle(square), 78));
  }
  dnn2brain::roi_set rois;
  for (const std::string region : {"EVC", "IT"}) {
    const auto a = dnn2brain::io::read_npz<double>(data_file("n2b78/fmri_" + region + "_RDMs.npz"),
                                                   "arr_0.npy");
    REQUIRE(a.dimension() == 3);
    REQUIRE(a.shape()[0] == 15);
    Eigen::MatrixXd subjects(3003, 15);
    for (index_t s = 0; s < 15; ++s)
      subjects.col(s) = upper_triangle(Eigen::Map<const row_major>(a.data() + s * 78 * 78, 78, 78));
    rois.add(region, dnn2brain::rdm_stack<double>::from_columns(subjects, 78));
  }

  deviations dev;
  for (const auto score : {dnn2brain::model_score::spearman, dnn2brain::model_score::pearson}) {
    const auto fits = dnn2brain::roi_analysis(
        models, rois, {.score = {score}, .permutations = 0, .bootstrap_samples = 0});
    REQUIRE(fits.ceiling.squared == false);
    for (index_t r = 0; r < 2; ++r) {
      const std::string prefix = "n2b78_" + rois.names()[std::size_t(r)] + "_",
                        name(dnn2brain::score_name(score));
      dev.check(prefix, name, fits.scores.col(r).transpose());
      dev.check(prefix, name + "_subject", fits.subject_scores[std::size_t(r)]);
      dev.check(prefix, name + "_subject_mean", fits.subject_mean.col(r).transpose());
      dev.check(prefix, name + "_subject_sem", fits.subject_sem.col(r).transpose());
      dev.check(prefix, name + "_subject_t", fits.subject_t.col(r).transpose());
      dev.check(prefix, name + "_subject_p", fits.subject_p.col(r).transpose());
      const std::vector<index_t> order = fits.ranking(r);
      CHECK(as_row(order) == reference(prefix + name + "_ranking"));
      dev.check(prefix, name + "_best_vs_runner_up",
                Eigen::RowVector2d(fits.subject_t_difference(order[0], order[1])[r],
                                   fits.subject_p_difference(order[0], order[1])[r]));
      const auto& ceiling = fits.ceilings[std::size_t(r)];
      dev.check(prefix, name + "_ceiling_lower", ceiling.lower_per_subject);
      dev.check(prefix, name + "_ceiling_upper", ceiling.upper_per_subject);
      dev.record(
          prefix + name + "_ceiling_lower", name + "_ceiling_lower_mean",
          std::abs(fits.ceiling_lower[r] - reference(prefix + name + "_ceiling_lower").mean()));
      dev.record(
          prefix + name + "_ceiling_upper", name + "_ceiling_upper_mean",
          std::abs(fits.ceiling_upper[r] - reference(prefix + name + "_ceiling_upper").mean()));
    }
  }
  WARN("n2b78 RSA vs scipy (EVC and IT), " << dev.report());
}
