// Tests on real public data in ../shared/data (see its README). Each test skips visibly, printing
// "dnn2brain-skip:", when the folder is absent; ctest then reports it as skipped.
#include <dnn2brain/compare.hpp>
#include <dnn2brain/io/mat.hpp>
#include <dnn2brain/io/nifti.hpp>
#include <dnn2brain/io/npy.hpp>
#include <dnn2brain/io/npz.hpp>
#include <dnn2brain/metrics.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/regression.hpp>
#include <dnn2brain/searchlight.hpp>
#include <dnn2brain/stats.hpp>

#include <filesystem>
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
using dnn2brain::test::shape_of;

using row_major_f = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A numeric field of every element of a struct array, in MATLAB's linear order, as double.
std::vector<Eigen::MatrixXd> struct_field(const fs::path& file, const char* variable,
                                          const char* field) {
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto value = dnn2brain::io::mat_file(file).read(variable);
  std::vector<Eigen::MatrixXd> out;
  for (std::size_t k = 0; k < value.numel(); ++k) {
    const auto a = value.field(field, k).array<double>();
    REQUIRE(a.dimension() == 2);
    out.emplace_back(
        Eigen::Map<const row_major>(a.data(), index_t(a.shape()[0]), index_t(a.shape()[1])));
  }
  return out;
}

// A character field of every element of a struct array.
std::vector<std::string> struct_string_field(const fs::path& file, const char* variable,
                                             const char* field) {
  const auto value = dnn2brain::io::mat_file(file).read(variable);
  std::vector<std::string> out;
  for (std::size_t k = 0; k < value.numel(); ++k) out.push_back(value.field(field, k).string());
  return out;
}

// Condensed (pdist-order) upper triangle of a square matrix.
Eigen::VectorXd upper_triangle(const Eigen::MatrixXd& square) {
  const index_t n = square.rows();
  Eigen::VectorXd v(dnn2brain::condensed_size(n));
  for (index_t i = 0, k = 0; i < n; ++i)
    for (index_t j = i + 1; j < n; ++j) v[k++] = square(i, j);
  return v;
}

}  // namespace

TEST_CASE("ResNet-18 layer-4 activations reproduce Net2Brain's stored RDMs", "[real_data][n2b78]") {
  if (!data_present("n2b78")) return;
  const auto features = dnn2brain::io::read_npy<float>(
      data_file("n2b78/case3_ResNet18_layer4_features_78x25088_f32.npy"));
  REQUIRE(shape_of(features) == std::vector<std::size_t>{78, 25088});
  const Eigen::Map<const row_major_f> view(features.data(), 78, 25088);

  auto stored = [](const std::string& name) {
    const auto a = dnn2brain::io::read_npz<double>(
        data_file("n2b78/case3_ResNet18_rdm_" + name + "_layer4.npz"), "rdm.npy");
    return Eigen::Map<const Eigen::VectorXd>(a.data(), index_t(a.size())).eval();
  };
  // Net2Brain computed these in float32; agreement to about 1e-3 is what float allows here
  // (relative 1e-4 of values up to 20 for euclidean).
  const Eigen::VectorXd pearson = stored("pearson"), cosine = stored("cosine"),
                        euclidean = stored("euclidean");
  for (const auto method : {dnn2brain::rdm_method::gram, dnn2brain::rdm_method::direct}) {
    const double dp = dnn2brain::test::max_abs_diff(
        dnn2brain::compute_rdm(view, dnn2brain::metric::correlation{}, {.method = method}).values(),
        pearson);
    const double dc = dnn2brain::test::max_abs_diff(
        dnn2brain::compute_rdm(view, dnn2brain::metric::cosine{}, {.method = method}).values(),
        cosine);
    const double de = dnn2brain::test::max_abs_diff(
        dnn2brain::compute_rdm(view, dnn2brain::metric::euclidean{}, {.method = method}).values(),
        euclidean);
    INFO("method " << (method == dnn2brain::rdm_method::gram ? "gram" : "direct")
                   << ": worst deviation pearson " << dp << ", cosine " << dc << ", euclidean "
                   << de);
    CHECK(dp <= 1e-3);
    CHECK(dc <= 1e-3);
    CHECK(de <= 1e-3 * euclidean.maxCoeff());
    WARN("n2b78 layer4 worst deviations ("
         << (method == dnn2brain::rdm_method::gram ? "gram" : "direct") << "): pearson " << dp
         << ", cosine " << dc << ", euclidean " << de);
  }
}

TEST_CASE("Net2Brain fMRI RDMs round-trip square <-> condensed and compare with the DNN RDM",
          "[real_data][n2b78]") {
  if (!data_present("n2b78")) return;
  const auto it = dnn2brain::io::read_npz<double>(data_file("n2b78/fmri_IT_RDMs.npz"), "arr_0.npy");
  REQUIRE(shape_of(it) == std::vector<std::size_t>{15, 78, 78});
  dnn2brain::rdm_stack<double> subjects(78, 15);
  for (index_t s = 0; s < 15; ++s) {
    using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const row_major> square(it.data() + s * 78 * 78, 78, 78);
    const auto r = dnn2brain::from_square(square);
    // The stored matrices are symmetric only to rounding: the upper triangle comes back exactly,
    // the lower within the asymmetry from_square accepted.
    const Eigen::MatrixXd back = dnn2brain::to_square(r);
    REQUIRE(back.triangularView<Eigen::Upper>().toDenseMatrix() ==
            square.triangularView<Eigen::Upper>().toDenseMatrix());
    const double asymmetry = (square - square.transpose()).cwiseAbs().maxCoeff();
    REQUIRE(dnn2brain::test::max_abs_diff(back, square) == asymmetry);
    REQUIRE(dnn2brain::from_square(back).values() == r.values());
    subjects.set(s, r);
  }
  const auto a = dnn2brain::io::read_npz<double>(
      data_file("n2b78/case1_ResNet18_rdm_layer4.1.bn2.npz"), "arr_0.npy");
  REQUIRE(shape_of(a) == std::vector<std::size_t>{78, 78});
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto model = dnn2brain::from_square(Eigen::Map<const row_major>(a.data(), 78, 78));
  const Eigen::VectorXd scores =
      dnn2brain::compare(model, subjects, dnn2brain::measure::spearman{});
  for (index_t s = 0; s < 15; ++s)
    CHECK(scores[s] == dnn2brain::compare(model, subjects.get(s), dnn2brain::measure::spearman{}));
  CHECK(scores.allFinite());
}

TEST_CASE("rsa92 RDMs round-trip square <-> condensed", "[real_data][rsa92]") {
  if (!data_present("rsa92")) return;
  index_t checked = 0;
  for (const auto& [file, variable] :
       {std::pair{"rsa92/92_brainRDMs.mat", "RDMs"}, std::pair{"rsa92/92_modelRDMs.mat", "Models"},
        std::pair{"rsa92/92_behavRDMs.mat", "rdms_behav_92"}}) {
    for (const auto& square : struct_field(data_file(file), variable, "RDM")) {
      INFO(file << " RDM " << checked);
      REQUIRE(square.rows() == 92);
      REQUIRE(square.cols() == 92);
      const auto r = dnn2brain::from_square(square, {.allow_nan = true});
      REQUIRE(r.conditions() == 92);
      const Eigen::MatrixXd back = dnn2brain::to_square(r);
      const double asymmetry = (square - square.transpose()).cwiseAbs().maxCoeff();
      REQUIRE(dnn2brain::test::max_abs_diff(back, square) <= asymmetry);
      REQUIRE(dnn2brain::from_square(back, {.allow_nan = true})
                      .values()
                      .cwiseEqual(r.values())
                      .count() +
                  r.values().array().isNaN().count() ==
              r.pairs());
      ++checked;
    }
  }
  CHECK(checked == 8 + 8 + 16);
  // AlexNet layer RDMs are stored condensed (1 × 4186): condensed -> square -> condensed is exact.
  const auto alexnet = struct_field(data_file("rsa92/modelRDMs_A2020.mat"), "modelRDMs", "RDM");
  REQUIRE(alexnet.size() == 63);
  for (const auto& row : alexnet) {
    const dnn2brain::rdm r(row.row(0).transpose().eval());
    REQUIRE(r.conditions() == 92);
    REQUIRE(dnn2brain::from_square(dnn2brain::to_square(r)).values() == r.values());
  }
}

TEST_CASE("OLS of hIT fMRI RDMs on AlexNet layer RDMs agrees with statsmodels to 1e-10",
          "[real_data][rsa92][regression]") {
  if (!data_present("rsa92")) return;
  const auto reference = [](const std::string& name) -> const dnn2brain::test::row_matrix& {
    return dnn2brain::test::reference(name, DNN2BRAIN_REGRESSION_REFERENCE_FILE);
  };
  // Targets: 4 subjects × 2 sessions, MATLAB order (subject fastest), as the reference script.
  const auto brain = struct_field(data_file("rsa92/92_brainRDMs.mat"), "RDMs", "RDM");
  REQUIRE(brain.size() == 8);
  Eigen::MatrixXd targets(4186, 8);
  for (index_t t = 0; t < 8; ++t) targets.col(t) = upper_triangle(brain[std::size_t(t)]);
  // Predictors: the 63 AlexNet RDMs (condensed 1 × 4186), grouped by layer name.
  const auto rdms = struct_field(data_file("rsa92/modelRDMs_A2020.mat"), "modelRDMs", "RDM");
  const auto names =
      struct_string_field(data_file("rsa92/modelRDMs_A2020.mat"), "modelRDMs", "reprName");
  REQUIRE(rdms.size() == 63);
  const auto layer = [&](const std::vector<std::string>& wanted, bool first_only) {
    std::vector<Eigen::VectorXd> columns;
    for (const auto& w : wanted)
      for (std::size_t i = 0; i < rdms.size(); ++i)
        if (names[i] == w) {
          columns.push_back(rdms[i].row(0).transpose());
          if (first_only) break;
        }
    Eigen::MatrixXd x(4186, index_t(columns.size()));
    for (index_t c = 0; c < x.cols(); ++c) x.col(c) = columns[std::size_t(c)];
    return x;
  };

  double worst_r2 = 0.0, worst_params = 0.0;
  const auto check = [&](const std::string& name, const Eigen::MatrixXd& x, bool full_rank) {
    INFO("design " << name << " (" << x.cols() << " predictors)");
    const dnn2brain::design d(x);
    REQUIRE(d.rank() == static_cast<index_t>(reference("alexnet_" + name + "_df_model")(0, 0)));
    CHECK((d.info() == dnn2brain::status::success) == full_rank);
    const auto r = fit(d, targets, {.coefficients = true});
    const double d_r2 = std::max(
        dnn2brain::test::max_abs_diff(r.r_squared, reference("alexnet_" + name + "_r2")),
        dnn2brain::test::max_abs_diff(r.adjusted_r_squared, reference("alexnet_" + name + "_adj")));
    CHECK(d_r2 <= 1e-10);
    worst_r2 = std::max(worst_r2, d_r2);
    if (!full_rank) return;  // statsmodels returns the minimum-norm solution, ours the basic one
    // Slopes in units of the predictor's spread (they range over 1e-10 .. 1e-1 here).
    const auto& params = reference("alexnet_" + name + "_params");
    Eigen::MatrixXd scaled = r.coefficients[0] - params;
    for (index_t j = 0; j < x.cols(); ++j)
      scaled.row(j + 1) *= std::sqrt((x.col(j).array() - x.col(j).mean()).square().mean());
    const double d_params = scaled.cwiseAbs().maxCoeff();
    CHECK(d_params <= 1e-10);
    worst_params = std::max(worst_params, d_params);
  };
  for (const std::string l : {"conv1", "conv2", "conv3", "conv4", "conv5"})
    check(l, layer({l}, false), false);  // 'complete' and 'smooth1sepFeat' are identical
  for (const std::string l : {"fc6", "fc7", "fc8", "prob"}) check(l, layer({l}, false), true);
  check("mixed", layer({"conv1", "conv5", "fc7"}, true), true);

  // Variance partitioning of fc6, fc7 and fc8 against the paper's vpart3 formulas.
  const std::vector<Eigen::MatrixXd> groups{layer({"fc6"}, false), layer({"fc7"}, false),
                                            layer({"fc8"}, false)};
  const auto parts = fit(dnn2brain::variance_partitioning<double>(groups), targets);
  const double d_unions = dnn2brain::test::max_abs_diff(parts.unions, reference("vpart_fc_unions"));
  const double d_fractions =
      dnn2brain::test::max_abs_diff(parts.fractions, reference("vpart_fc_fractions"));
  CHECK(d_unions <= 1e-10);
  CHECK(d_fractions <= 1e-10);
  WARN("rsa92 OLS vs statsmodels, worst deviations: R²/adjusted "
       << worst_r2 << ", scaled params " << worst_params << ", variance partitioning "
       << std::max(d_unions, d_fractions));
}

TEST_CASE("Noise ceilings of the n2b78 EVC and IT RDMs agree with an independent computation",
          "[real_data][n2b78][noise_ceiling]") {
  if (!data_present("n2b78")) return;
  const auto reference = [](const std::string& name) -> const dnn2brain::test::row_matrix& {
    return dnn2brain::test::reference(name, DNN2BRAIN_STATS_REFERENCE_FILE);
  };
  double worst = 0.0;
  for (const std::string region : {"EVC", "IT"}) {
    const auto a = dnn2brain::io::read_npz<double>(data_file("n2b78/fmri_" + region + "_RDMs.npz"),
                                                   "arr_0.npy");
    REQUIRE(shape_of(a) == std::vector<std::size_t>{15, 78, 78});
    Eigen::MatrixXd subjects(3003, 15);
    for (index_t s = 0; s < 15; ++s) {
      using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      subjects.col(s) = upper_triangle(Eigen::Map<const row_major>(a.data() + s * 78 * 78, 78, 78));
    }
    const auto stack = dnn2brain::rdm_stack<double>::from_columns(subjects, 78);
    const auto check = [&](const dnn2brain::noise_ceiling_result& r, const std::string& name) {
      const double d = std::max(
          dnn2brain::test::max_abs_diff(r.lower_per_subject.transpose(),
                                        reference("nc_" + region + "_" + name + "_lower")),
          dnn2brain::test::max_abs_diff(r.upper_per_subject.transpose(),
                                        reference("nc_" + region + "_" + name + "_upper")));
      INFO(region << " " << name << ": lower " << r.lower << ", upper " << r.upper
                  << ", worst deviation " << d);
      CHECK(d <= 1e-12);
      CHECK(r.lower < r.upper);
      worst = std::max(worst, d);
    };
    check(dnn2brain::noise_ceiling(stack, dnn2brain::measure::spearman{}), "spearman");
    check(dnn2brain::noise_ceiling(stack, dnn2brain::measure::pearson{}), "pearson");
  }
  WARN("n2b78 noise ceilings vs scipy, worst deviation " << worst);
}

TEST_CASE("The MNI 2 mm mask's radius-2 neighbour table matches a convolution count",
          "[real_data][mni][searchlight]") {
  if (!data_present("mni")) return;
  const auto image = dnn2brain::io::read_nifti_volume<std::uint8_t>(
      data_file("mni/MNI152_T1_2mm_brain_mask.nii.gz"));
  const dnn2brain::brain_mask mask(image.data, image.geometry);
  const auto& voxels =
      dnn2brain::test::reference("mni_voxels", DNN2BRAIN_SEARCHLIGHT_REFERENCE_FILE);
  REQUIRE(mask.size() == dnn2brain::index_t(voxels(0, 0)));
  const auto table = dnn2brain::make_neighbor_table(mask, dnn2brain::neighborhood::sphere{2.0});
  REQUIRE(table.size() == mask.size());
  // Histogram of member counts: scipy.ndimage.convolve of the mask with the r = 2 ball.
  const auto& want =
      dnn2brain::test::reference("mni_r2_count_histogram", DNN2BRAIN_SEARCHLIGHT_REFERENCE_FILE);
  std::vector<double> histogram(std::size_t(want.cols()), 0.0);
  for (const auto& s : table) histogram.at(s.size()) += 1.0;
  for (Eigen::Index c = 0; c < want.cols(); ++c) {
    CAPTURE(c);
    CHECK(histogram[std::size_t(c)] == want(0, c));
  }
  CHECK(table.max_members() == 33);
}
