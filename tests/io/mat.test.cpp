// MATLAB .mat reading through matio: the rsa92 files against scipy.io.loadmat and the v7.3
// sample against h5py (tests/reference/io_values.txt), files written here with matio, errors, and
// the damaged or hostile files of tests/io/cases (truncated, oversized, malformed v7.3).
#include <dnn2brain/io/mat.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include "support/io_support.hpp"

namespace fs = std::filesystem;
namespace io = dnn2brain::io;
using Catch::Contains;

namespace {

using dnn2brain::test::data_file;
using dnn2brain::test::data_present;
using dnn2brain::test::io_reference;
using dnn2brain::test::io_reference_shape;
using dnn2brain::test::io_reference_strings;
using dnn2brain::test::scratch_dir;
using dnn2brain::test::write_file;

// Compares an array with make_io_reference.py's summary: shape, every stride-th value (C order)
// exactly, and the sum within the rounding of a plain double sum (n eps sum|x|).
template <typename T>
void check_summary(const xt::xarray<T>& a, const std::string& name) {
  INFO(name);
  REQUIRE(std::vector<std::size_t>(a.shape().begin(), a.shape().end()) ==
          io_reference_shape(name + "_shape"));
  const auto stride = std::size_t(io_reference(name + "_stride")(0, 0));
  const auto& sample = io_reference(name + "_sample");
  double worst = 0.0, sum = 0.0;
  for (std::size_t n = 0; n < a.size(); ++n) {
    const double v = static_cast<double>(a.data()[n]);
    sum += v;
    if (n % stride == 0) worst = std::max(worst, std::abs(v - sample(0, Eigen::Index(n / stride))));
  }
  CHECK(worst == 0.0);
  const double bound = double(a.size()) * std::numeric_limits<double>::epsilon() *
                       io_reference(name + "_abs_sum")(0, 0);
  CHECK(std::abs(sum - io_reference(name + "_sum")(0, 0)) <= bound);
}

double sum_of(const xt::xarray<double>& a) {
  double s = 0.0;
  for (const double v : a) s += v;
  return s;
}

}  // namespace

TEST_CASE("Every rsa92 .mat file opens and lists its variables as scipy does",
          "[io][mat][real_data]") {
  if (!data_present("rsa92")) return;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(data_file("rsa92")))
    if (entry.path().extension() == ".mat") files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  REQUIRE(files == io_reference_strings("mat_rsa92_files"));
  for (std::size_t k = 0; k < files.size(); ++k) {
    INFO(files[k]);
    io::mat_file file(data_file("rsa92/" + files[k]));
    const auto variables = file.variables();
    CHECK(variables == io_reference_strings("mat_rsa92_file" + std::to_string(k) + "_variables"));
    for (const auto& v : variables) CHECK(file.contains(v));
    CHECK_FALSE(file.contains("no_such_variable"));
  }
}

TEST_CASE("92_brainRDMs.mat: RDMs(1,4,2).RDM and the names agree with scipy",
          "[io][mat][real_data]") {
  if (!data_present("rsa92")) return;
  io::mat_file file(data_file("rsa92/92_brainRDMs.mat"));
  const io::mat_value rdms = file.read("RDMs");
  CHECK(rdms.kind() == io::mat_kind::structure);
  CHECK(rdms.dims() == std::vector<std::size_t>{1, 4, 2});
  CHECK(rdms.field_names() == std::vector<std::string>{"RDM", "name", "color"});

  // MATLAB's RDMs(1,4,2) is 0-based subscripts {0, 3, 1}, linear index 0 + 3*1 + 1*4 = 7.
  const io::mat_value rdm = rdms.field("RDM", {0, 3, 1});
  CHECK(rdm.where() == "RDMs(1,4,2).RDM");
  CHECK(rdm.class_name() == "single");
  const auto a = rdm.array<double>();
  check_summary(a, "mat_brain_rdm_1_4_2");
  const bool same_element = a == rdms.field("RDM", 7).array<double>();
  CHECK(same_element);
  CHECK(a(0, 1) == a(1, 0));  // symmetric: rows and columns are not mixed up ...
  CHECK(a(2, 5) == static_cast<double>(rdm.array<float>()(2, 5)));
  CHECK(a(0, 0) == 0.0);

  const auto& sums = io_reference("mat_brain_rdm_sums");
  const auto names = io_reference_strings("mat_brain_names");
  for (std::size_t k = 0; k < rdms.numel(); ++k) {
    const auto r = rdms.field("RDM", k).array<double>();
    CHECK(std::abs(sum_of(r) - sums(0, Eigen::Index(k))) <= 1e-9 * sums(0, Eigen::Index(k)));
    CHECK(rdms.field("name", k).string() == names[k]);
  }
}

TEST_CASE("92_modelRDMs.mat: classes per element, names and values agree with scipy",
          "[io][mat][real_data]") {
  if (!data_present("rsa92")) return;
  const io::mat_value models = io::mat_file(data_file("rsa92/92_modelRDMs.mat")).read("Models");
  REQUIRE(models.numel() == 8);
  const auto classes = io_reference_strings("mat_models_classes");
  const auto names = io_reference_strings("mat_models_names");
  const auto& sums = io_reference("mat_models_rdm_sums");
  for (std::size_t k = 0; k < 8; ++k) {
    const io::mat_value rdm = models.field("RDM", k);
    INFO(rdm.where());
    CHECK(rdm.class_name() == classes[k]);
    CHECK(rdm.kind() == io::mat_kind::numeric);
    CHECK(rdm.dims() == std::vector<std::size_t>{92, 92});
    CHECK(sum_of(rdm.array<double>()) == Approx(sums(0, Eigen::Index(k))).epsilon(1e-12));
    CHECK(models.field("name", k).string() == names[k]);
  }
  // The animacy model is stored as uint8 0/1 in a double array: it converts to integers exactly.
  const auto animacy = models.field("RDM", 0).array<std::uint8_t>();
  CHECK(std::all_of(animacy.begin(), animacy.end(), [](std::uint8_t v) { return v <= 1; }));
  // The monkey IT model is not integral.
  CHECK_THROWS_WITH(models.field("RDM", 2).array<std::int32_t>(),
                    Contains("Models(1,3).RDM") && Contains("92_modelRDMs.mat"));
}

TEST_CASE("modelRDMs_A2020.mat: condensed AlexNet RDMs and layer names agree with scipy",
          "[io][mat][real_data]") {
  if (!data_present("rsa92")) return;
  const io::mat_value models =
      io::mat_file(data_file("rsa92/modelRDMs_A2020.mat")).read("modelRDMs");
  CHECK(models.dims() == std::vector<std::size_t>{1, 63});
  const auto first = models.field("RDM", 0).array<double>();
  REQUIRE(std::vector<std::size_t>(first.shape().begin(), first.shape().end()) ==
          std::vector<std::size_t>{1, 4186});
  const auto& head = io_reference("mat_alexnet_rdm0_head");
  for (Eigen::Index j = 0; j < head.size(); ++j) CHECK(first(0, std::size_t(j)) == head(0, j));

  const auto classes = io_reference_strings("mat_alexnet_classes");
  const auto names = io_reference_strings("mat_alexnet_repr_names");
  const auto& sums = io_reference("mat_alexnet_rdm_sums");
  for (std::size_t k = 0; k < 63; ++k) {
    const io::mat_value rdm = models.field("RDM", k);
    INFO(rdm.where());
    CHECK(rdm.class_name() == classes[k]);
    CHECK(sum_of(rdm.array<double>()) == Approx(sums(0, Eigen::Index(k))).epsilon(1e-12));
    CHECK(models.field("reprName", k).string() == names[k]);
  }
}

TEST_CASE("Kriegeskorte 2008 supplement: cells of strings, a double matrix, a 3-D uint8 image",
          "[io][mat][real_data]") {
  if (!data_present("rsa92")) return;
  io::mat_file file(data_file("rsa92/Kriegeskorte_Neuron2008_supplementalData.mat"));
  const io::mat_value labels = file.read("categoryLabels");
  CHECK(labels.kind() == io::mat_kind::cell);
  const auto expected_labels = io_reference_strings("mat_supplement_category_labels");
  REQUIRE(labels.numel() == expected_labels.size());
  for (std::size_t k = 0; k < labels.numel(); ++k)
    CHECK(labels.cell(k).string() == expected_labels[k]);
  CHECK(labels.cell({0, 11}).where() == "categoryLabels{12}");

  const io::mat_value vectors = file.read("categoryVectors");
  CHECK(vectors.class_name() == io_reference_strings("mat_supplement_category_vectors_class")[0]);
  const auto v = vectors.array<double>();
  const auto& ev = io_reference("mat_supplement_category_vectors");
  REQUIRE(v.shape()[0] == std::size_t(ev.rows()));
  REQUIRE(v.shape()[1] == std::size_t(ev.cols()));
  bool all_equal = true;
  for (Eigen::Index i = 0; i < ev.rows(); ++i)
    for (Eigen::Index j = 0; j < ev.cols(); ++j)
      all_equal = all_equal && v(std::size_t(i), std::size_t(j)) == ev(i, j);
  CHECK(all_equal);

  const io::mat_value image = file.read("stimuli_92objs").field("image", 5);
  CHECK(image.where() == "stimuli_92objs(1,6).image");
  CHECK(image.class_name() == io_reference_strings("mat_supplement_image6_class")[0]);
  check_summary(image.array<std::uint8_t>(), "mat_supplement_image6");
}

TEST_CASE("A MATLAB v7.3 (HDF5) file reads as h5py sees it", "[io][mat][real_data]") {
  if (!data_present("haxby")) return;
  io::mat_file file(data_file("haxby/v73.mat"));
  CHECK(file.variables() == io_reference_strings("mat_v73_variables"));
  for (const std::string name : {"x", "y"}) {
    INFO(name);
    const io::mat_value value = file.read(name);
    CHECK(value.class_name() == io_reference_strings("mat_v73_" + name + "_class")[0]);
    // h5py shows MATLAB's dims reversed; matio and the reference give MATLAB's own (1 × n).
    CHECK(value.dims() == io_reference_shape("mat_v73_" + name + "_dims"));
    const auto a = value.array<double>();
    const auto& e = io_reference("mat_v73_" + name);
    REQUIRE(a.size() == std::size_t(e.size()));
    for (std::size_t n = 0; n < a.size(); ++n) CHECK(a.data()[n] == e(0, Eigen::Index(n)));
  }
  CHECK(file.read("y").kind() == io::mat_kind::logical);
  const auto y = io::read_mat_array<bool>(data_file("haxby/v73.mat"), "y");
  CHECK(y(0, 0));
  CHECK_FALSE(y(0, 1));
  CHECK(io::read_mat_array<int>(data_file("haxby/v73.mat"), "x")(0, 5) == 5);
  CHECK_THROWS_WITH(file.read("x").scalar<double>(), Contains("1x6 double"));
}

TEST_CASE("mat_value reads matio-written arrays in MATLAB's order", "[io][mat]") {
  const scratch_dir dir("written");
  const fs::path path = dir.path / "made.mat";
  {
    mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
    REQUIRE(mat != nullptr);
    // A(i+1, j+1, k+1) = 100 i + 10 j + k, stored column-major as MATLAB does.
    std::vector<std::int16_t> column_major(std::size_t{2} * 3 * 4);
    for (std::size_t k = 0, n = 0; k < 4; ++k)
      for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t i = 0; i < 2; ++i) column_major[n++] = std::int16_t(100 * i + 10 * j + k);
    std::size_t dims[3] = {2, 3, 4};
    matvar_t* a = Mat_VarCreate("A", MAT_C_INT16, MAT_T_INT16, 3, dims, column_major.data(), 0);
    REQUIRE(Mat_VarWrite(mat, a, MAT_COMPRESSION_ZLIB) == 0);
    Mat_VarFree(a);
    std::uint64_t huge[2] = {1, std::uint64_t(1) << 40};
    std::size_t row[2] = {1, 2};
    matvar_t* h = Mat_VarCreate("huge", MAT_C_UINT64, MAT_T_UINT64, 2, row, huge, 0);
    REQUIRE(Mat_VarWrite(mat, h, MAT_COMPRESSION_NONE) == 0);
    Mat_VarFree(h);
    double re[2] = {1.0, 2.0}, im[2] = {0.5, -0.5};
    mat_complex_split_t z{re, im};
    matvar_t* c = Mat_VarCreate("z", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, row, &z, MAT_F_COMPLEX);
    REQUIRE(Mat_VarWrite(mat, c, MAT_COMPRESSION_NONE) == 0);
    Mat_VarFree(c);
    double one = 2.5;
    std::size_t scalar[2] = {1, 1};
    matvar_t* s = Mat_VarCreate("s", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, scalar, &one, 0);
    REQUIRE(Mat_VarWrite(mat, s, MAT_COMPRESSION_NONE) == 0);
    Mat_VarFree(s);
    Mat_Close(mat);
  }
  io::mat_file file(path);
  CHECK(file.variables() == std::vector<std::string>{"A", "huge", "z", "s"});
  CHECK(file.read("s").scalar<float>() == 2.5f);
  const auto a = file.read("A").array<std::int32_t>();
  REQUIRE(a.dimension() == 3);
  bool ordered = true;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k)
        ordered = ordered && a(i, j, k) == std::int32_t(100 * i + 10 * j + k);
  CHECK(ordered);

  CHECK(file.read("huge").array<double>()(0, 1) == std::ldexp(1.0, 40));
  CHECK_THROWS_WITH(file.read("huge").array<std::int32_t>(),
                    Contains("1099511627776") && Contains("huge"));
  const io::mat_value z = file.read("z");
  CHECK(z.is_complex());
  CHECK(z.kind() == io::mat_kind::other);
  CHECK_THROWS_WITH(z.array<double>(), Contains("complex double") && Contains("made.mat"));
}

TEST_CASE("mat_file and mat_value report what is missing or of the wrong class", "[io][mat]") {
  const scratch_dir dir("errors");
  write_file(dir.path / "garbage.mat", std::string(300, 'g'));
  CHECK_THROWS_WITH(io::mat_file(dir.path / "garbage.mat"),
                    Contains("dnn2brain::mat_file") && Contains("garbage.mat"));
  CHECK_THROWS_WITH(io::mat_file(dir.path / "missing.mat"),
                    Contains("does not exist") && Contains("missing.mat"));
  CHECK_THROWS_AS(io::read_mat_array<double>(dir.path / "missing.mat", "x"), dnn2brain::io_error);

  if (!data_present("rsa92")) return;
  const fs::path path = data_file("rsa92/92_brainRDMs.mat");
  io::mat_file file(path);
  CHECK_THROWS_WITH(file.read("rdms"), Contains("mat_file::read") && Contains("'rdms'") &&
                                           Contains("RDMs") && Contains("92_brainRDMs.mat"));
  const io::mat_value rdms = file.read("RDMs");
  CHECK_THROWS_WITH(rdms.field("RDX", 0), Contains("mat_value::field") && Contains("'RDX'") &&
                                              Contains("RDM, name, color") &&
                                              Contains("92_brainRDMs.mat"));
  CHECK_THROWS_WITH(rdms.array<double>(),
                    Contains("mat_value::array") && Contains("RDMs") && Contains("1x4x2 struct"));
  CHECK_THROWS_WITH(rdms.field("RDM", 8), Contains("below 8") && Contains("got 8"));
  CHECK_THROWS_WITH(rdms.field("RDM", {0, 4, 1}), Contains("subscript 1 below 4"));
  CHECK_THROWS_WITH(rdms.field("RDM", {0, 0, 2}), Contains("subscript 2 below 2"));
  CHECK(rdms.field("RDM", {0, 7}).where() == "RDMs(1,4,2).RDM");  // MATLAB's RDMs(1,8)
  const io::mat_value rdm = rdms.field("RDM", 0);
  CHECK_THROWS_WITH(rdm.field("x"), Contains("expected a struct") && Contains("RDMs(1,1,1).RDM"));
  CHECK_THROWS_WITH(rdm.string(), Contains("char row vector") && Contains("92x92 single"));
  CHECK_THROWS_WITH(rdm.cell(0), Contains("cell array"));
  CHECK_THROWS_WITH(rdm.scalar<double>(), Contains("scalar"));
  CHECK_THROWS_WITH(rdms.field("name", 0).array<double>(), Contains("char"));
  CHECK_FALSE(rdm.has_field("RDM"));
  CHECK(rdms.has_field("color"));
}

TEST_CASE("Fields and cells outlive the variable and the file they came from", "[io][mat]") {
  if (!data_present("rsa92")) return;
  std::vector<io::mat_value> names;
  {
    io::mat_file file(data_file("rsa92/Kriegeskorte_Neuron2008_supplementalData.mat"));
    const io::mat_value labels = file.read("categoryLabels");
    for (std::size_t k = 0; k < labels.numel(); ++k) names.push_back(labels.cell(k));
  }
  CHECK(names.size() == 12);
  CHECK(names.front().string() == io_reference_strings("mat_supplement_category_labels").front());
}

// --- damaged and hostile files (tests/io/cases/make_mat_cases.py) -------------------------------

namespace {

fs::path mat_case(const std::string& name) {
  return fs::path(DNN2BRAIN_IO_CASES_DIR) / name;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A(i+1, j+1) = i + j / 100, as make_mat_cases.py writes it.
void check_case_matrix(const xt::xarray<double>& a) {
  REQUIRE(a.shape()[0] == 20);
  REQUIRE(a.shape()[1] == 15);
  bool exact = true;
  for (std::size_t i = 0; i < 20; ++i)
    for (std::size_t j = 0; j < 15; ++j) exact = exact && a(i, j) == double(i) + double(j) / 100.0;
  CHECK(exact);
}

}  // namespace

TEST_CASE("Valid scipy files still read exactly, plain and compressed", "[io][mat][cases]") {
  check_case_matrix(io::read_mat_array<double>(mat_case("mat_v5_matrix.mat"), "A"));
  check_case_matrix(io::read_mat_array<double>(mat_case("mat_v5z_matrix.mat"), "A"));
  CHECK(io::mat_file(mat_case("mat_v5z_matrix.mat")).variables() == std::vector<std::string>{"A"});
  // h5py's (1, 2) dataset is MATLAB's 2 x 1; h5py's (8, 8) y[r, c] = 8 r + c is MATLAB's y(c, r).
  const auto x = io::read_mat_array<double>(mat_case("mat_v73_compact.mat"), "x");
  REQUIRE(x.shape()[0] == 2);
  CHECK(x(0, 0) == 1.25);
  CHECK(x(1, 0) == -2.5);
  const auto y = io::read_mat_array<double>(mat_case("mat_v73_contiguous.mat"), "y");
  REQUIRE(y.size() == 64);
  CHECK(y(3, 5) == 8.0 * 5 + 3);
}

TEST_CASE("Truncated v5 files are refused, plain and compressed, at any cut", "[io][mat][cases]") {
  for (const std::string tag : {"v5", "v5z"})
    for (const int percent : {10, 50, 90}) {
      const std::string name = "mat_" + tag + "_matrix_cut" + std::to_string(percent) + ".mat";
      INFO(name);
      CHECK_THROWS_WITH(
          io::read_mat_array<double>(mat_case(name), "A"),
          Contains("dnn2brain::mat_file") && Contains(name) && Contains("truncated file?"));
    }
}

TEST_CASE("A truncated copy of 92_brainRDMs.mat is refused", "[io][mat][cases][real_data]") {
  if (!data_present("rsa92")) return;
  const std::string bytes = read_bytes(data_file("rsa92/92_brainRDMs.mat"));
  REQUIRE(bytes.size() > 1000);
  const scratch_dir dir("truncated");
  for (const int percent : {10, 50, 90, 99}) {
    INFO(percent);
    const fs::path path = write_file(dir.path / ("cut" + std::to_string(percent) + ".mat"),
                                     bytes.substr(0, bytes.size() * std::size_t(percent) / 100));
    CHECK_THROWS_WITH(io::mat_file(path).read("RDMs"), Contains("dnn2brain::mat_file") &&
                                                           Contains(path.filename().string()) &&
                                                           Contains("truncated file?"));
  }
  // One byte less is enough.
  const fs::path path = write_file(dir.path / "less.mat", bytes.substr(0, bytes.size() - 1));
  CHECK_THROWS_AS(io::mat_file(path), dnn2brain::io_error);
}

TEST_CASE("Sizes declared by a v5 file are checked against its bytes before any allocation",
          "[io][mat][cases]") {
  // 4294967294 x 2 struct (208 bytes): matio left its data NULL and field() dereferenced it.
  CHECK_THROWS_WITH(
      io::mat_file(mat_case("mat_struct_huge_dims.mat")),
      Contains("mat_struct_huge_dims.mat") && Contains("dimensions") && Contains("non-negative"));
  // A char tag declaring 1.7 GB in a 192-byte file, and 850 million characters with 6 bytes.
  CHECK_THROWS_WITH(
      io::mat_file(mat_case("mat_string_oversized.mat")),
      Contains("variable 'name'") && Contains("1700000000 bytes") && Contains("truncated file?"));
  CHECK_THROWS_WITH(
      io::mat_file(mat_case("mat_string_short.mat")),
      Contains("variable 'name'") && Contains("850000000 characters") && Contains("got 6 bytes"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_dims_overflow.mat")),
                    Contains("fits in 64 bits") && Contains("2147483647x2147483647x2147483647"));
  CHECK_THROWS_WITH(io::read_mat_array<double>(mat_case("mat_dims_exceed_data.mat"), "x"),
                    Contains("variable 'x'") && Contains("1000000 elements of 8 bytes") &&
                        Contains("got 8 bytes"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_deep_cells.mat")),
                    Contains("variable 'deep'") && Contains("nested at most 32"));
}

TEST_CASE("An empty file is not a MAT file", "[io][mat][cases]") {
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_empty.mat")), Contains("dnn2brain::mat_file") &&
                                                                 Contains("mat_empty.mat") &&
                                                                 Contains("empty file"));
}

TEST_CASE("UTF-16 text: surrogate pairs decode, unpaired surrogates are refused",
          "[io][mat][cases]") {
  io::mat_file file(mat_case("mat_utf16_surrogates.mat"));
  CHECK(file.read("paired").string() == "\xF0\x9F\x98\x80");  // U+1F600
  CHECK_THROWS_WITH(file.read("unpaired").string(),
                    Contains("mat_value::string") && Contains("unpaired") && Contains("0xD800") &&
                        Contains("unpaired") && Contains("mat_utf16_surrogates.mat"));
}

TEST_CASE("Bad v7.3 files are refused before HDF5 reads their data", "[io][mat][cases]") {
  // A compact dataset whose layout declares 0 stored bytes: HDF5 1.10's H5Dread copies from NULL.
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v73_compact_empty.mat")),
                    Contains("mat_v73_compact_empty.mat") && Contains("HDF5 dataset '/x'") &&
                        Contains("expected 16 stored bytes") && Contains("got 0"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v73_contiguous_cut60.mat")),
                    Contains("mat_v73_contiguous_cut60.mat") && Contains("truncated file?"));
}

namespace {

// What is written to file descriptor 2 while f runs (HDF5 and matio write with fprintf(stderr)).
template <typename F>
std::string stderr_during(F&& f) {
  dnn2brain::test::stderr_capture capture;
  std::forward<F>(f)();
  return capture.text();
}

// mat_v73_compact.mat with the root group's object header address (superblock version 0, 8-byte
// addresses, after the 512-byte user block) pointing into the superblock: HDF5 cannot open it.
fs::path write_v73_bad_root(const fs::path& dir) {
  std::string bytes = read_bytes(mat_case("mat_v73_compact.mat"));
  REQUIRE(bytes.size() > 600);
  REQUIRE(bytes.compare(512, 8, "\x89HDF\r\n\x1a\n") == 0);
  REQUIRE(bytes[512 + 8] == 0);   // superblock version 0
  REQUIRE(bytes[512 + 13] == 8);  // 8-byte addresses
  bytes.replace(512 + 64, 8, std::string("\x28\0\0\0\0\0\0\0", 8));
  return write_file(dir / "bad_root.mat", bytes);
}

// A v7.3 file that passes the checks but not matio: dataset x holds 8-byte strings and says it is
// MATLAB "double", so matio's H5Dread finds no conversion and fails (written with HDF5 here).
fs::path write_v73_strings_as_double(const fs::path& dir) {
  fs::path path = dir / "strings_as_double.mat";
  const hid_t create = H5Pcreate(H5P_FILE_CREATE);
  REQUIRE(H5Pset_userblock(create, 512) >= 0);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, create, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hsize_t dims[2] = {1, 2};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t strings = H5Tcopy(H5T_C_S1);
  REQUIRE(H5Tset_size(strings, 8) >= 0);
  const hid_t dataset =
      H5Dcreate2(file, "x", strings, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Dwrite(dataset, strings, H5S_ALL, H5S_ALL, H5P_DEFAULT, "abcdefghijklmno") >= 0);
  const hid_t class_type = H5Tcopy(H5T_C_S1);
  REQUIRE(H5Tset_size(class_type, 6) >= 0);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t matlab_class =
      H5Acreate2(dataset, "MATLAB_class", class_type, scalar, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Awrite(matlab_class, class_type, "double") >= 0);
  for (const hid_t id : {matlab_class}) H5Aclose(id);
  for (const hid_t id : {scalar, space}) H5Sclose(id);
  for (const hid_t id : {class_type, strings}) H5Tclose(id);
  H5Dclose(dataset);
  REQUIRE(H5Fclose(file) >= 0);
  H5Pclose(create);
  // MATLAB's 128-byte header in the user block: text, subsystem offset, version 0x0200, "IM".
  std::string header = "MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .";
  header.resize(116, ' ');
  header.append(8, '\0').append("\0\x02IM", 4);
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  REQUIRE(out.good());
  return path;
}

// Reads or refuses every v7.3 case as a user would.
void use_v73_cases(const fs::path& bad_root, const fs::path& strings_as_double) {
  CHECK_THROWS_WITH(io::mat_file(strings_as_double).read("x"), Contains("got a matio error"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v73_compact_empty.mat")),
                    Contains("expected 16 stored bytes"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v73_contiguous_cut60.mat")),
                    Contains("truncated file?"));
  CHECK_THROWS_WITH(io::mat_file(bad_root),
                    Contains("bad_root.mat") && Contains("a file HDF5 cannot open"));
  io::mat_file compact(mat_case("mat_v73_compact.mat"));
  CHECK(compact.variables() == std::vector<std::string>{"x"});
  CHECK(compact.read("x").array<double>()(1, 0) == -2.5);
  CHECK_THROWS_WITH(compact.read("missing"), Contains("got only: x"));
  CHECK(io::read_mat_array<double>(mat_case("mat_v73_contiguous.mat"), "y")(3, 5) == 43.0);
}

// An HDF5 error handler of the program's own: counts the reports it is given.
herr_t count_reports(hid_t /*stack*/, void* count) {
  ++*static_cast<int*>(count);
  return 0;
}

}  // namespace

TEST_CASE("v7.3 files are read and refused silently; HDF5's error handler is kept",
          "[io][mat][cases]") {
  const scratch_dir dir("mat_v73_quiet");
  const fs::path bad_root = write_v73_bad_root(dir.path);
  const fs::path strings_as_double = write_v73_strings_as_double(dir.path);
  // The premise: HDF5 itself reports this file on stderr (its default error handler).
  const std::string hdf5_says = stderr_during([&] {
    const hid_t file = H5Fopen(bad_root.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file < 0);
    if (file >= 0) H5Fclose(file);
  });
  CHECK_THAT(hdf5_says, Contains("HDF5-DIAG"));

  // dnn2brain's checks and matio's reading print nothing.
  CHECK(stderr_during([&] { use_v73_cases(bad_root, strings_as_double); }) == "");

  // A handler the program installed is neither called nor replaced, also after io_error.
  struct program_handler {
    H5E_auto2_t saved = nullptr;
    void* saved_data = nullptr;
    int reports = 0;
    program_handler() {
      REQUIRE(H5Eget_auto2(H5E_DEFAULT, &saved, &saved_data) >= 0);
      REQUIRE(H5Eset_auto2(H5E_DEFAULT, &count_reports, &reports) >= 0);
    }
    program_handler(const program_handler&) = delete;
    program_handler& operator=(const program_handler&) = delete;
    ~program_handler() { H5Eset_auto2(H5E_DEFAULT, saved, saved_data); }
  } handler;
  use_v73_cases(bad_root, strings_as_double);
  H5E_auto2_t now = nullptr;
  void* now_data = nullptr;
  REQUIRE(H5Eget_auto2(H5E_DEFAULT, &now, &now_data) >= 0);
  CHECK(now == &count_reports);
  CHECK(now_data == &handler.reports);
  CHECK(handler.reports == 0);
  // ... and still in use: HDF5's own failures reach it.
  const hid_t file = H5Fopen(bad_root.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file >= 0) H5Fclose(file);
  CHECK(handler.reports == 1);
}

namespace {

// The sanitizer builds report a crash themselves and end the child with exit status 1.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// True when this process has no child at all: none running, and no zombie to reap.
bool no_children() {
  errno = 0;
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

}  // namespace

TEST_CASE("v7.3 files that crash HDF5 are refused with io_error: HDF5 ran in a separate process",
          "[io][mat][cases]") {
  REQUIRE(no_children());
  // A local heap at an undefined address: HDF5 1.10 memcpys from NULL inside H5Literate.
  for (const std::string name :
       {"mat_v73_hdf5_crash_heap_address.mat", "mat_v73_hdf5_crash_fuzzer.mat"}) {
    INFO(name);
    CHECK_THROWS_WITH(io::mat_file(mat_case(name)),
                      Contains("dnn2brain::mat_file") && Contains(name) &&
                          Contains("made HDF5 crash (") &&
                          Contains(sanitized ? "exit status 1" : "signal 11") &&
                          Contains("while it was checked in a separate process"));
  }
  // A 2^44-byte heap: malloc gives NULL and HDF5 fails (an abort under ASan).
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v73_hdf5_crash_heap_size.mat")),
                    Contains("mat_v73_hdf5_crash_heap_size.mat"));
  // The crashes print nothing, and leave no zombie behind.
  CHECK(stderr_during([] {
          CHECK_THROWS_AS(io::mat_file(mat_case("mat_v73_hdf5_crash_heap_address.mat")),
                          dnn2brain::io_error);
        }) == "");
  // Valid files still read, with and without isolation; the in-process checks run in both.
  for (const bool isolate : {true, false}) {
    INFO(isolate);
    const io::mat_options options{.isolate_hdf5 = isolate};
    io::mat_file compact(mat_case("mat_v73_compact.mat"), options);
    CHECK(compact.variables() == std::vector<std::string>{"x"});
    CHECK(compact.read("x").array<double>()(1, 0) == -2.5);
    CHECK(
        io::mat_file(mat_case("mat_v73_contiguous.mat"), options).read("y").array<double>()(3, 5) ==
        43.0);
    CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v73_compact_empty.mat"), options),
                      Contains("HDF5 dataset '/x'") && Contains("expected 16 stored bytes"));
  }
  CHECK(no_children());
}

TEST_CASE("The separate process: reports, crashes and deadlines become io_error, never zombies",
          "[io][mat]") {
  namespace detail = dnn2brain::io::detail;
  const std::chrono::milliseconds ten_seconds(10'000);
  REQUIRE(no_children());
  const detail::file_origin origin{"mat_file", "'f.mat'"};
  CHECK(detail::mat_v73_isolation_deadline(0) == std::chrono::seconds(30));
  CHECK(detail::mat_v73_isolation_deadline(std::uint64_t{5} << 20) == std::chrono::seconds(35));
  const auto returns = [] {};
  CHECK_NOTHROW(detail::run_in_child_process(origin, ten_seconds, returns));
  // The child's io_error comes back as it was.
  const auto throws = [] { throw dnn2brain::io_error("dnn2brain::mat_file: exact"); };
  CHECK_THROWS_WITH(detail::run_in_child_process(origin, ten_seconds, throws),
                    Catch::Equals("dnn2brain::mat_file: exact"));
  // Killed by a signal: named, with the last line the child printed (never printed here).
  const auto aborts = [] {
    std::fputs("first\nlast words\n", stderr);
    std::fflush(stderr);
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
  };
  const std::string said = stderr_during([&] {
    CHECK_THROWS_WITH(detail::run_in_child_process(origin, ten_seconds, aborts),
                      Contains("dnn2brain::mat_file: 'f.mat': ") &&
                          Contains("made HDF5 crash (signal 6") &&
                          Contains("it wrote: 'last words'"));
  });
  CHECK(said == "");
  const auto exits = [] { ::_exit(7); };
  CHECK_THROWS_WITH(detail::run_in_child_process(origin, ten_seconds, exits),
                    Contains("made HDF5 crash (exit status 7)"));
  // Past the deadline: killed and reaped.
  const auto hangs = [] {
    for (;;) ::pause();
  };
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(detail::run_in_child_process(origin, std::chrono::milliseconds(300), hangs),
                    Contains("within 300 ms") && Contains("still working") && Contains("killed"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(no_children());
}

TEST_CASE("Struct fields and names that matio would read differently are refused",
          "[io][mat][cases]") {
  // matio reads a field's name tag as exactly 8 bytes and the next bytes as the data tag: a named
  // field gave 1.98e-313 for 42.0, and name bytes shaped like a miDOUBLE tag uninitialised memory.
  CHECK_THROWS_WITH(
      io::mat_file(mat_case("mat_struct_named_field.mat")),
      Contains("variable 's', s(1).a") && Contains("expected none for a struct field"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_struct_field_name_overread.mat")),
                    Contains("s(1).a") && Contains("expected none for a struct field"));
  // A long-form field-name length tag: matio takes its byte count for the length.
  CHECK_THROWS_WITH(
      io::mat_file(mat_case("mat_struct_long_field_name_length.mat")),
      Contains("variable 's'") && Contains("field name length") && Contains("small data element"));
  // A long-form miUTF8 name: matio skips a long-form name only when it is miINT8.
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_name_utf8_tag.mat")),
                    Contains("name: expected a miINT8 text") && Contains("got data type 16"));
}

TEST_CASE("A struct without fields reads, and asking it for a field says it has none",
          "[io][mat][cases]") {
  io::mat_file file(mat_case("mat_struct_no_fields.mat"));
  const io::mat_value s = file.read("s");
  CHECK(s.kind() == io::mat_kind::structure);
  CHECK(s.field_names().empty());
  CHECK_THROWS_WITH(s.field("a"),
                    Contains("expected a field 'a'") && Contains("got a struct with no fields"));
}

TEST_CASE("Opaque values, function handles and MATLAB's subsystem data: the other variables read",
          "[io][mat][cases]") {
  for (const std::string name : {"mat_string_object.mat", "mat_string_object_z.mat",
                                 "mat_function_handle.mat", "mat_function_handle_z.mat"}) {
    INFO(name);
    io::mat_file file(mat_case(name));
    // The unnamed subsystem element (scipy's __function_workspace__) is no variable.
    const std::string first = name.find("string") != std::string::npos ? "s" : "f";
    CHECK(file.variables() == std::vector<std::string>{first, "x"});
    CHECK_FALSE(file.contains(""));
    CHECK_THROWS_WITH(file.read(""), Contains("got only: " + first + ", x"));
    const auto x = file.read("x").array<double>();
    REQUIRE(x.size() == 3);
    CHECK(x(0, 0) == 1.5);
    CHECK(x(0, 2) == 3.0);
  }
  // matio reads function handles, but not opaque values: a clear error, no crash.
  CHECK(io::mat_file(mat_case("mat_function_handle.mat")).read("f").class_name() ==
        "function_handle");
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_string_object.mat")).read("s"),
                    Contains("variable 's'") && Contains("got a matio error"));
  // matio reads an opaque value's name tag where dimensions would be: a miINT32 tag is refused.
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_opaque_int32_name.mat")),
                    Contains("name: expected a miINT8 text") && Contains("got data type 5"));
  // 4 x 16580612 elements with one present: matio allocated 0.5 GB of pointers first.
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_function_handle_huge_dims.mat")),
                    Contains("variable 'rdm'") && Contains("4x16580612") && Contains("got 1"));
}

TEST_CASE("Sparse arrays: row indices, values and imaginary values agree", "[io][mat][cases]") {
  io::mat_file valid(mat_case("mat_sparse_valid.mat"));
  CHECK(valid.read("a").class_name() == "sparse");
  CHECK(valid.read("x").array<double>()(0, 1) == 2.5);
  // matio reads the imaginary values with the real values' count.
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_sparse_short_imaginary.mat")),
                    Contains("variable 'a'") && Contains("sparse imaginary values") &&
                        Contains("expected 16 bytes") && Contains("got 8 bytes"));
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_sparse_rows_over_nzmax.mat")),
                    Contains("variable 'a'") && Contains("at most nzmax = 1") && Contains("got 2"));
}

TEST_CASE("A compressed element declaring more than its stream holds is refused",
          "[io][mat][cases]") {
  // 64 KiB of stream declaring 60 MB: the buffer grows with the stream (it was allocated whole).
  CHECK_THROWS_WITH(io::mat_file(mat_case("mat_v5z_declares_more.mat")),
                    Contains("expected 60000008 bytes after inflating") && Contains("got 65592"));
}

TEST_CASE("write_mat round-trips arrays of rank 2 to 4 through read_mat_array",
          "[io][mat][write]") {
  const scratch_dir dir("write_mat");
  // Distinct values everywhere, so that any transposition or axis mix-up shows.
  auto a2 = xt::xarray<double>::from_shape({3, 5});
  auto a3 = xt::xarray<double>::from_shape({2, 3, 4});
  auto a4 = xt::xarray<double>::from_shape({2, 1, 3, 2});
  for (auto* a : {&a2, &a3, &a4})
    for (std::size_t k = 0; k < a->size(); ++k) a->data()[k] = 0.5 + double(k) * 1.25 - 3.0;
  a3(1, 2, 3) = std::numeric_limits<double>::quiet_NaN();
  a3(0, 0, 1) = -std::numeric_limits<double>::infinity();
  const auto empty = xt::xarray<double>::from_shape({0, 3});
  for (const bool compress : {true, false}) {
    const fs::path path = dir.path / (compress ? "z.mat" : "plain.mat");
    io::write_mat(path, {{"rdm", a2}, {"subject_rdm", a3}, {"x4", a4}, {"none", empty}},
                  {.compress = compress});
    io::mat_file file(path);
    CHECK(file.variables() == std::vector<std::string>{"rdm", "subject_rdm", "x4", "none"});
    CHECK(file.read("rdm").class_name() == "double");
    CHECK(file.read("subject_rdm").dims() == std::vector<std::size_t>{2, 3, 4});
    const bool same_rdm = io::read_mat_array<double>(path, "rdm") == a2;
    CHECK(same_rdm);
    const auto b3 = io::read_mat_array<double>(path, "subject_rdm");
    REQUIRE(b3.shape() == a3.shape());
    bool same = true;
    for (std::size_t k = 0; k < a3.size(); ++k)
      same = same && (a3.data()[k] == b3.data()[k] ||
                      (std::isnan(a3.data()[k]) && std::isnan(b3.data()[k])));
    CHECK(same);
    const bool same_x4 = io::read_mat_array<double>(path, "x4") == a4;
    CHECK(same_x4);
    CHECK(io::read_mat_array<double>(path, "none").size() == 0);
  }
  // The MATLAB element A(i+1, j+1, k+1) is a(i, j, k): MATLAB's column-major order on disk.
  const io::mat_value v = io::mat_file(dir.path / "plain.mat").read("subject_rdm");
  CHECK(v.array<double>()(1, 0, 2) == a3(1, 0, 2));
}

TEST_CASE("write_mat refuses bad names and ranks before writing, and leaves no partial file",
          "[io][mat][write]") {
  const scratch_dir dir("write_mat_errors");
  const xt::xarray<double> ok = xt::xarray<double>::from_shape({2, 2});
  const xt::xarray<double> vector = xt::xarray<double>::from_shape({4});
  const fs::path path = dir.path / "x.mat";
  CHECK_THROWS_WITH(
      io::write_mat(path, {{"rdm", ok}, {"1st", ok}}),
      Contains("dnn2brain::write_mat") && Contains("MATLAB variable name") && Contains("'1st'"));
  CHECK_THROWS_WITH(io::write_mat(path, {{"a b", ok}}), Contains("'a b'"));
  CHECK_THROWS_WITH(io::write_mat(path, {{std::string(64, 'a'), ok}}), Contains("at most 63"));
  CHECK_THROWS_WITH(io::write_mat(path, {{"rdm", ok}, {"rdm", ok}}),
                    Contains("distinct") && Contains("'rdm' twice"));
  CHECK_THROWS_WITH(io::write_mat(path, {{"v", vector}}),
                    Contains("rank 2 or more") && Contains("'v'") && Contains("rank 1"));
  CHECK_THROWS_AS(io::write_mat(path, {{"v", vector}}), dnn2brain::invalid_argument);
  CHECK(dnn2brain::test::count_entries(dir.path) == 0);
  CHECK_THROWS_AS(io::write_mat(dir.path / "missing" / "x.mat", {{"rdm", ok}}),
                  dnn2brain::io_error);
  CHECK_THROWS_AS(io::write_mat(dir.path, {{"rdm", ok}}), dnn2brain::io_error);
  CHECK(dnn2brain::test::count_entries(dir.path) == 0);
  // Replacing a file keeps it whole: the old content until the new one is complete.
  io::write_mat(path, {{"old", ok}});
  CHECK_THROWS(io::write_mat(path, {{"new", ok}, {"_bad", ok}}));
  CHECK(io::mat_file(path).variables() == std::vector<std::string>{"old"});
  CHECK(dnn2brain::test::count_entries(dir.path) == 1);
}
