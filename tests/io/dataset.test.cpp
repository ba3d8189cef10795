// Datasets on disk (io/dataset.hpp) and the partial .npy reads they use: small datasets written in
// both layouts with the library's own writers are read back exactly; write_dataset round-trips
// precomputed searchlight RDMs and betas; every malformed, missing, ambiguous or inconsistent
// piece is an io_error that names its file.
#include <dnn2brain/io/dataset.hpp>
#include <dnn2brain/searchlight/paint.hpp>
#include <dnn2brain/simulate/analysis_inputs.hpp>
#include <dnn2brain/simulate/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

namespace fs = std::filesystem;
namespace io = dnn2brain::io;
using Catch::Contains;
using dnn2brain::index_t;

namespace {

using dnn2brain::test::count_entries;
using dnn2brain::test::scratch_dir;
using dnn2brain::test::write_file;

constexpr index_t n = 8;                    // conditions
constexpr index_t pairs = n * (n - 1) / 2;  // 28
constexpr std::size_t subjects = 3;

// A condensed RDM of float-representable values in [0.25, 2), so that float32 and float64 files
// hold it exactly.
Eigen::VectorXd random_rdm(std::mt19937& rng) {
  std::uniform_int_distribution<int> step(1, 7 * 64);
  Eigen::VectorXd v(pairs);
  for (index_t k = 0; k < pairs; ++k) v[k] = 0.25 + step(rng) / 256.0;
  return v;
}

// Square n × n, row-major as the files store it.
xt::xarray<double> square(const Eigen::VectorXd& condensed) {
  auto a = xt::xarray<double>::from_shape({std::size_t(n), std::size_t(n)});
  for (index_t i = 0; i < n; ++i) {
    a(std::size_t(i), std::size_t(i)) = 0.0;
    for (index_t j = i + 1; j < n; ++j)
      a(std::size_t(i), std::size_t(j)) = a(std::size_t(j), std::size_t(i)) =
          condensed[dnn2brain::condensed_index(n, i, j)];
  }
  return a;
}

xt::xarray<double> vector_of(const Eigen::VectorXd& v) {
  auto a = xt::xarray<double>::from_shape({std::size_t(v.size())});
  std::copy(v.data(), v.data() + v.size(), a.begin());
  return a;
}

// (subjects, n, n) squares of the columns of a pairs × subjects matrix.
xt::xarray<double> squares(const Eigen::MatrixXd& rdms) {
  auto a =
      xt::xarray<double>::from_shape({std::size_t(rdms.cols()), std::size_t(n), std::size_t(n)});
  for (index_t s = 0; s < rdms.cols(); ++s) {
    const auto one = square(rdms.col(s));
    std::copy(one.begin(), one.end(), a.begin() + s * n * n);
  }
  return a;
}

// What the tests write and expect back.
struct truth {
  std::vector<std::string> tasks;
  std::vector<std::string> layers{"block4", "encoder_output"};
  std::vector<std::vector<Eigen::VectorXd>> models;  // [task][layer]
  std::vector<std::string> rois{"V1v", "hV4 "};
  std::vector<Eigen::MatrixXd> roi_rdms;  // pairs × subjects
  xt::xarray<std::uint8_t> mask;
  dnn2brain::volume_geometry geometry;
  dnn2brain::neighbor_table table;
  std::vector<Eigen::MatrixXf> searchlights;  // pairs × searchlights per subject
  Eigen::VectorXd lower, upper;
  std::vector<std::string> stimuli;

  explicit truth(std::vector<std::string> names) : tasks(std::move(names)) {
    std::mt19937 rng(7);
    for (std::size_t d = 0; d < tasks.size(); ++d)
      models.push_back({random_rdm(rng), random_rdm(rng)});
    for (std::size_t r = 0; r < rois.size(); ++r) {
      Eigen::MatrixXd m(pairs, index_t(subjects));
      for (std::size_t s = 0; s < subjects; ++s) m.col(index_t(s)) = random_rdm(rng);
      roi_rdms.push_back(m);
    }
    geometry.shape = {7, 6, 5};
    geometry.affine.diagonal().head<3>().setConstant(2.0);
    geometry.affine.col(3).head<3>() = Eigen::Vector3d(-7.0, -6.0, -5.0);
    mask = xt::xarray<std::uint8_t>::from_shape({7, 6, 5});
    mask.fill(0);
    for (std::size_t i = 1; i < 6; ++i)
      for (std::size_t j = 1; j < 5; ++j)
        for (std::size_t k = 1; k < 4; ++k) mask(i, j, k) = (i + j + k) % 7 != 0 ? 1 : 0;
    table = dnn2brain::make_neighbor_table(dnn2brain::brain_mask(mask, geometry),
                                           dnn2brain::neighborhood::paper_blocks{1, 2});
    for (std::size_t s = 0; s < subjects; ++s) {
      Eigen::MatrixXf m(pairs, table.size());
      for (index_t c = 0; c < table.size(); ++c) m.col(c) = random_rdm(rng).cast<float>();
      searchlights.push_back(m);
    }
    lower = Eigen::VectorXd::LinSpaced(table.size(), -0.5, 0.5);
    upper = lower.array() + 0.25;
    for (index_t c = 0; c < n; ++c) stimuli.push_back("image " + std::to_string(c) + ".jpg");
  }

  [[nodiscard]] std::size_t index(const std::string& task) const {
    return std::size_t(std::find(tasks.begin(), tasks.end(), task) - tasks.begin());
  }
};

std::vector<std::string> paper_tasks() {
  return {dnn2brain::paper::tasks.begin(), dnn2brain::paper::tasks.end()};
}

// An array of zeros.
template <typename T>
xt::xarray<T> zeros(const std::vector<std::size_t>& shape) {
  auto a = xt::xarray<T>::from_shape(shape);
  a.fill(T(0));
  return a;
}

// The name write_paper gives task d's RDM of a layer: every form the paper's files have.
std::string paper_file(const std::vector<std::string>& tasks, std::size_t d,
                       const std::string& layer) {
  const std::string& task = tasks[d];
  const std::string form = task.starts_with("class_") ? "_feedforward_encoder_"
                           : d % 2 == 0               ? "_encoder_"
                                                      : "_";
  return task + form + layer + ".mat";
}

// The (subjects, searchlights, pairs) or (subjects, searchlights, n, n) float32 array.
xt::xarray<float> searchlight_array(const truth& t, bool square_form) {
  const std::size_t count = std::size_t(t.table.size());
  if (!square_form) {
    auto a = xt::xarray<float>::from_shape({subjects, count, std::size_t(pairs)});
    for (std::size_t s = 0; s < subjects; ++s)
      std::copy(t.searchlights[s].data(), t.searchlights[s].data() + t.searchlights[s].size(),
                a.data() + s * count * std::size_t(pairs));
    return a;
  }
  auto a = xt::xarray<float>::from_shape({subjects, count, std::size_t(n), std::size_t(n)});
  for (std::size_t s = 0; s < subjects; ++s)
    for (std::size_t c = 0; c < count; ++c) {
      const auto one = square(t.searchlights[s].col(index_t(c)).cast<double>());
      std::transform(one.begin(), one.end(),
                     a.begin() + std::ptrdiff_t((s * count + c) * std::size_t(n * n)),
                     [](double v) { return float(v); });
    }
  return a;
}

// dnn2brain's layout, written file by file: square and condensed model RDMs, both ROI forms,
// groups.json, precomputed searchlights with their table, mask and ceilings, stimuli.txt.
void write_ours(const fs::path& root, const truth& t) {
  for (std::size_t d = 0; d < t.tasks.size(); ++d) {
    const fs::path folder = root / "models" / t.tasks[d];
    fs::create_directories(folder);
    io::write_npy(folder / "block4.npy", square(t.models[d][0]));
    io::write_npy(folder / "encoder_output.npy", vector_of(t.models[d][1]));
  }
  write_file(root / "models" / "notes.txt", "not a model");
  write_file(root / "models" / t.tasks[0] / "README", "not a layer");
  write_file(root / "models" / "groups.json",
             R"({"groups": [{"name": "pair", "members": [")" + t.tasks[1] + R"(", ")" + t.tasks[0] +
                 R"("]}, {"name": "one", "members": [")" + t.tasks[2] + R"("]}]})");
  fs::create_directories(root / "rois");
  io::write_npy(root / "rois" / (t.rois[0] + ".npy"), squares(t.roi_rdms[0]));
  const Eigen::MatrixXd rows = t.roi_rdms[1].transpose();
  auto condensed = xt::xarray<double>::from_shape({subjects, std::size_t(pairs)});
  for (std::size_t s = 0; s < subjects; ++s)
    for (std::size_t p = 0; p < std::size_t(pairs); ++p)
      condensed(s, p) = rows(index_t(s), index_t(p));
  io::write_npy(root / "rois" / (t.rois[1] + ".npy"), condensed);
  fs::create_directories(root / "searchlight");
  io::write_npy(root / "searchlight" / "rdms.npy", searchlight_array(t, false));
  io::save_neighbor_table(root / "searchlight" / "neighbor_table.bin", t.table);
  io::write_nifti(root / "searchlight" / "mask.nii.gz", t.mask, t.geometry);
  io::write_npy(root / "searchlight" / "noise_ceiling_lower.npy", vector_of(t.lower));
  io::write_npy(root / "searchlight" / "noise_ceiling_upper.npy", vector_of(t.upper));
  std::string text;
  for (const auto& name : t.stimuli) text += name + "\r\n";
  write_file(root / "stimuli.txt", text);
}

// The paper's data.zip layout: every file name form, a file of another layer, labels with a
// trailing space, blocks of radius 1 and stride 2 over mask.nii, the converted noise ceiling.
void write_paper(const fs::path& root, const truth& t) {
  const fs::path models = root / "RDM_taskonomy_bonner50";
  fs::create_directories(models);
  for (std::size_t d = 0; d < t.tasks.size(); ++d)
    for (std::size_t l = 0; l < t.layers.size(); ++l)
      io::write_mat(models / paper_file(t.tasks, d, t.layers[l]),
                    {{"rdm", square(t.models[d][l])}});
  io::write_mat(models / "autoencoder_encoder_block3.mat", {{"rdm", square(t.models[0][0])}});
  write_file(models / "README", "x");
  const fs::path rois = root / "kastner_ROIs_RDMs_pearson";
  fs::create_directories(rois);
  io::table labels;
  labels.add("id", std::vector<int>{1, 7}).add("roi", t.rois);
  io::write_csv(root / "ROIfiles_Labeling.txt", labels);
  for (std::size_t r = 0; r < t.rois.size(); ++r)
    io::write_mat(rois / (t.rois[r] + ".mat"), {{"subject_rdm", squares(t.roi_rdms[r])}});
  const fs::path sl = root / "sl_rad=1__max_blk_edge=2";
  fs::create_directories(sl);
  io::write_npy(sl / "all_sub_slrdms.npy", searchlight_array(t, true));
  io::write_npy(sl / "noise_ceiling_lower.npy", vector_of(t.lower));
  io::write_npy(sl / "noise_ceiling_upper.npy", vector_of(t.upper));
  io::write_nifti(root / "mask.nii", t.mask, t.geometry);
}

void check_models(const io::dataset& d, const truth& t) {
  REQUIRE(d.models.names() == t.tasks);
  REQUIRE(d.models.layers() == t.layers);
  CHECK(d.models.conditions() == n);
  for (std::size_t m = 0; m < t.tasks.size(); ++m)
    for (std::size_t l = 0; l < t.layers.size(); ++l)
      CHECK(d.models.rdms(index_t(m)).get(index_t(l)).values() == t.models[m][l]);
}

void check_rois(const io::dataset& d, const truth& t) {
  REQUIRE(d.rois.names() == t.rois);
  for (std::size_t r = 0; r < t.rois.size(); ++r)
    CHECK(d.rois.subject_rdms(index_t(r)).values() == t.roi_rdms[r]);
}

void check_searchlights(const io::dataset& d, const truth& t) {
  const auto* input = std::get_if<io::searchlight_rdm_input>(&d.searchlight);
  REQUIRE(input != nullptr);
  REQUIRE(input->subjects.size() == subjects);
  for (std::size_t s = 0; s < subjects; ++s)
    CHECK(input->subjects[s].values() == t.searchlights[s]);
  CHECK(input->table.centers() == t.table.centers());
  CHECK(input->table.offsets() == t.table.offsets());
  CHECK(input->table.columns() == t.table.columns());
  CHECK(input->table.kind() == dnn2brain::center_kind::block);
  // The mask the table was made on, on the table's grid exactly: it paints.
  CHECK(input->mask.voxels() == dnn2brain::brain_mask(t.mask, t.geometry).voxels());
  CHECK(input->mask.geometry().same_grid(t.geometry, 0.0));
  CHECK(input->mask.has_affine());
  CHECK(dnn2brain::paint(input->mask, input->table, t.lower).shape()[2] == 5);
  REQUIRE(d.noise_ceiling.has_value());
  CHECK(d.noise_ceiling->lower == t.lower);
  CHECK(d.noise_ceiling->upper == t.upper);
}

bool read(const io::dataset& d, const fs::path& file) {
  return std::any_of(d.files.begin(), d.files.end(),
                     [&](const io::dataset_file& f) { return f.path == file; });
}

std::string skipped(const io::dataset& d, const fs::path& file) {
  for (const auto& s : d.skipped)
    if (s.path == file) return s.reason;
  return "(not skipped)";
}

// The io_error message of read_dataset (or "(no io_error)").
std::string error_of(const fs::path& root, const io::read_dataset_options& options = {}) {
  try {
    (void)io::read_dataset(root, options);
  } catch (const dnn2brain::io_error& e) {
    return e.what();
  }
  return "(no io_error)";
}

}  // namespace

TEST_CASE("npy_reader reads parts of a C-order array: runs of elements and slabs",
          "[io][npy][dataset]") {
  const scratch_dir dir("npy_reader");
  auto a = xt::xarray<std::int16_t>::from_shape({4, 3, 5});
  for (std::size_t k = 0; k < a.size(); ++k) a.data()[k] = std::int16_t(k * 7 - 100);
  io::write_npy(dir.path / "a.npy", a);
  io::npy_reader reader(dir.path / "a.npy");
  CHECK(reader.shape() == std::vector<std::size_t>{4, 3, 5});
  CHECK(reader.header().descr == "<i2");
  const auto whole = io::read_npy<double>(dir.path / "a.npy");
  for (std::size_t first = 0; first < 4; ++first)
    for (std::size_t count = 0; first + count <= 4; ++count) {
      const auto slab = reader.read_slab<double>(first, count);
      REQUIRE(dnn2brain::test::shape_of(slab) == std::vector<std::size_t>{count, 3, 5});
      CHECK(std::equal(slab.begin(), slab.end(), whole.begin() + std::ptrdiff_t(first * 15)));
    }
  std::vector<float> run(17);
  reader.read_into<float>(23, std::span<float>(run));
  for (std::size_t k = 0; k < run.size(); ++k) CHECK(run[k] == float(a.data()[23 + k]));
  CHECK_THROWS_WITH(reader.read_slab<double>(3, 2),
                    Contains("dnn2brain::npy_reader") && Contains("a.npy") && Contains("[3, 5)"));
  CHECK_THROWS_WITH(reader.read_into<float>(55, std::span<float>(run)),
                    Contains("elements within the array's 60") && Contains("[55, 72)"));
  std::vector<std::uint8_t> small(2);
  CHECK_THROWS_WITH(reader.read_into<std::uint8_t>(0, std::span<std::uint8_t>(small)),
                    Contains("does not fit in uint8"));

  // Fortran order cannot be read in parts.
  std::string dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }";
  dict.append(128 - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += char(dict.size());
  bytes += '\0';
  bytes += dict;
  bytes.append(32, '\0');
  write_file(dir.path / "f.npy", bytes);
  CHECK(io::read_npy<double>(dir.path / "f.npy").size() == 4);
  CHECK_THROWS_WITH(io::npy_reader(dir.path / "f.npy"),
                    Contains("f.npy") && Contains("fortran_order") && Contains("read_npy"));
}

TEST_CASE("dnn2brain's layout reads back exactly what was written, file by file", "[io][dataset]") {
  const scratch_dir dir("dataset-ours");
  const truth t({"autoencoder", "class_1000", "segment25d", "segment2d"});
  write_ours(dir.path, t);
  CHECK(io::detect_layout(dir.path) == io::dataset_layout::ours);
  const io::dataset d = io::read_dataset(dir.path);
  CHECK(d.layout == io::dataset_layout::ours);
  CHECK(d.root == dir.path);
  check_models(d, t);
  REQUIRE(d.models.group_count() == 2);
  CHECK(d.models.groups()[0].name == "pair");
  CHECK(d.models.groups()[0].members == std::vector<std::string>{t.tasks[1], t.tasks[0]});
  CHECK(d.models.groups()[1].members == std::vector<std::string>{t.tasks[2]});
  // rois/ is read in name order: "V1v" < "hV4 ".
  check_rois(d, t);
  CHECK(d.roi_display_names == t.rois);
  check_searchlights(d, t);
  CHECK(d.stimuli == t.stimuli);

  CHECK(read(d, "models/segment2d/encoder_output.npy"));
  CHECK(read(d, "models/groups.json"));
  CHECK(read(d, "searchlight/neighbor_table.bin"));
  CHECK(read(d, "searchlight/mask.nii.gz"));
  CHECK(skipped(d, "searchlight/mask.nii.gz") == "(not skipped)");
  CHECK(read(d, "stimuli.txt"));
  for (const auto& f : d.files) CHECK(f.bytes == fs::file_size(dir.path / f.path));
  CHECK(skipped(d, "models/notes.txt") == "not a model folder");
  CHECK(skipped(d, "models/autoencoder/README") == "not a layer .npy file");

  // A subset of the models and layers, in the order asked; groups left out.
  const io::dataset some = io::read_dataset(dir.path, {.models = {"segment2d", "autoencoder"},
                                                       .layers = {"encoder_output"},
                                                       .groups = false,
                                                       .searchlight = false});
  CHECK(some.models.names() == std::vector<std::string>{"segment2d", "autoencoder"});
  CHECK(some.models.layers() == std::vector<std::string>{"encoder_output"});
  CHECK(some.models.rdms(0).get(0).values() == t.models[3][1]);
  CHECK(some.models.group_count() == 0);
  CHECK(std::holds_alternative<std::monostate>(some.searchlight));
  CHECK_FALSE(some.noise_ceiling.has_value());
  CHECK(skipped(some, "models/class_1000") == "model not requested");
  CHECK(skipped(some, "models/autoencoder/block4.npy") == "layer not requested");
  CHECK(skipped(some, "models/groups.json") == "options.groups is false");
}

TEST_CASE("write_dataset writes dnn2brain's layout that reads back identically", "[io][dataset]") {
  const scratch_dir dir("dataset-write");
  const truth t({"autoencoder", "class_1000", "segment25d", "segment2d"});
  write_ours(dir.path / "source", t);
  const io::dataset d = io::read_dataset(dir.path / "source");
  io::write_dataset(dir.path / "copy" / "nested", d);
  const io::dataset e = io::read_dataset(dir.path / "copy" / "nested");
  check_models(e, t);
  REQUIRE(e.models.group_count() == 2);
  for (index_t g = 0; g < 2; ++g) {
    CHECK(e.models.groups()[std::size_t(g)].name == d.models.groups()[std::size_t(g)].name);
    CHECK(e.models.groups()[std::size_t(g)].members == d.models.groups()[std::size_t(g)].members);
  }
  check_rois(e, t);
  check_searchlights(e, t);  // the mask too: same voxels, same grid
  CHECK(read(e, "searchlight/mask.nii.gz"));
  const auto mask_file = io::read_nifti_volume<std::uint8_t>(dir.path / "copy" / "nested" /
                                                             "searchlight" / "mask.nii.gz");
  CHECK(mask_file.datatype == 2);  // DT_UINT8
  CHECK(mask_file.data == t.mask);
  CHECK(e.stimuli == t.stimuli);
  CHECK(dnn2brain::test::read_file(dir.path / "copy" / "nested" / "models" / "groups.json")
            .starts_with("{\n  \"groups\": [\n    {\n      \"name\": \"pair\""));
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "copy" / "nested", d),
                    Contains("dnn2brain::write_dataset") && Contains("not empty"));

  // Betas instead of searchlight RDMs: conditions × mask voxels per subject, labelled.
  io::dataset b;
  b.models = d.models;
  b.stimuli = t.stimuli;
  io::searchlight_beta_input betas;
  betas.mask = dnn2brain::brain_mask(t.mask, t.geometry);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (std::size_t s = 0; s < subjects; ++s) {
    Eigen::MatrixXf x(n, betas.mask.size());
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = normal(rng);
    betas.subjects.push_back(x);
  }
  b.searchlight = betas;
  io::write_dataset(dir.path / "betas", b);
  CHECK(fs::exists(dir.path / "betas" / "fmri" / "sub-01_betas.nii.gz"));
  CHECK(fs::exists(dir.path / "betas" / "fmri" / "mask.nii.gz"));
  CHECK_FALSE(fs::exists(dir.path / "betas" / "rois"));
  const io::dataset c = io::read_dataset(dir.path / "betas");
  const auto* read_betas = std::get_if<io::searchlight_beta_input>(&c.searchlight);
  REQUIRE(read_betas != nullptr);
  CHECK(read_betas->labels == std::vector<std::string>{"01", "02", "03"});
  REQUIRE(read_betas->subjects.size() == subjects);
  for (std::size_t s = 0; s < subjects; ++s) CHECK(read_betas->subjects[s] == betas.subjects[s]);
  CHECK(read_betas->mask.voxels() == betas.mask.voxels());
  CHECK(read_betas->mask.geometry().same_grid(t.geometry));
  CHECK(c.rois.size() == 0);
  CHECK(c.models.names() == d.models.names());

  // Misuse is refused before anything is written.
  io::dataset bad = d;
  bad.noise_ceiling->lower.resize(3);
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", bad),
                    Contains("noise ceilings for the") && Contains("got 3 lower"));
  bad = d;
  bad.stimuli.pop_back();
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", bad), Contains("stimulus names"));
  // Precomputed RDMs with another mask than their table's, or none.
  auto fewer = t.mask;
  fewer(3, 3, 2) = 0;
  bad = d;
  std::get<io::searchlight_rdm_input>(bad.searchlight).mask =
      dnn2brain::brain_mask(fewer, t.geometry);
  const std::string voxels = std::to_string(t.table.mask_voxels());
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", bad),
                    Contains("dnn2brain::write_dataset") && Contains("mask") &&
                        Contains(voxels + " voxels") &&
                        Contains(std::to_string(t.table.mask_voxels() - 1) + " voxels"));
  dnn2brain::volume_geometry shifted = t.geometry;
  shifted.affine(0, 3) += 2.0;
  std::get<io::searchlight_rdm_input>(bad.searchlight).mask =
      dnn2brain::brain_mask(t.mask, shifted);
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", bad),
                    Contains("mask") && Contains("affines that differ by 2 mm"));
  std::get<io::searchlight_rdm_input>(bad.searchlight).mask = dnn2brain::brain_mask{};
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", bad),
                    Contains("shape 0 x 0 x 0") && Contains("searchlight_rdm_input::mask"));
  bad = b;
  std::get<io::searchlight_beta_input>(bad.searchlight).labels = {"a", "b", "a"};
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", bad), Contains("distinct subject labels"));
  bad = b;
  bad.noise_ceiling = io::searchlight_noise_ceiling{};
  CHECK_THROWS_AS(io::write_dataset(dir.path / "bad", bad), dnn2brain::invalid_argument);
  CHECK_THROWS_WITH(io::write_dataset(dir.path / "bad", io::dataset{}),
                    Contains("write_dataset") && Contains("models"));
  CHECK_FALSE(fs::exists(dir.path / "bad"));
}

TEST_CASE("The synthetic default goes on disk as a complete dataset and reads back",
          "[io][dataset][simulate]") {
  const scratch_dir dir("dataset-synthetic");
  dnn2brain::simulate::options o;
  o.grid = {20, 24, 20};
  o.mask_semi_axes = {9.0, 11.0, 8.5};
  o.subjects = 2;
  o.units = 16;
  o.stimuli = 10;
  const dnn2brain::simulate::dataset synthetic = dnn2brain::simulate::make_dataset(o);
  io::dataset d;
  d.models = dnn2brain::simulate::make_model_set(synthetic.models);
  d.rois = dnn2brain::simulate::make_roi_set(synthetic);
  for (index_t c = 0; c < o.stimuli; ++c) d.stimuli.push_back("stimulus" + std::to_string(c));
  d.searchlight = io::searchlight_beta_input{synthetic.subject_data, {}, synthetic.mask};
  io::write_dataset(dir.path / "synthetic", d);
  const io::dataset e = io::read_dataset(dir.path / "synthetic");
  REQUIRE(e.models.size() == 19);
  for (const std::string& name : d.models.names())
    CHECK(e.models.rdms(e.models.index(name)).values() ==
          d.models.rdms(d.models.index(name)).values());
  REQUIRE(e.models.group_count() == 3);
  for (index_t g = 0; g < 3; ++g)
    CHECK(e.models.groups()[std::size_t(g)].members == d.models.groups()[std::size_t(g)].members);
  REQUIRE(e.rois.size() == d.rois.size());
  for (const std::string& name : d.rois.names())
    CHECK(e.rois.subject_rdms(e.rois.index(name)).values() ==
          d.rois.subject_rdms(d.rois.index(name)).values());
  CHECK(e.stimuli == d.stimuli);
  const auto& betas = std::get<io::searchlight_beta_input>(e.searchlight);
  CHECK(betas.subjects == synthetic.subject_data);
  CHECK(betas.mask.voxels() == synthetic.mask.voxels());
  CHECK(betas.mask.geometry().same_grid(synthetic.geometry));
}

TEST_CASE("The paper's data.zip layout reads as is: exact names, groups, labels, blocks",
          "[io][dataset][paper]") {
  const scratch_dir dir("dataset-paper");
  const truth t(paper_tasks());
  write_paper(dir.path, t);
  write_file(dir.path / "sl_rad=1__max_blk_edge=2" / "noise_ceiling.pkl", "pickle");
  CHECK(io::detect_layout(dir.path) == io::dataset_layout::paper);
  const io::dataset d = io::read_dataset(dir.path);
  CHECK(d.layout == io::dataset_layout::paper);
  check_models(d, t);  // paper::tasks order; segment25d and segment2d each from its own files
  REQUIRE(d.models.group_count() == 3);
  const auto groups = dnn2brain::paper::task_groups();
  for (std::size_t g = 0; g < 3; ++g) {
    CHECK(d.models.groups()[g].name == groups[g].name);
    CHECK(d.models.groups()[g].members ==
          std::vector<std::string>(groups[g].members.begin(), groups[g].members.end()));
  }
  check_rois(d, t);  // label-file order, names exactly ("hV4 ")
  CHECK(d.roi_display_names == std::vector<std::string>{"V1v", "hV4"});
  check_searchlights(d, t);
  CHECK(std::get<io::searchlight_rdm_input>(d.searchlight).table.blocks().stride == 2);
  CHECK(d.stimuli.empty());
  CHECK(read(d, "RDM_taskonomy_bonner50/class_1000_feedforward_encoder_block4.mat"));
  CHECK(read(d, "RDM_taskonomy_bonner50/segment25d_block4.mat"));
  CHECK(read(d, "RDM_taskonomy_bonner50/segment2d_encoder_encoder_output.mat"));
  CHECK(read(d, "RDM_taskonomy_bonner50/random_encoder_block4.mat"));
  CHECK(read(d, "kastner_ROIs_RDMs_pearson/hV4 .mat"));
  CHECK(read(d, "mask.nii"));
  CHECK(read(d, "ROIfiles_Labeling.txt"));
  // input.mask is brain_mask(mask.nii), the mask the table was made on.
  const auto& input = std::get<io::searchlight_rdm_input>(d.searchlight);
  const dnn2brain::brain_mask expected(io::read_nifti_volume<float>(dir.path / "mask.nii"));
  CHECK(input.mask.voxels() == expected.voxels());
  CHECK(input.mask.geometry().same_grid(expected.geometry(), 0.0));
  CHECK(input.table.geometry().same_grid(expected.geometry(), 0.0));
  CHECK(input.table.mask_voxels() == expected.size());
  CHECK_THAT(skipped(d, "RDM_taskonomy_bonner50/autoencoder_encoder_block3.mat"),
             Contains("requested layer"));
  CHECK(skipped(d, "RDM_taskonomy_bonner50/README") == "not a .mat file");
  CHECK_THAT(skipped(d, "sl_rad=1__max_blk_edge=2/noise_ceiling.pkl"), Contains("pickle"));

  // Only the pickle: no ceiling, and the dataset says why.
  fs::remove(dir.path / "sl_rad=1__max_blk_edge=2" / "noise_ceiling_lower.npy");
  fs::remove(dir.path / "sl_rad=1__max_blk_edge=2" / "noise_ceiling_upper.npy");
  const io::dataset e = io::read_dataset(dir.path);
  CHECK_FALSE(e.noise_ceiling.has_value());
  CHECK_THAT(skipped(e, "sl_rad=1__max_blk_edge=2/noise_ceiling.pkl"),
             Contains("convert it to noise_ceiling_lower.npy"));

  // A selection of tasks in the order asked, without groups; a paper dataset writes as ours.
  const io::dataset some =
      io::read_dataset(dir.path, {.models = {"segment2d", "class_1000"}, .groups = false});
  CHECK(some.models.names() == std::vector<std::string>{"segment2d", "class_1000"});
  CHECK(some.models.rdms(1).get(0).values() == t.models[t.index("class_1000")][0]);
  io::write_dataset(dir.path / "ours", some);
  const io::dataset back = io::read_dataset(dir.path / "ours");
  CHECK(back.rois.names() == t.rois);  // "hV4 .npy" keeps the space
  // dnn2brain's layout lists models by name.
  CHECK(back.models.names() == std::vector<std::string>{"class_1000", "segment2d"});
  CHECK(back.models.rdms(1).values() == some.models.rdms(0).values());
}

TEST_CASE(
    "The paper's layout keeps NaN searchlight RDMs (constant blocks) and forms groups only "
    "when complete",
    "[io][dataset][paper]") {
  const scratch_dir dir("dataset-paper-nan");
  const truth t(paper_tasks());
  write_paper(dir.path, t);
  auto all = searchlight_array(t, true);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 0; i < std::size_t(n); ++i) {
    all(1, 2, 0, i) = all(1, 2, i, 0) = nan;  // condition 0 of subject 1, searchlight 2
  }
  io::write_npy(dir.path / "sl_rad=1__max_blk_edge=2" / "all_sub_slrdms.npy", all);
  const io::dataset d = io::read_dataset(dir.path);
  const auto& stacks = std::get<io::searchlight_rdm_input>(d.searchlight).subjects;
  CHECK(std::isnan(stacks[1].values()(0, 2)));
  CHECK(std::isnan(stacks[1].values()(n - 2, 2)));
  CHECK(stacks[1].values()(n - 1, 2) == t.searchlights[1](n - 1, 2));

  // A group with a member missing is refused (the paper divided by the nominal group size).
  for (const auto& layer : t.layers)
    REQUIRE(fs::remove(dir.path / "RDM_taskonomy_bonner50" /
                       paper_file(t.tasks, t.index("segment2d"), layer)));
  CHECK_THAT(error_of(dir.path), Contains("RDM_taskonomy_bonner50") && Contains("'2D'") &&
                                     Contains("'segment2d'") && Contains("options.groups"));
  const io::dataset without = io::read_dataset(dir.path, {.groups = false});
  CHECK(without.models.size() == 18);
  CHECK(without.models.group_count() == 0);
  // A group none of whose members are read is left out.
  const io::dataset semantic = io::read_dataset(
      dir.path, {.models = {"class_1000", "class_places", "segmentsemantic", "random"}});
  REQUIRE(semantic.models.group_count() == 1);
  CHECK(semantic.models.groups()[0].name == "semantic");
}

TEST_CASE("Task names are matched exactly, never by substring", "[io][dataset][paper]") {
  const scratch_dir dir("dataset-paper-names");
  const truth t(paper_tasks());
  write_paper(dir.path, t);
  const fs::path models = dir.path / "RDM_taskonomy_bonner50";
  std::mt19937 rng(11);
  const Eigen::VectorXd other = random_rdm(rng);
  io::write_mat(models / "xclass_1000_block4.mat", {{"rdm", square(other)}});
  // Requested tasks: the file of another task that contains "class_1000" is skipped.
  io::read_dataset_options options{.models = paper_tasks(), .searchlight = false};
  const io::dataset d = io::read_dataset(dir.path, options);
  CHECK(d.models.rdms(index_t(t.index("class_1000"))).get(0).values() ==
        t.models[t.index("class_1000")][0]);
  CHECK_THAT(skipped(d, "RDM_taskonomy_bonner50/xclass_1000_block4.mat"),
             Contains("'xclass_1000' not requested"));
  // Every task found: xclass_1000 is a task of its own, and it lacks encoder_output.
  CHECK_THAT(error_of(dir.path),
             Contains("dnn2brain::read_dataset") && Contains("xclass_1000_encoder_output.mat") &&
                 Contains("'xclass_1000_block4.mat'") && Contains("no such file"));
  io::write_mat(models / "xclass_1000_encoder_output.mat", {{"rdm", square(other)}});
  const io::dataset e = io::read_dataset(dir.path, {.searchlight = false});
  REQUIRE(e.models.size() == 20);
  CHECK(e.models.names().back() == "xclass_1000");  // after the paper's tasks
  CHECK(e.models.rdms(19).get(1).values() == other);
  CHECK(e.models.rdms(index_t(t.index("class_1000"))).get(1).values() ==
        t.models[t.index("class_1000")][1]);

  // Two files for the same task and layer.
  io::write_mat(models / "segment25d_encoder_block4.mat", {{"rdm", square(other)}});
  CHECK_THAT(error_of(dir.path, options),
             Contains("segment25d_block4.mat") && Contains("segment25d_encoder_block4.mat") &&
                 Contains("one file for task 'segment25d' and layer 'block4'"));
  fs::remove(models / "segment25d_encoder_block4.mat");
  // A name that ends with two requested layers is ambiguous.
  CHECK_THAT(error_of(dir.path, {.layers = {"encoder_output", "output"}, .searchlight = false}),
             Contains("autoencoder_encoder_encoder_output.mat") &&
                 Contains("'encoder_output' and 'output'"));
  // A requested task without files.
  options.models.emplace_back("vanishing_point");
  CHECK_THAT(error_of(dir.path, options), Contains("RDM_taskonomy_bonner50") &&
                                              Contains("'vanishing_point'") &&
                                              Contains("got none"));
}

TEST_CASE("ROI labels and file names must match exactly, trailing spaces included",
          "[io][dataset][paper]") {
  const scratch_dir dir("dataset-paper-rois");
  const truth t(paper_tasks());
  write_paper(dir.path, t);
  const fs::path rois = dir.path / "kastner_ROIs_RDMs_pearson";
  fs::rename(rois / "hV4 .mat", rois / "hV4.mat");
  CHECK_THAT(error_of(dir.path), Contains("kastner_ROIs_RDMs_pearson/hV4 .mat") &&
                                     Contains("ROI 'hV4 '") && Contains("line 3") &&
                                     Contains("there is 'hV4.mat'"));
  fs::rename(rois / "hV4.mat", rois / "hV4 .mat");
  io::table twice;
  twice.add("id", std::vector<int>{1, 2}).add("roi", std::vector<std::string>{"V1v", "V1v"});
  io::write_csv(dir.path / "ROIfiles_Labeling.txt", twice);
  CHECK_THAT(error_of(dir.path), Contains("ROIfiles_Labeling.txt") &&
                                     Contains("each ROI once, got 'V1v' again on line 3"));
  io::table labels;
  labels.add("id", std::vector<int>{1}).add("name", std::vector<std::string>{"V1v"});
  io::write_csv(dir.path / "ROIfiles_Labeling.txt", labels);
  CHECK_THAT(error_of(dir.path), Contains("csv_table::column") &&
                                     Contains("ROIfiles_Labeling.txt") && Contains("'roi'"));
  fs::remove(dir.path / "ROIfiles_Labeling.txt");
  CHECK_THAT(error_of(dir.path), Contains("ROIfiles_Labeling.txt") && Contains("no such file"));
}

TEST_CASE("Searchlight blocks: the folder name gives radius and stride; N_sl must match the mask",
          "[io][dataset][paper]") {
  const scratch_dir dir("dataset-paper-blocks");
  const truth t(paper_tasks());
  write_paper(dir.path, t);
  const fs::path sl = dir.path / "sl_rad=1__max_blk_edge=2";
  const auto all = searchlight_array(t, true);
  // The converted noise ceiling comes as a pair.
  fs::remove(sl / "noise_ceiling_lower.npy");
  CHECK_THAT(error_of(dir.path), Contains("sl_rad=1__max_blk_edge=2/noise_ceiling_lower.npy") &&
                                     Contains("no such file"));
  io::write_npy(sl / "noise_ceiling_lower.npy", vector_of(t.lower));
  CHECK_NOTHROW(io::read_dataset(dir.path));
  io::write_npy(sl / "all_sub_slrdms.npy",
                zeros<float>({subjects, all.shape()[1] + 1, std::size_t(n), std::size_t(n)}));
  const std::string blocks = std::to_string(t.table.size());
  CHECK_THAT(error_of(dir.path),
             Contains("all_sub_slrdms.npy") && Contains("the " + blocks + " searchlights") &&
                 Contains("mask.nii") && Contains("got " + std::to_string(t.table.size() + 1)));
  io::write_npy(sl / "all_sub_slrdms.npy", zeros<float>({subjects, 4, 2, 3}));
  CHECK_THAT(error_of(dir.path), Contains("all_sub_slrdms.npy") && Contains("(3, 4, 2, 3)"));
  // Radius 0 and stride 3 give another count.
  fs::rename(sl, dir.path / "sl_rad=0__max_blk_edge=3");
  io::write_npy(dir.path / "sl_rad=0__max_blk_edge=3" / "all_sub_slrdms.npy", all);
  const auto other = dnn2brain::make_neighbor_table(dnn2brain::brain_mask(t.mask, t.geometry),
                                                    dnn2brain::neighborhood::paper_blocks{0, 3});
  REQUIRE(other.size() != t.table.size());
  CHECK_THAT(error_of(dir.path), Contains("radius 0 and stride 3"));
  // Two block folders need a choice; a malformed one is skipped.
  fs::create_directories(dir.path / "sl_rad=1__max_blk_edge=2");
  fs::create_directories(dir.path / "sl_rad=1__max_blk_edge=2b");
  CHECK_THAT(error_of(dir.path), Contains("options.searchlight_folder"));
  CHECK_THAT(error_of(dir.path, {.searchlight_folder = "sl_rad=0__max_blk_edge=3"}),
             Contains("radius 0 and stride 3"));
  CHECK_THAT(error_of(dir.path, {.searchlight_folder = "sl_rad=1__max_blk_edge=2b"}),
             Contains("requested searchlight folder"));
  const io::dataset none = io::read_dataset(dir.path, {.searchlight = false});
  CHECK(std::holds_alternative<std::monostate>(none.searchlight));
  fs::remove(dir.path / "mask.nii");
  CHECK_THAT(error_of(dir.path, {.searchlight_folder = "sl_rad=1__max_blk_edge=2"}),
             Contains("all_sub_slrdms.npy") && Contains("no such file"));
}

TEST_CASE("Malformed files of dnn2brain's layout are io_errors that name the file",
          "[io][dataset]") {
  const scratch_dir dir("dataset-errors");
  const truth t({"autoencoder", "class_1000", "segment25d", "segment2d"});
  const fs::path root = dir.path;
  write_ours(root, t);
  const fs::path layer = root / "models" / "segment2d" / "block4.npy";

  // A missing layer file.
  fs::remove(layer);
  CHECK_THAT(error_of(root), Contains("models/segment2d") && Contains("same layer files"));
  CHECK_THAT(error_of(root, {.layers = {"block4", "encoder_output"}}),
             Contains("models/segment2d/block4.npy") && Contains("no such file"));
  // Wrong shapes.
  io::write_npy(layer, zeros<double>({3, 4}));
  CHECK_THAT(error_of(root), Contains("models/segment2d/block4.npy") && Contains("(3, 4)"));
  io::write_npy(layer, zeros<double>({27}));
  CHECK_THAT(error_of(root), Contains("models/segment2d/block4.npy") && Contains("(27,)"));
  // A square RDM that is not symmetric, or has a diagonal.
  auto asymmetric = square(t.models[3][0]);
  asymmetric(2, 5) += 0.01;
  io::write_npy(layer, asymmetric);
  CHECK_THAT(error_of(root), Contains("models/segment2d/block4.npy") && Contains("symmetric") &&
                                 Contains("(2, 5)"));
  auto diagonal = square(t.models[3][0]);
  diagonal(4, 4) = 0.5;
  io::write_npy(layer, diagonal);
  CHECK_THAT(error_of(root), Contains("models/segment2d/block4.npy") && Contains("zero diagonal"));
  // Other conditions than the first file's.
  io::write_npy(layer, zeros<double>({std::size_t(pairs) + 8}));  // 9 conditions
  CHECK_THAT(error_of(root), Contains("models/segment2d/block4.npy") &&
                                 Contains("8 conditions (as 'models/autoencoder/block4.npy')") &&
                                 Contains("got 9"));
  io::write_npy(layer, square(t.models[3][0]));
  CHECK_NOTHROW(io::read_dataset(root));

  // groups.json: a member that is no model, bad JSON, another schema.
  const fs::path groups = root / "models" / "groups.json";
  write_file(groups, R"({"groups": [{"name": "2D", "members": ["segment2d", "edge2d"]}]})");
  CHECK_THAT(error_of(root), Contains("groups.json") && Contains("'edge2d'") &&
                                 Contains("group '2D'") && Contains("options.groups"));
  CHECK_NOTHROW(io::read_dataset(root, {.groups = false}));
  write_file(groups, R"({"groups": [{"name": "2D", "members": ["segment2d"]})");
  CHECK_THAT(error_of(root), Contains("groups.json") && Contains("expected JSON"));
  write_file(groups, R"({"groups": [{"name": "2D", "models": ["segment2d"]}]})");
  CHECK_THAT(error_of(root), Contains("groups.json") && Contains("group 0"));
  write_file(groups, R"({"group": []})");
  CHECK_THAT(error_of(root), Contains("groups.json") && Contains("keys 'group'"));
  write_file(groups, R"({"groups": [{"name": "2D", "members": []}]})");
  CHECK_THAT(error_of(root), Contains("groups.json") && Contains("at least one member"));
  fs::remove(groups);

  // ROIs.
  const fs::path roi = root / "rois" / "V1v.npy";
  io::write_npy(roi, zeros<double>({3, 8, 7}));
  CHECK_THAT(error_of(root), Contains("rois/V1v.npy") && Contains("(3, 8, 7)"));
  auto bad_roi = squares(t.roi_rdms[0]);
  bad_roi(2, 1, 0) = 9.0;
  io::write_npy(roi, bad_roi);
  CHECK_THAT(error_of(root),
             Contains("rois/V1v.npy") && Contains("symmetric") && Contains("subject 2"));
  io::write_npy(roi, squares(t.roi_rdms[0]));

  // Stimuli.
  write_file(root / "stimuli.txt", "a\nb\n");
  CHECK_THAT(error_of(root), Contains("stimuli.txt") && Contains("expected 8 condition names") &&
                                 Contains("got 2"));
  write_file(root / "stimuli.txt", "a\n\nb\n");
  CHECK_THAT(error_of(root), Contains("stimuli.txt") && Contains("empty line 2"));
  fs::remove(root / "stimuli.txt");

  // Searchlights: the table's centres, the ceiling's pair, one source.
  const fs::path sl = root / "searchlight";
  const auto other = dnn2brain::make_neighbor_table(dnn2brain::brain_mask(t.mask, t.geometry),
                                                    dnn2brain::neighborhood::sphere{1.0});
  io::save_neighbor_table(sl / "neighbor_table.bin", other);
  CHECK_THAT(error_of(root),
             Contains("searchlight/neighbor_table.bin") &&
                 Contains("the " + std::to_string(t.table.size()) + " searchlight centres") &&
                 Contains("got " + std::to_string(other.size())));
  io::save_neighbor_table(sl / "neighbor_table.bin", t.table);
  io::write_npy(sl / "rdms.npy", zeros<float>({3, 2, 27}));
  CHECK_THAT(error_of(root), Contains("searchlight/rdms.npy") && Contains("(3, 2, 27)"));
  io::write_npy(sl / "rdms.npy", searchlight_array(t, false));
  fs::remove(sl / "noise_ceiling_upper.npy");
  CHECK_THAT(error_of(root),
             Contains("searchlight/noise_ceiling_upper.npy") && Contains("no such file"));
  io::write_npy(sl / "noise_ceiling_upper.npy", zeros<double>({2}));
  CHECK_THAT(error_of(root), Contains("noise_ceiling_upper.npy") && Contains("(2,)"));
  io::write_npy(sl / "noise_ceiling_upper.npy", vector_of(t.upper));
  fs::remove(sl / "neighbor_table.bin");
  CHECK_THAT(error_of(root),
             Contains("searchlight/neighbor_table.bin") && Contains("no such file"));
  io::save_neighbor_table(sl / "neighbor_table.bin", t.table);
  // The mask the table was made on: one file, .nii.gz or .nii, of the table's grid and voxels.
  const fs::path mask = sl / "mask.nii.gz";
  fs::remove(mask);
  CHECK_THAT(error_of(root), Contains("searchlight/mask.nii.gz") &&
                                 Contains("'searchlight/neighbor_table.bin'") &&
                                 Contains("no such file"));
  io::write_nifti(sl / "mask.nii", t.mask, t.geometry);
  const io::dataset plain = io::read_dataset(root);
  CHECK(read(plain, "searchlight/mask.nii"));
  CHECK(std::get<io::searchlight_rdm_input>(plain.searchlight).mask.size() ==
        t.table.mask_voxels());
  io::write_nifti(mask, t.mask, t.geometry);
  CHECK_THAT(error_of(root), Contains("searchlight/mask.nii.gz") &&
                                 Contains("'searchlight/mask.nii' too") &&
                                 Contains("one brain mask"));
  fs::remove(sl / "mask.nii");
  const std::string voxels = std::to_string(t.table.mask_voxels());
  auto fewer = t.mask;
  fewer(3, 3, 2) = 0;
  io::write_nifti(mask, fewer, t.geometry);
  CHECK_THAT(error_of(root), Contains("searchlight/mask.nii.gz") &&
                                 Contains("'searchlight/neighbor_table.bin'") &&
                                 Contains("shape 7 x 6 x 5, " + voxels + " voxels") &&
                                 Contains(std::to_string(t.table.mask_voxels() - 1) + " voxels"));
  dnn2brain::volume_geometry larger = t.geometry;
  larger.shape = {8, 6, 5};
  auto padded = zeros<std::uint8_t>({8, 6, 5});
  for (std::size_t i = 0; i < 7; ++i)
    for (std::size_t j = 0; j < 6; ++j)
      for (std::size_t k = 0; k < 5; ++k) padded(i, j, k) = t.mask(i, j, k);
  io::write_nifti(mask, padded, larger);
  CHECK_THAT(error_of(root), Contains("searchlight/mask.nii.gz") &&
                                 Contains("'searchlight/neighbor_table.bin'") &&
                                 Contains("got shape 8 x 6 x 5"));
  dnn2brain::volume_geometry shifted = t.geometry;
  shifted.affine(1, 3) += 0.5;
  io::write_nifti(mask, t.mask, shifted);
  CHECK_THAT(error_of(root), Contains("searchlight/mask.nii.gz") &&
                                 Contains("'searchlight/neighbor_table.bin'") &&
                                 Contains("affines that differ by 0.5 mm"));
  // float32 rounding of the affine is accepted, and the mask takes the table's grid exactly.
  shifted.affine(1, 3) = t.geometry.affine(1, 3) + 1e-5;
  io::write_nifti(mask, t.mask, shifted);
  const io::dataset rounded = io::read_dataset(root);
  CHECK(std::get<io::searchlight_rdm_input>(rounded.searchlight)
            .mask.geometry()
            .same_grid(t.geometry, 0.0));
  io::write_nifti(mask, t.mask, t.geometry);
  fs::create_directories(root / "fmri");
  CHECK_THAT(error_of(root), Contains("got both"));
  fs::remove_all(sl);
  CHECK_THAT(error_of(root), Contains("fmri") && Contains("mask.nii.gz"));
  io::write_nifti(root / "fmri" / "mask.nii.gz", t.mask, t.geometry);
  CHECK_THAT(error_of(root), Contains("fmri") && Contains("sub-<label>_betas.nii.gz, got none"));
  auto series = zeros<float>({7, 6, 5, 7});
  io::write_nifti(root / "fmri" / "sub-01_betas.nii.gz", series, t.geometry);
  CHECK_THAT(error_of(root), Contains("fmri/sub-01_betas.nii.gz") &&
                                 Contains("one volume per condition, 8, got 7"));
  io::write_nifti(root / "fmri" / "sub-01_betas.nii", series, t.geometry);
  CHECK_THAT(error_of(root), Contains("one betas file per subject"));
  CHECK(io::read_dataset(root, {.searchlight = false}).models.size() == 4);
}

TEST_CASE("A folder of neither layout, or of both, says what was looked for", "[io][dataset]") {
  const scratch_dir dir("dataset-neither");
  fs::create_directories(dir.path / "data" / "RDM_taskonomy_bonner50");
  write_file(dir.path / "x.txt", "x");
  CHECK_THROWS_WITH(io::detect_layout(dir.path),
                    Contains("dnn2brain::detect_layout") && Contains("models/<dnn>/<layer>.npy") &&
                        Contains("RDM_taskonomy_bonner50") && Contains("got neither") &&
                        Contains(dir.path.string()) && Contains("/data' has"));
  CHECK_THROWS_AS(io::read_dataset(dir.path), dnn2brain::io_error);
  CHECK_THROWS_WITH(io::read_dataset(dir.path / "x.txt"), Contains("not a directory"));
  CHECK_THROWS_WITH(io::read_dataset(dir.path / "nothing"), Contains("does not exist"));
  CHECK_THAT(error_of(dir.path / "data"),
             Contains("expected Taskonomy RDM files") && Contains("RDM_taskonomy_bonner50"));
  fs::create_directories(dir.path / "data" / "models");
  CHECK_THROWS_WITH(io::detect_layout(dir.path / "data"), Contains("got both"));
  CHECK_THAT(error_of(dir.path / "data", {.layout = io::dataset_layout::ours}),
             Contains("models") && Contains("at least one model folder"));
  CHECK_THAT(error_of(dir.path, {.layout = io::dataset_layout::ours}),
             Contains("models") && Contains("no such folder"));
  CHECK_THROWS_AS(io::read_dataset(dir.path, {.models = {"a", "a"}}), dnn2brain::invalid_argument);
  CHECK_THROWS_AS(io::read_dataset(dir.path, {.layers = {"a/b"}}), dnn2brain::invalid_argument);
  CHECK(count_entries(dir.path) == 2);
}
