// NIfTI-1/2 reading and writing: real files against nibabel (tests/reference/io_values.txt), an
// ROI RDM against numpy/scipy, round trips, the bytes of the header we write, and broken input.
#include <dnn2brain/io/nifti.hpp>

#include <dnn2brain/rdm.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <unistd.h>

#include <Eigen/Geometry>
#include <xtensor/xtensor.hpp>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"
#include "support/test_helpers.hpp"

namespace fs = std::filesystem;
namespace io = dnn2brain::io;
using Catch::Contains;

namespace {

using dnn2brain::test::count_entries;
using dnn2brain::test::data_file;
using dnn2brain::test::data_present;
using dnn2brain::test::io_reference;
using dnn2brain::test::read_file;
using dnn2brain::test::scratch_dir;
using dnn2brain::test::write_file;

// A rotated, anisotropic grid; `left_handed` flips the k axis (determinant < 0, qfac = -1).
dnn2brain::volume_geometry rotated_geometry(std::array<std::size_t, 3> shape, bool left_handed) {
  const double a = 0.3, b = -0.7;
  Eigen::Matrix3d r = (Eigen::AngleAxisd(a, Eigen::Vector3d::UnitZ()) *
                       Eigen::AngleAxisd(b, Eigen::Vector3d::UnitX()))
                          .toRotationMatrix();
  const Eigen::Vector3d zooms(1.5, 2.0, left_handed ? -3.25 : 3.25);
  dnn2brain::volume_geometry g;
  g.shape = shape;
  g.affine.topLeftCorner<3, 3>() = r * zooms.asDiagonal();
  g.affine.col(3).head<3>() = Eigen::Vector3d(-90.25, 17.5, 33.0);
  return g;
}

// Each entry of a float32-stored affine is within half an ulp of float of the original.
bool same_affine_float32(const Eigen::Matrix4d& read, const Eigen::Matrix4d& written) {
  const double ulp = std::ldexp(1.0, -24);
  return ((read - written).array().abs() <= written.array().abs() * ulp + 1e-300).all();
}

// Same shape and elements (a plain bool: Catch cannot decompose xtensor's operator==).
template <typename A, typename B>
bool same(const A& a, const B& b) {
  return a == b;
}

template <typename T>
xt::xarray<T> ramp(std::vector<std::size_t> shape, double scale, double offset) {
  auto a = xt::xarray<T>::from_shape(shape);
  for (std::size_t n = 0; n < a.size(); ++n)
    a.data()[n] = static_cast<T>(double(n % 251) * scale + offset);
  return a;
}

}  // namespace

static_assert(dnn2brain::volume_mask<xt::xarray<std::uint8_t>>,
              "a nifti_image<std::uint8_t>'s data is a volume_mask");

TEST_CASE("read_nifti agrees with nibabel on the shared NIfTI files", "[io][nifti][real_data]") {
  if (!data_present("haxby") || !data_present("mni")) return;
  const std::string haxby25 = "haxby/haxby2001_25mm/sub001/";
  for (const auto& [tag, relative] :
       {std::pair{"haxby_bold", "haxby/bold.nii.gz"}, std::pair{"haxby_mask", "haxby/mask.nii.gz"},
        std::pair{"mni_mask", "mni/MNI152_T1_2mm_brain_mask.nii.gz"},
        std::pair{"mni_a1plus", "mni/a1plus_2mm.nii.gz"},
        std::pair{"haxby25_bold",
                  "haxby/haxby2001_25mm/sub001/BOLD/task001_run001/bold_25mm.nii.gz"},
        std::pair{"haxby25_vt", "haxby/haxby2001_25mm/sub001/masks/25mm/vt.nii.gz"},
        std::pair{"haxby25_hoc", "haxby/haxby2001_25mm/sub001/masks/25mm/hoc.nii.gz"},
        std::pair{"haxby25_lowres", "haxby/haxby2001_25mm/sub001/anatomy/lowres001.nii.gz"}}) {
    const std::string name = std::string("nifti_") + tag;
    INFO(relative);
    const auto image = io::read_nifti<double>(data_file(relative));
    const auto& expected_shape = io_reference(name + "_shape");
    REQUIRE(image.shape.size() == std::size_t(expected_shape.size()));
    for (std::size_t d = 0; d < image.shape.size(); ++d)
      REQUIRE(image.shape[d] == std::size_t(expected_shape(0, Eigen::Index(d))));
    REQUIRE(image.data.dimension() == image.shape.size());
    for (std::size_t d = 0; d < 3; ++d) CHECK(image.geometry.shape[d] == image.shape[d]);

    // All these files carry an sform: nibabel and nifti_clib both widen its float32 rows.
    CHECK(dnn2brain::test::max_abs_diff(image.geometry.affine, io_reference(name + "_affine")) ==
          0.0);
    const auto& zooms = io_reference(name + "_zooms");
    for (Eigen::Index d = 0; d < 3; ++d) CHECK(image.voxel_size[std::size_t(d)] == zooms(0, d));
    if (image.shape.size() == 4) CHECK(image.repetition_time == zooms(0, 3));  // units: seconds
    CHECK(image.datatype == int(io_reference(name + "_datatype")(0, 0)));

    // Every stride-th value in C order is exact; the sum within the rounding of a plain sum.
    const auto stride = std::size_t(io_reference(name + "_stride")(0, 0));
    const auto& sample = io_reference(name + "_sample");
    REQUIRE(std::size_t(sample.size()) == (image.data.size() + stride - 1) / stride);
    double worst = 0.0, sum = 0.0;
    std::size_t nonzero = 0;
    for (std::size_t n = 0; n < image.data.size(); ++n) {
      const double v = image.data.data()[n];
      sum += v;
      nonzero += v != 0.0 ? 1 : 0;
      if (n % stride == 0)
        worst = std::max(worst, std::abs(v - sample(0, Eigen::Index(n / stride))));
    }
    CHECK(worst == 0.0);
    const double bound = double(image.data.size()) * std::numeric_limits<double>::epsilon() *
                         io_reference(name + "_abs_sum")(0, 0);
    CHECK(std::abs(sum - io_reference(name + "_sum")(0, 0)) <= bound);
    CHECK(nonzero == std::size_t(io_reference(name + "_nonzero")(0, 0)));

    // The header alone says the same.
    const auto header = io::read_nifti_header(data_file(relative));
    CHECK(header.shape == image.shape);
    CHECK(header.geometry.same_grid(image.geometry, 0.0));
    CHECK(header.datatype == image.datatype);
    CHECK(header.format == io::nifti_format::nifti1);
  }
}

TEST_CASE("The MNI152 2 mm brain mask reads as a uint8 volume mask", "[io][nifti][real_data]") {
  if (!data_present("mni")) return;
  const auto mask =
      io::read_nifti_volume<std::uint8_t>(data_file("mni/MNI152_T1_2mm_brain_mask.nii.gz"));
  REQUIRE(mask.shape == std::vector<std::size_t>{91, 109, 91});
  CHECK(mask.datatype == int(io::nifti_datatype::uint8));
  CHECK(mask.sform_code == 4);  // MNI_152
  CHECK(std::count(mask.data.begin(), mask.data.end(), std::uint8_t(1)) == 228483);
  CHECK(mask.geometry.voxel_size() == std::array<double, 3>{2.0, 2.0, 2.0});
  // data(i, j, k) is voxel (i, j, k): the grid centre maps to about MNI (0, -18, 18).
  const Eigen::Vector3d centre = mask.geometry.world({45, 54, 45});
  CHECK(centre.isApprox(Eigen::Vector3d(0.0, -18.0, 18.0)));
  CHECK(mask.data(45, 54, 45) == 1);
  CHECK(mask.data(0, 0, 0) == 0);
}

TEST_CASE("Haxby ROI RDM from bold.nii.gz and mask.nii.gz matches numpy/scipy",
          "[io][nifti][real_data]") {
  if (!data_present("haxby")) return;
  const auto bold = io::read_nifti_series<double>(data_file("haxby/bold.nii.gz"));
  const auto mask = io::read_nifti_volume<std::uint8_t>(data_file("haxby/mask.nii.gz"));
  REQUIRE(bold.shape == std::vector<std::size_t>{40, 20, 1, 1452});
  REQUIRE(mask.geometry.same_grid(bold.geometry));

  std::ifstream attributes(data_file("haxby/attributes.txt"));
  std::vector<int> labels;
  for (int label = 0, chunk = 0; attributes >> label >> chunk;) labels.push_back(label);
  REQUIRE(labels.size() == bold.volumes());

  // Mean volume per category 1..8 (0 is rest) at the in-mask voxels, in C order of (i, j, k).
  std::vector<std::array<std::size_t, 3>> voxels;
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 20; ++j)
      if (mask.data(i, j, 0) != 0) voxels.push_back({i, j, 0});
  const auto& shape = io_reference("nifti_haxby_roi_patterns_shape");
  REQUIRE(voxels.size() == std::size_t(shape(0, 1)));
  Eigen::MatrixXd patterns = Eigen::MatrixXd::Zero(8, Eigen::Index(voxels.size()));
  std::array<int, 8> count{};
  for (std::size_t t = 0; t < labels.size(); ++t) {
    if (labels[t] == 0) continue;
    const auto c = Eigen::Index(labels[t] - 1);
    ++count[std::size_t(c)];
    for (std::size_t v = 0; v < voxels.size(); ++v)
      patterns(c, Eigen::Index(v)) += bold.data(voxels[v][0], voxels[v][1], voxels[v][2], t);
  }
  for (Eigen::Index c = 0; c < 8; ++c) patterns.row(c) /= count[std::size_t(c)];

  const auto rdm = dnn2brain::compute_rdm(patterns, dnn2brain::metric::correlation{});
  const double d =
      dnn2brain::test::max_abs_diff(rdm.values().transpose(), io_reference("nifti_haxby_roi_rdm"));
  // 1 - r is about 2e-4 here; r from 530-term dot products carries ~530 eps of error.
  INFO("worst deviation " << d);
  CHECK(d <= 1e-12);
}

TEST_CASE("write_nifti round trips through read_nifti", "[io][nifti]") {
  const scratch_dir dir("round-trip");
  for (const auto format : {io::nifti_format::nifti1, io::nifti_format::nifti2})
    for (const std::string extension : {".nii", ".nii.gz"})
      for (const bool left_handed : {false, true}) {
        const std::string stem = std::string(format == io::nifti_format::nifti1 ? "n1" : "n2") +
                                 (left_handed ? "-left" : "-right");
        INFO(stem << extension);
        const auto g = rotated_geometry({5, 4, 3}, left_handed);

        // 4-D float32 with a repetition time.
        const auto series = ramp<float>({5, 4, 3, 6}, 0.37, -20.0);
        const fs::path f32 = dir.path / (stem + "-f32" + extension);
        io::write_nifti(f32, series, g, {.format = format, .repetition_time = 2.5});
        const auto back = io::read_nifti_series<float>(f32);
        CHECK(same(back.data, series));
        CHECK(back.format == format);
        CHECK(back.datatype == int(io::nifti_datatype::float32));
        CHECK(back.shape == std::vector<std::size_t>{5, 4, 3, 6});
        CHECK(back.repetition_time == 2.5);
        CHECK(back.sform_code == 2);
        CHECK(back.qform_code == 1);
        CHECK(same_affine_float32(back.geometry.affine, g.affine));
        const auto zooms = g.voxel_size();
        for (std::size_t d = 0; d < 3; ++d)
          CHECK(back.voxel_size[d] == Approx(zooms[d]).epsilon(1e-7));

        // 3-D float64 and the integer types; a volume reads back element for element.
        const auto f64 = ramp<double>({5, 4, 3}, std::numbers::pi, -1e6);
        io::write_nifti(dir.path / (stem + "-f64" + extension), f64, g, {.format = format});
        CHECK(same(io::read_nifti<double>(dir.path / (stem + "-f64" + extension)).data, f64));
        const auto i16 = ramp<std::int16_t>({5, 4, 3, 2}, -130.0, 16000.0);
        io::write_nifti(dir.path / (stem + "-i16" + extension), i16, g, {.format = format});
        const auto i16_back = io::read_nifti<std::int16_t>(dir.path / (stem + "-i16" + extension));
        CHECK(same(i16_back.data, i16));
        CHECK(i16_back.datatype == int(io::nifti_datatype::int16));
        const auto i32 = ramp<std::int32_t>({5, 4, 3}, 1e7, -1.2e9);
        io::write_nifti(dir.path / (stem + "-i32" + extension), i32, g, {.format = format});
        CHECK(same(io::read_nifti<std::int32_t>(dir.path / (stem + "-i32" + extension)).data, i32));
        const auto u8 = ramp<std::uint8_t>({5, 4, 3}, 1.0, 0.0);
        io::write_nifti(dir.path / (stem + "-u8" + extension), u8, g, {.format = format});
        const auto u8_back =
            io::read_nifti_volume<std::uint8_t>(dir.path / (stem + "-u8" + extension));
        CHECK(same(u8_back.data, u8));
        CHECK(u8_back.datatype == int(io::nifti_datatype::uint8));
        // Any element type converts on read when the values fit.
        CHECK(same(io::read_nifti<double>(dir.path / (stem + "-u8" + extension)).data,
                   xt::xarray<double>(u8)));
      }
  CHECK(count_entries(dir.path) == 2 * 2 * 2 * 5);
}

TEST_CASE("write_nifti element types, datatype option and orientation fallbacks", "[io][nifti]") {
  const scratch_dir dir("options");
  const auto g = rotated_geometry({4, 3, 2}, true);

  // bool is written as uint8 and reads back as a mask.
  xt::xarray<bool> mask = xt::xarray<bool>::from_shape({4, 3, 2});
  for (std::size_t n = 0; n < mask.size(); ++n) mask.data()[n] = n % 3 == 0;
  io::write_nifti(dir.path / "mask.nii.gz", mask, g);
  const auto mask_back = io::read_nifti_volume<bool>(dir.path / "mask.nii.gz");
  CHECK(mask_back.datatype == int(io::nifti_datatype::uint8));
  CHECK(same(mask_back.data, mask));

  // double data stored as int16 on request; an expression is written as evaluated.
  const auto values = ramp<double>({4, 3, 2}, 3.0, -30.0);
  io::write_nifti(dir.path / "as-int16.nii", values * 2.0, g,
                  {.datatype = io::nifti_datatype::int16});
  const auto as_int16 = io::read_nifti<double>(dir.path / "as-int16.nii");
  CHECK(as_int16.datatype == int(io::nifti_datatype::int16));
  CHECK(same(as_int16.data, xt::xarray<double>(values * 2.0)));

  // Without an sform the qform gives the affine, up to its float32 offsets (90 * 2^-24) ...
  io::write_nifti(dir.path / "qform.nii", values, g, {.sform_code = 0});
  const auto qform = io::read_nifti<double>(dir.path / "qform.nii");
  CHECK(qform.sform_code == 0);
  CHECK((qform.geometry.affine - g.affine).cwiseAbs().maxCoeff() <= 1e-5);
  // ... and without either nibabel's base affine: pixdim, x flipped, origin at the centre.
  io::write_nifti(dir.path / "none.nii", values, g, {.sform_code = 0, .qform_code = 0});
  const auto none = io::read_nifti<double>(dir.path / "none.nii");
  const auto zooms = g.voxel_size();
  Eigen::Matrix4d base = Eigen::Matrix4d::Identity();
  base.diagonal().head<3>() << -zooms[0], zooms[1], zooms[2];
  base.col(3).head<3>() << 1.5 * zooms[0], -1.0 * zooms[1], -0.5 * zooms[2];
  CHECK((none.geometry.affine - base).cwiseAbs().maxCoeff() <= 1e-6);

  // A 4-D file holding one volume is a volume; with more it is only a series.
  io::write_nifti(dir.path / "one.nii", ramp<float>({4, 3, 2, 1}, 1.0, 0.0), g);
  CHECK(io::read_nifti<float>(dir.path / "one.nii").shape == std::vector<std::size_t>{4, 3, 2, 1});
  CHECK(io::read_nifti_volume<float>(dir.path / "one.nii").data.dimension() == 3);
  CHECK(io::read_nifti_series<float>(dir.path / "one.nii").volumes() == 1);
}

TEST_CASE("read_nifti takes a 5-D file with one non-singleton extra dimension as 4-D",
          "[io][nifti]") {
  const scratch_dir dir("five-d");
  const auto g = rotated_geometry({3, 2, 2}, false);
  // xtensor's fixed-rank container is written like an xarray.
  xt::xtensor<float, 4> series = ramp<float>({3, 2, 2, 4}, 1.0, 0.0);
  const fs::path file = dir.path / "five.nii";
  io::write_nifti(file, series, g);
  const auto set_dims = [&](short nt, short nu) {
    std::string bytes = read_file(file);
    nifti_1_header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    h.dim[0] = 5;
    h.dim[4] = nt;
    h.dim[5] = nu;
    std::memcpy(bytes.data(), &h, sizeof h);
    write_file(file, bytes);
  };
  // (nx, ny, nz, 1, 4), as deformation fields are stored: the same bytes as (nx, ny, nz, 4).
  set_dims(1, 4);
  const auto five = io::read_nifti<float>(file);
  CHECK(five.shape == std::vector<std::size_t>{3, 2, 2, 4});
  CHECK(same(five.data, xt::xarray<float>(series)));
  set_dims(2, 2);
  CHECK_THROWS_WITH(io::read_nifti_header(file), Contains("at most one of dims 4..7"));
}

TEST_CASE("write_nifti writes the header fields nibabel checks", "[io][nifti]") {
  const scratch_dir dir("header-bytes");
  const auto g = rotated_geometry({3, 4, 5}, false);
  const auto data = ramp<float>({3, 4, 5, 2}, 1.0, 0.0);

  io::write_nifti(dir.path / "one.nii", data, g, {.repetition_time = 2.0});
  const std::string one = read_file(dir.path / "one.nii");
  REQUIRE(one.size() == 352 + data.size() * sizeof(float));
  nifti_1_header h1;
  std::memcpy(&h1, one.data(), sizeof h1);
  CHECK(h1.sizeof_hdr == 348);
  CHECK(std::string(h1.magic, 4) == std::string("n+1\0", 4));
  CHECK(h1.vox_offset == 352.0f);
  CHECK(h1.dim[0] == 4);
  CHECK(h1.dim[4] == 2);
  CHECK(h1.datatype == 16);
  CHECK(h1.bitpix == 32);
  CHECK(h1.scl_slope == 1.0f);
  CHECK(h1.xyzt_units == (NIFTI_UNITS_MM | NIFTI_UNITS_SEC));
  CHECK(h1.pixdim[4] == 2.0f);
  CHECK(h1.sform_code == 2);
  CHECK(h1.qform_code == 1);
  CHECK(h1.pixdim[0] == 1.0f);  // qfac of a right-handed grid
  CHECK(h1.srow_x[3] == float(g.affine(0, 3)));
  CHECK(h1.srow_z[1] == float(g.affine(2, 1)));
  CHECK(one.substr(348, 4) == std::string(4, '\0'));  // extender: no extensions
  float first_values[2];
  std::memcpy(first_values, one.data() + 352, sizeof first_values);
  CHECK(first_values[0] == data(0, 0, 0, 0));
  CHECK(first_values[1] == data(1, 0, 0, 0));  // i runs fastest on disk

  io::write_nifti(dir.path / "two.nii", data, g, {.format = io::nifti_format::nifti2});
  const std::string two = read_file(dir.path / "two.nii");
  REQUIRE(two.size() == 544 + data.size() * sizeof(float));
  nifti_2_header h2;
  std::memcpy(&h2, two.data(), sizeof h2);
  CHECK(h2.sizeof_hdr == 540);
  CHECK(std::string(h2.magic, 8) == std::string("n+2\0\r\n\032\n", 8));
  CHECK(h2.vox_offset == 544);
  CHECK(h2.dim[3] == 5);
  CHECK(h2.srow_y[0] == g.affine(1, 0));  // NIfTI-2 keeps the affine in double
}

TEST_CASE("read_nifti applies scl_slope and scl_inter as nibabel does", "[io][nifti]") {
  const scratch_dir dir("scaling");
  const auto g = rotated_geometry({3, 2, 2}, false);
  const auto raw = ramp<std::int16_t>({3, 2, 2}, 7.0, -40.0);
  const fs::path file = dir.path / "scaled.nii";
  io::write_nifti(file, raw, g);
  const auto set_scaling = [&](float slope, float inter) {
    std::string bytes = read_file(file);
    nifti_1_header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    h.scl_slope = slope;
    h.scl_inter = inter;
    std::memcpy(bytes.data(), &h, sizeof h);
    write_file(file, bytes);
  };

  set_scaling(0.5f, 10.0f);
  CHECK(same(io::read_nifti<double>(file).data,
             xt::xarray<double>(xt::xarray<double>(raw) * 0.5 + 10.0)));
  // Integer results stay readable as integers; fractions are not.
  CHECK_THROWS_WITH(io::read_nifti<std::int16_t>(file),
                    Contains("read_nifti") && Contains("scaled.nii") && Contains("representable"));
  set_scaling(2.0f, 0.0f);
  CHECK(same(io::read_nifti<std::int32_t>(file).data, xt::xarray<std::int32_t>(raw * 2)));
  // A zero or NaN slope means "no scaling".
  set_scaling(0.0f, 10.0f);
  CHECK(same(io::read_nifti<std::int16_t>(file).data, raw));
  set_scaling(std::numeric_limits<float>::quiet_NaN(), 10.0f);
  CHECK(same(io::read_nifti<std::int16_t>(file).data, raw));
}

TEST_CASE("read_nifti reports broken and unsupported files", "[io][nifti]") {
  const scratch_dir dir("broken");
  const auto g = rotated_geometry({6, 5, 4}, false);
  // Random values, so that gzip cannot shrink the data to a few bytes.
  std::mt19937 engine(7);
  auto series = xt::xarray<float>::from_shape({6, 5, 4, 8});
  for (auto& v : series) v = std::uniform_real_distribution<float>(-1.0f, 1.0f)(engine);
  io::write_nifti(dir.path / "series.nii.gz", series, g);
  io::write_nifti(dir.path / "series.nii", series, g);

  SECTION("a .nii.gz whose gzip stream ends early") {
    const std::string bytes = read_file(dir.path / "series.nii.gz");
    write_file(dir.path / "cut.nii.gz", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(
        io::read_nifti<float>(dir.path / "cut.nii.gz"),
        Contains("dnn2brain::read_nifti") && Contains("truncated") && Contains("cut.nii.gz"));
    // The header is intact: reading it alone works.
    CHECK(io::read_nifti_header(dir.path / "cut.nii.gz").volumes() == 8);
  }
  SECTION("a .nii shorter than its data") {
    const std::string bytes = read_file(dir.path / "series.nii");
    write_file(dir.path / "cut.nii", bytes.substr(0, bytes.size() - 1));
    CHECK_THROWS_WITH(io::read_nifti<float>(dir.path / "cut.nii"),
                      Contains("truncated") && Contains("cut.nii"));
  }
  SECTION("a real .nii.gz cut in half") {
    if (!data_present("haxby")) return;
    const std::string bytes = read_file(data_file("haxby/bold.nii.gz"));
    write_file(dir.path / "bold.nii.gz", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(io::read_nifti_series<float>(dir.path / "bold.nii.gz"),
                      Contains("truncated") && Contains("bold.nii.gz"));
  }
  SECTION("garbage, an empty file and a missing file") {
    write_file(dir.path / "garbage.nii", std::string(1000, 'x'));
    CHECK_THROWS_WITH(io::read_nifti<float>(dir.path / "garbage.nii"),
                      Contains("expected a NIfTI-1 or NIfTI-2 file") && Contains("garbage.nii"));
    write_file(dir.path / "empty.nii.gz", "");
    CHECK_THROWS_AS(io::read_nifti<float>(dir.path / "empty.nii.gz"), dnn2brain::io_error);
    // nifti_clib alone would open series.nii.gz when asked for the missing series2.nii.
    fs::copy_file(dir.path / "series.nii.gz", dir.path / "series2.nii.gz");
    CHECK_THROWS_WITH(io::read_nifti_header(dir.path / "series2.nii"),
                      Contains("does not exist") && Contains("series2.nii"));
  }
  SECTION("a 3-D file where a series is needed, a series where one volume is") {
    io::write_nifti(dir.path / "volume.nii", ramp<float>({6, 5, 4}, 1.0, 0.0), g);
    CHECK_THROWS_WITH(io::read_nifti_series<float>(dir.path / "volume.nii"),
                      Contains("read_nifti_series") && Contains("4-D") && Contains("volume.nii"));
    CHECK_THROWS_WITH(io::read_nifti_volume<float>(dir.path / "series.nii"),
                      Contains("read_nifti_volume") && Contains("8 volumes"));
  }
  SECTION("values the element type cannot hold") {
    CHECK_THROWS_WITH(io::read_nifti<std::uint8_t>(dir.path / "series.nii"),
                      Contains("representable") && Contains("series.nii"));
  }
  SECTION("complex and RGB voxels") {
    const auto u8 = ramp<std::uint8_t>({6, 5, 4}, 1.0, 0.0);
    io::write_nifti(dir.path / "u8.nii", u8, g);
    std::string bytes = read_file(dir.path / "u8.nii");
    for (const auto& [code, bits, name] : {std::tuple{short(DT_COMPLEX64), short(64), "COMPLEX64"},
                                           std::tuple{short(DT_RGB24), short(24), "RGB24"}}) {
      nifti_1_header h;
      std::memcpy(&h, bytes.data(), sizeof h);
      h.datatype = code;
      h.bitpix = bits;
      std::memcpy(bytes.data(), &h, sizeof h);
      write_file(dir.path / "odd.nii", bytes);
      CHECK_THROWS_WITH(io::read_nifti<float>(dir.path / "odd.nii"),
                        Contains("read_nifti") && Contains(name) && Contains("odd.nii"));
      CHECK(io::read_nifti_header(dir.path / "odd.nii").datatype == code);
    }
  }
}

TEST_CASE("write_nifti refuses bad input and leaves no partial file", "[io][nifti]") {
  const scratch_dir dir("write-errors");
  const auto g = rotated_geometry({4, 3, 2}, false);
  const auto volume = ramp<float>({4, 3, 2}, 1.0, 0.0);
  const fs::path target = dir.path / "kept.nii.gz";
  io::write_nifti(target, volume, g);
  const std::string before = read_file(target);

  CHECK_THROWS_AS(io::write_nifti(target, ramp<float>({4, 3}, 1.0, 0.0), g),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_AS(io::write_nifti(target, ramp<float>({4, 3, 2, 2, 2}, 1.0, 0.0), g),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_WITH(io::write_nifti(target, ramp<float>({4, 3, 3}, 1.0, 0.0), g),
                    Contains("write_nifti") && Contains("grid"));
  CHECK_THROWS_WITH(io::write_nifti(dir.path / "map.img", volume, g), Contains(".nii"));
  auto singular = g;
  singular.affine.col(2).setZero();
  CHECK_THROWS_AS(io::write_nifti(target, volume, singular), dnn2brain::invalid_argument);
  // A value the requested type cannot hold stops the write half-way through the data.
  auto big = ramp<double>({4, 3, 2}, 1.0, 0.0);
  big(3, 2, 1) = 40000.0;
  CHECK_THROWS_WITH(io::write_nifti(target, big, g, {.datatype = io::nifti_datatype::int16}),
                    Contains("40000"));
  big(3, 2, 1) = 0.5;
  CHECK_THROWS_AS(io::write_nifti(target, big, g, {.datatype = io::nifti_datatype::uint8}),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_WITH(io::write_nifti(target, volume, g, {.datatype = io::nifti_datatype(32)}),
                    Contains("COMPLEX64"));
  // NIfTI-1 stores dims in 16 bits.
  dnn2brain::volume_geometry wide = g;
  wide.shape = {40000, 1, 1};
  CHECK_THROWS_WITH(
      io::write_nifti(target, xt::xarray<std::uint8_t>::from_shape({40000, 1, 1}), wide),
      Contains("nifti2"));
  // A directory that does not exist.
  CHECK_THROWS_WITH(io::write_nifti(dir.path / "missing" / "map.nii", volume, g),
                    Contains("map.nii"));

  CHECK(read_file(target) == before);
  CHECK(count_entries(dir.path) == 1);
}

namespace {

fs::path nifti_case(const std::string& name) {
  return fs::path(DNN2BRAIN_IO_CASES_DIR) / name;
}

// The values make_nifti_cases.py writes (n * 0.5 - 3 in file order, i fastest) on a 4 x 3 x 2
// grid.
bool holds_case_ramp(const io::nifti_image<double>& image) {
  if (image.shape != std::vector<std::size_t>{4, 3, 2}) return false;
  for (std::size_t k = 0, n = 0; k < 2; ++k)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t i = 0; i < 4; ++i, ++n)
        if (image.data(i, j, k) != double(n) * 0.5 - 3.0) return false;
  return true;
}

}  // namespace

TEST_CASE("read_nifti validates the header before nifti_clib sees it and prints nothing",
          "[io][nifti][cases]") {
  // Every case fails in read_nifti_header already (header fields and extensions).
  const std::vector<std::pair<std::string, std::vector<std::string>>> header_cases{
      {"nifti_truncated_header.nii", {"348-byte NIfTI-1 header", "truncated"}},
      {"nifti_truncated.nii.gz", {"truncated"}},
      {"nifti_sizeof_hdr.nii", {"expected a NIfTI-1 or NIfTI-2 file", "'sizeof_hdr' 349"}},
      {"nifti_magic_mismatch.nii", {"'magic'", "'n+2\\x00'"}},
      {"nifti_analyze.nii", {"'magic'", "Analyze 7.5"}},
      {"nifti2_bad_eol.nii", {"'magic'", "\\x0d\\x0d\\x0d\\x0d"}},
      {"nifti_dim0_9.nii", {"'dim[0]'", "1..7", "got 9"}},
      {"nifti_negative_dim.nii", {"'dim[2]'", "got -3"}},
      {"nifti_zero_dim.nii", {"'dim[3]'", "got 0"}},
      {"nifti_dims_overflow.nii", {"below 2^63 bytes", "overflows"}},
      {"nifti_unknown_datatype.nii", {"'datatype'", "got 3"}},
      {"nifti_bitpix_mismatch.nii", {"'bitpix' 32 for datatype 16", "got 8"}},
      {"nifti_vox_offset_low.nii", {"'vox_offset' of at least 348", "got 100"}},
      {"nifti_vox_offset_nan.nii", {"'vox_offset'", "got nan"}},
      {"nifti_vox_offset_huge.nii", {"'vox_offset'", "0..2^31", "got 3000000000"}},
      {"nifti_vox_offset_past_end.nii", {"'vox_offset' within the file's 448 bytes"}},
      {"nifti_huge_esize.nii", {"'esize' of extension 0", "16..32", "got 2147483632"}},
      {"nifti_small_esize.nii", {"'esize' of extension 0", "got 8"}},
      {"nifti_esize_past_offset.nii", {"'esize'", "end by vox_offset", "got 48"}},
      {"nifti_lying_isize.nii.gz", {"gzip", "incorrect length check"}},
  };
  // Header intact; the data block is not what the header declares.
  const std::vector<std::pair<std::string, std::vector<std::string>>> data_cases{
      {"nifti_huge_claim.nii",
       {"declared size exceeds the file", "1099511627776 bytes", "file of 352 bytes"}},
      {"nifti_huge_claim.nii.gz",
       {"declared size exceeds the file", "1099511627776 bytes", "gzip file of 82 bytes"}},
      {"nifti_truncated.nii", {"declared size exceeds the file", "96 bytes", "402 bytes"}},
      {"nifti_short_stream.nii.gz", {"truncated", "1048576 bytes", "ends after 1376 bytes"}},
  };
  dnn2brain::test::stderr_capture capture;
  for (const auto& [name, parts] : header_cases) {
    INFO(name);
    for (const auto read : {+[](const fs::path& p) { (void)io::read_nifti_header(p); },
                            +[](const fs::path& p) { (void)io::read_nifti<float>(p); }}) {
      try {
        read(nifti_case(name));
        FAIL_CHECK("no exception");
      } catch (const dnn2brain::io_error& e) {
        const std::string what = e.what();
        CHECK_THAT(what, Contains("dnn2brain::read_nifti") && Contains(name));
        for (const auto& part : parts) CHECK_THAT(what, Contains(part));
      }
    }
  }
  for (const auto& [name, parts] : data_cases) {
    INFO(name);
    CHECK_NOTHROW(io::read_nifti_header(nifti_case(name)));
    // Thrown before anything of the declared size (up to 2^40 bytes) is allocated: at once, and
    // an ASan build (allocator_may_return_null=0) would abort on the allocation.
    const auto start = std::chrono::steady_clock::now();
    try {
      (void)io::read_nifti<float>(nifti_case(name));
      FAIL_CHECK("no exception");
    } catch (const dnn2brain::io_error& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Contains("dnn2brain::read_nifti: '") && Contains(name));
      for (const auto& part : parts) CHECK_THAT(what, Contains(part));
    }
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
  // The pair's image file is not a header.
  CHECK_THROWS_WITH(io::read_nifti<float>(nifti_case("nifti_pair.img")),
                    Contains(".hdr file of a .hdr/.img pair"));
  // nifti_clib 3.0.1 printed "** ERROR: nifti_convert_n1hdr2nim: bad dim[0]" (and "bad
  // datatype") for two of these despite debug level 0.
  CHECK(capture.text().empty());
}

TEST_CASE(
    "read_nifti reads big-endian files, .hdr/.img pairs, extensions and NIfTI-2 with a "
    "zeroed EOL",
    "[io][nifti][cases]") {
  for (const std::string name : {"nifti_big_endian.nii", "nifti_pair.hdr", "nifti_extension_ok.nii",
                                 "nifti2_zero_eol.nii.gz"}) {
    INFO(name);
    const auto image = io::read_nifti<double>(nifti_case(name));
    CHECK(holds_case_ramp(image));
    CHECK(image.format ==
          (name.starts_with("nifti2") ? io::nifti_format::nifti2 : io::nifti_format::nifti1));
    CHECK(image.geometry.affine.isApprox(Eigen::Matrix4d::Identity()));
  }
}

TEST_CASE("read_nifti checks the gzip trailer after the data", "[io][nifti][cases]") {
  const scratch_dir dir("nifti-gzip");
  std::mt19937 engine(11);
  auto volume = xt::xarray<float>::from_shape({20, 20, 20});
  for (auto& v : volume) v = std::uniform_real_distribution<float>(-1.0f, 1.0f)(engine);
  io::write_nifti(dir.path / "v.nii.gz", volume, rotated_geometry({20, 20, 20}, false));
  std::string bytes = read_file(dir.path / "v.nii.gz");
  // A flipped bit in the CRC-32 of the trailer: only the check after the data can see it.
  bytes[bytes.size() - 6] = char(bytes[bytes.size() - 6] ^ 0x10);
  write_file(dir.path / "crc.nii.gz", bytes);
  CHECK_THROWS_WITH(io::read_nifti<float>(dir.path / "crc.nii.gz"),
                    Contains("crc.nii.gz") && Contains("incorrect data check"));
}
