// Masks, neighbourhoods, the searchlight range and the neighbour table, against the counts known
// from the peers, brute-force oracles and the paper's block code (make_searchlight_reference.py).
#include <dnn2brain/searchlight.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::brain_mask;
using dnn2brain::ijk;
using dnn2brain::volume_geometry;
namespace nb = dnn2brain::neighborhood;

namespace {

const dnn2brain::test::row_matrix& sl_ref(const std::string& name) {
  return dnn2brain::test::reference(name, DNN2BRAIN_SEARCHLIGHT_REFERENCE_FILE);
}

volume_geometry cube_geometry(std::size_t edge) {
  volume_geometry g;
  g.shape = {edge, edge, edge};
  return g;
}

xt::xtensor<bool, 3> full_mask(std::size_t edge) {
  return xt::ones<bool>({edge, edge, edge});
}

// The irregular mask of make_searchlight_reference.py.
xt::xtensor<std::uint8_t, 3> reference_mask() {
  xt::xtensor<std::uint8_t, 3> m = xt::zeros<std::uint8_t>({9, 8, 7});
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 8; ++j)
      for (int k = 0; k < 7; ++k)
        m(i, j, k) = ((i * 7 + j * 3 + k * 5) % 11 < 5) ||
                     ((i - 4) * (i - 4) + (j - 4) * (j - 4) + (k - 3) * (k - 3) <= 6);
  return m;
}

volume_geometry reference_geometry() {
  volume_geometry g;
  g.shape = {9, 8, 7};
  const auto& a = sl_ref("affine");
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) g.affine(r, c) = a(r, c);
  return g;
}

std::size_t centre_count(const brain_mask& mask, const auto& shape) {
  // Members of the searchlight at the volume's centre voxel.
  const auto table = dnn2brain::make_neighbor_table(mask, shape);
  const auto e = std::int32_t(mask.geometry().shape[0] / 2);
  for (const auto& s : table)
    if (s.center == ijk{e, e, e}) return s.size();
  return 0;
}

}  // namespace

TEST_CASE("brain_mask numbers in-mask voxels in C order and extracts the data matrix",
          "[searchlight]") {
  xt::xtensor<int, 3> m = xt::zeros<int>({3, 4, 2});
  m(0, 1, 1) = 1;
  m(2, 0, 0) = 7;
  m(1, 3, 0) = -1;  // nonzero counts as inside
  volume_geometry g;
  g.shape = {3, 4, 2};
  const brain_mask mask(m, g);
  REQUIRE(mask.size() == 3);
  CHECK(mask.voxels()[0] == ijk{0, 1, 1});
  CHECK(mask.voxels()[1] == ijk{1, 3, 0});
  CHECK(mask.voxels()[2] == ijk{2, 0, 0});
  CHECK(mask.column({1, 3, 0}) == 1);
  CHECK(mask.column({0, 0, 0}) == -1);
  CHECK(mask.column({3, 0, 0}) == -1);  // outside the volume
  CHECK(mask.column({-1, 0, 0}) == -1);

  xt::xarray<double> series = xt::zeros<double>({3, 4, 2, 5});
  for (std::size_t t = 0; t < 5; ++t) {
    series(0, 1, 1, t) = 10.0 + double(t);
    series(1, 3, 0, t) = 20.0 + double(t);
    series(2, 0, 0, t) = 30.0 + double(t);
  }
  const Eigen::MatrixXf x = mask.apply<float>(series);
  REQUIRE(x.rows() == 5);
  REQUIRE(x.cols() == 3);
  for (int t = 0; t < 5; ++t) {
    CHECK(x(t, 0) == float(10 + t));
    CHECK(x(t, 1) == float(20 + t));
    CHECK(x(t, 2) == float(30 + t));
  }

  series(1, 3, 0, 2) = std::nan("");
  CHECK_THROWS_WITH(mask.apply(series), Catch::Contains("brain_mask::apply") &&
                                            Catch::Contains("voxel (1, 3, 0), volume 2"));
  CHECK_THROWS_WITH(mask.apply(xt::xarray<double>(xt::zeros<double>({3, 4, 2}))),
                    Catch::Contains("4-D"));
  CHECK_THROWS_WITH(brain_mask(xt::xtensor<int, 3>(xt::zeros<int>({3, 4, 2})), g),
                    Catch::Contains("at least one voxel"));
  g.shape = {3, 4, 3};
  CHECK_THROWS_WITH(brain_mask(m, g), Catch::Contains("shape 3 x 4 x 3"));
}

TEST_CASE("Neighbour counts match the peers' well-known counts", "[searchlight]") {
  const brain_mask mask(full_mask(11), cube_geometry(11));
  const std::size_t inclusive[] = {7, 33, 123, 257};  // nilearn / brainiak, distance <= r
  const std::size_t strict[] = {1, 27, 93, 251};      // rsatoolbox, distance < r
  const std::size_t cube[] = {27, 125, 343, 729};
  for (int r = 1; r <= 4; ++r) {
    CAPTURE(r);
    CHECK(centre_count(mask, nb::sphere{double(r)}) == inclusive[r - 1]);
    CHECK(centre_count(mask, nb::sphere{double(r), nb::unit::voxels, false}) == strict[r - 1]);
    CHECK(centre_count(mask, nb::cube{r}) == cube[r - 1]);
  }
  CHECK(centre_count(mask, nb::sphere{0.0}) == 1);
  CHECK(centre_count(mask, nb::nearest{20}) == 20);
  // mm radii on 2 mm isotropic voxels equal voxel radii of half the size.
  volume_geometry g2 = cube_geometry(11);
  g2.affine.diagonal().head<3>().setConstant(2.0);
  const brain_mask mask2(full_mask(11), g2);
  CHECK(centre_count(mask2, nb::sphere{4.0, nb::unit::mm}) == 33);
  CHECK(centre_count(mask2, nb::sphere{4.0, nb::unit::voxels}) == 257);
}

TEST_CASE("Spheres are truncated at the volume and mask edges", "[searchlight]") {
  const brain_mask mask(full_mask(5), cube_geometry(5));
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  REQUIRE(table.size() == 125);
  CHECK(table[0].center == ijk{0, 0, 0});
  CHECK(table[0].size() == 4);      // the corner keeps itself and 3 neighbours
  CHECK(table[62].size() == 7);     // (2, 2, 2), the middle
  CHECK(table[0].members[0] == 0);  // nearest first: the centre itself
  CHECK(table.max_members() == 7);

  // min_voxels leaves out the centres with too few members, keeping the order of the rest.
  const auto kept = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0}, {.min_voxels = 6});
  std::size_t expected = 0;
  for (const auto& s : table) expected += s.size() >= 6 ? 1 : 0;
  REQUIRE(kept.size() == expected);
  for (std::size_t c = 0, t = 0; c < table.size(); ++c)
    if (table[c].size() >= 6) {
      CHECK(kept[t].center == table[c].center);
      ++t;
    }
}

TEST_CASE("mm spheres through an anisotropic sheared affine equal brute force over the mask",
          "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  REQUIRE(mask.size() == std::size_t(sl_ref("mask_voxels")(0, 0)));
  for (const double radius : {4.5, 7.0}) {
    CAPTURE(radius);
    const std::string tag = "sphere_mm_" + std::string(radius == 4.5 ? "4.5" : "7");
    const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{radius, nb::unit::mm});
    REQUIRE(table.size() == mask.size());
    const auto& counts = sl_ref(tag + "_counts");
    std::size_t wrong = 0;
    for (std::size_t c = 0; c < table.size(); ++c)
      wrong += table[c].size() == std::size_t(counts(0, Eigen::Index(c))) ? 0 : 1;
    CHECK(wrong == 0);
    for (const std::size_t c : {std::size_t{0}, std::size_t{57}, table.size() - 1}) {
      const auto& want = sl_ref(tag + "_members_" + std::to_string(c));
      std::vector<std::int32_t> got(table[c].members.begin(), table[c].members.end());
      std::sort(got.begin(), got.end());
      REQUIRE(got.size() == std::size_t(want.cols()));
      for (std::size_t v = 0; v < got.size(); ++v) CHECK(got[v] == want(0, Eigen::Index(v)));
    }
  }
}

TEST_CASE("nearest keeps the k in-mask voxels closest in mm", "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const int k = 12;
  const auto table = dnn2brain::make_neighbor_table(mask, nb::nearest{k});
  const auto& g = mask.geometry();
  for (const auto& s : table) {
    REQUIRE(s.size() == std::size_t(k));
    const Eigen::Vector3d centre = g.world(s.center);
    double farthest_member = 0.0;
    std::vector<bool> member(mask.size(), false);
    for (const auto col : s.members) {
      member[std::size_t(col)] = true;
      farthest_member =
          std::max(farthest_member, (g.world(mask.voxels()[std::size_t(col)]) - centre).norm());
    }
    double nearest_other = 1e300;
    for (std::size_t v = 0; v < mask.size(); ++v)
      if (!member[v])
        nearest_other = std::min(nearest_other, (g.world(mask.voxels()[v]) - centre).norm());
    CHECK(farthest_member <= nearest_other + 1e-9);
  }
}

TEST_CASE("Paper blocks reproduce the block list and painting of the paper's code",
          "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  for (const auto& [radius, stride] : {std::pair{1, 2}, std::pair{2, 3}}) {
    CAPTURE(radius, stride);
    const std::string tag = "blocks_r" + std::to_string(radius) + "_s" + std::to_string(stride);
    const auto table = dnn2brain::make_neighbor_table(mask, nb::paper_blocks{radius, stride});
    const auto& corners = sl_ref(tag + "_corners");
    const auto& members = sl_ref(tag + "_members");
    REQUIRE(table.size() == std::size_t(corners.rows()));
    CHECK(table.kind() == dnn2brain::center_kind::block);
    for (std::size_t b = 0; b < table.size(); ++b) {
      const auto r = Eigen::Index(b);
      CHECK(table[b].center == ijk{int(corners(r, 0)), int(corners(r, 1)), int(corners(r, 2))});
      CHECK(table[b].size() == std::size_t(members(r, 0)));
    }
    // blocks2sl: values 1, 2, ... painted with the paper's rule, NaN elsewhere.
    const Eigen::VectorXd values =
        Eigen::VectorXd::LinSpaced(Eigen::Index(table.size()), 1.0, double(table.size()));
    const auto painted = dnn2brain::paint(mask, table, values, dnn2brain::block_painting::paper);
    const auto& want = sl_ref(tag + "_paint");
    REQUIRE(painted.size() == std::size_t(want.cols()));
    std::size_t wrong = 0;
    for (std::size_t v = 0; v < painted.size(); ++v) {
      const double w = want(0, Eigen::Index(v));
      const double p = painted.data()[v];
      wrong += (std::isnan(w) && std::isnan(p)) || w == p ? 0 : 1;
    }
    CHECK(wrong == 0);
    // The default core painting agrees with it on every voxel it paints, all inside the mask.
    const auto core = dnn2brain::paint(mask, table, values);
    std::size_t disagree = 0, outside = 0;
    for (std::size_t v = 0; v < core.size(); ++v) {
      if (std::isnan(core.data()[v])) continue;
      const auto k = std::int32_t(v % 7), j = std::int32_t(v / 7 % 8), i = std::int32_t(v / 56);
      outside += mask.column({i, j, k}) >= 0 ? 0 : 1;
      disagree += core.data()[v] == painted.data()[v] ? 0 : 1;
    }
    CHECK(outside == 0);
    CHECK(disagree == 0);
  }
}

TEST_CASE("The searchlight range and the table visit the same searchlights", "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const dnn2brain::searchlight_range range(mask, nb::sphere{1.5}, {.min_voxels = 4});
  const auto table = dnn2brain::make_neighbor_table(range);
  std::size_t n = 0;
  for (const dnn2brain::searchlight& s : range) {
    REQUIRE(n < table.size());
    CHECK(s.index == n);
    CHECK(s.center == table[n].center);
    CHECK(std::equal(s.members.begin(), s.members.end(), table[n].members.begin(),
                     table[n].members.end()));
    ++n;
  }
  CHECK(n == table.size());
  // The table as a random-access range.
  CHECK(std::distance(table.begin(), table.end()) == std::ptrdiff_t(table.size()));
  CHECK((*(table.begin() + 3)).center == table[3].center);

  // A copied iterator views its own members, not the original's buffer.
  auto it = range.begin();
  const auto copy = it;
  const std::vector<std::int32_t> first(it->members.begin(), it->members.end());
  ++it;
  ++it;
  CHECK(std::equal(copy->members.begin(), copy->members.end(), first.begin(), first.end()));

  // The same table for any thread count.
  dnn2brain::test::thread_count one(1);
  const auto serial = dnn2brain::make_neighbor_table(range);
  CHECK(serial.columns() == table.columns());
  CHECK(serial.offsets() == table.offsets());
}

TEST_CASE("Painting voxel searchlights puts values at their centres", "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  Eigen::MatrixXf values(Eigen::Index(table.size()), 2);
  for (Eigen::Index c = 0; c < values.rows(); ++c) values.row(c) << float(c), -float(c);
  const auto volume = dnn2brain::paint(mask, table, values);
  REQUIRE(volume.dimension() == 4);
  CHECK(volume.shape()[3] == 2);
  std::size_t painted = 0;
  for (std::size_t i = 0; i < 9; ++i)
    for (std::size_t j = 0; j < 8; ++j)
      for (std::size_t k = 0; k < 7; ++k) {
        const std::int32_t col = mask.column({int(i), int(j), int(k)});
        if (col < 0) {
          CHECK(std::isnan(volume(i, j, k, 0)));
        } else {
          CHECK(volume(i, j, k, 0) == float(col));
          CHECK(volume(i, j, k, 1) == -float(col));
          ++painted;
        }
      }
  CHECK(painted == mask.size());
  CHECK_THROWS_WITH(dnn2brain::paint(mask, table, Eigen::VectorXf(3)),
                    Catch::Contains("one row of values per searchlight"));
}

TEST_CASE("Neighbourhoods reject bad parameters", "[searchlight]") {
  const brain_mask mask(full_mask(4), cube_geometry(4));
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::sphere{-1.0}),
                    Catch::Contains("neighborhood::sphere") && Catch::Contains("-1"));
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(mask, nb::sphere{std::nan("")}),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(mask, nb::cube{-1}), dnn2brain::invalid_argument);
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(mask, nb::nearest{0}),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(mask, nb::paper_blocks{1, 0}),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(mask, nb::paper_blocks{1 << 20, 2}),
                  dnn2brain::invalid_argument);
  // Neighbourhoods larger than the volume are cut to it, not enumerated in full.
  const auto everything = dnn2brain::make_neighbor_table(mask, nb::sphere{1e9});
  CHECK(everything.max_members() == mask.size());
  CHECK(dnn2brain::make_neighbor_table(mask, nb::cube{1 << 30}).max_members() == mask.size());
  CHECK(dnn2brain::make_neighbor_table(mask, nb::paper_blocks{1000, 1000}).empty());
  volume_geometry flat = cube_geometry(4);
  flat.affine(2, 2) = 0.0;
  const brain_mask flat_mask(full_mask(4), flat);
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(flat_mask, nb::sphere{2.0, nb::unit::mm}),
                    Catch::Contains("invertible affine"));
  // A table assembled from inconsistent parts.
  CHECK_THROWS_AS(dnn2brain::neighbor_table(cube_geometry(4), 64, dnn2brain::center_kind::voxel, {},
                                            {ijk{0, 0, 0}}, {0, 2}, {0, 64}),
                  dnn2brain::invalid_argument);
  CHECK_THROWS_AS(dnn2brain::neighbor_table(cube_geometry(4), 64, dnn2brain::center_kind::voxel, {},
                                            {ijk{0, 0, 9}}, {0, 1}, {0}),
                  dnn2brain::invalid_argument);
}
