// Masks, neighborhoods, the searchlight range, the neighbor table and its voxel lookups, against
// the counts known from the peers, brute-force oracles and the paper's block code
// (make_searchlight_reference.py).
#include <dnn2brain/searchlight.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/test_helpers.hpp"

using dnn2brain::brain_mask;
using dnn2brain::ijk;
using dnn2brain::index_t;
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

index_t center_count(const brain_mask& mask, const auto& shape) {
  // Members of the searchlight at the volume's center voxel.
  const auto table = dnn2brain::make_neighbor_table(mask, shape);
  const auto e = std::int32_t(mask.geometry().shape[0] / 2);
  for (const auto& s : table)
    if (s.center == ijk{e, e, e}) return s.size();
  return 0;
}

// Brute force: the in-mask voxels whose offset from `center` has an L1 norm <= radius after
// `map` (identity for voxel units, the affine's 3 × 3 part for mm), as sorted data columns. The
// smallest |norm − radius| seen is reported so that no member hinges on rounding.
std::vector<std::int32_t> diamond_oracle(const brain_mask& mask, const ijk& center,
                                         const Eigen::Matrix3d& map, double radius,
                                         double& closest_to_edge) {
  std::vector<std::int32_t> members;
  for (index_t c = 0; c < mask.size(); ++c) {
    const ijk& v = mask.voxels()[std::size_t(c)];
    const double d =
        (map * Eigen::Vector3d(v.i - center.i, v.j - center.j, v.k - center.k)).lpNorm<1>();
    closest_to_edge = std::min(closest_to_edge, std::abs(d - radius));
    if (d <= radius) members.push_back(std::int32_t(c));
  }
  return members;
}

// Same shape and the same values, NaN where the other has NaN.
template <typename A, typename B>
bool same_volume(const A& a, const B& b) {
  if (a.shape() != b.shape()) return false;
  for (std::size_t v = 0; v < a.size(); ++v) {
    const double x = a.data()[v], y = b.data()[v];
    if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
  }
  return true;
}

// Brute force over the table: the searchlight whose center is v (voxel tables), or whose core box
// [corner + radius, corner + radius + stride) holds v (blocks); −1 if none, −2 if several.
index_t centered_at_oracle(const dnn2brain::neighbor_table& table, const ijk& v) {
  index_t found = -1;
  for (const auto& s : table) {
    bool hit = s.center == v;
    if (table.kind() == dnn2brain::center_kind::block) {
      const int r = table.blocks().radius, stride = table.blocks().stride;
      const auto inside = [&](int x, int corner) {
        return corner + r <= x && x < corner + r + stride;
      };
      hit = inside(v.i, s.center.i) && inside(v.j, s.center.j) && inside(v.k, s.center.k);
    }
    if (hit) found = found == -1 ? s.index : -2;
  }
  return found;
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

TEST_CASE("brain_mask takes NaN and Inf as outside and checks the series' space", "[searchlight]") {
  // A float mask as resampling leaves it: NaN outside the field of view, Inf from a division.
  xt::xtensor<float, 3> m = xt::zeros<float>({3, 4, 2});
  m(0, 0, 0) = std::nanf("");
  m(0, 1, 0) = 1.0f;
  m(1, 1, 1) = std::numeric_limits<float>::infinity();
  m(2, 3, 1) = 0.5f;
  volume_geometry g;
  g.shape = {3, 4, 2};
  g.affine << -2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2, -72, 0, 0, 0, 1;
  const brain_mask mask(m, g);
  REQUIRE(mask.size() == 2);
  CHECK(mask.voxels()[0] == ijk{0, 1, 0});
  CHECK(mask.voxels()[1] == ijk{2, 3, 1});
  CHECK(mask.column({0, 0, 0}) == -1);
  CHECK(mask.has_affine());
  xt::xtensor<double, 3> all_nan = xt::zeros<double>({3, 4, 2});
  all_nan.fill(std::nan(""));
  CHECK_THROWS_WITH(brain_mask(all_nan, g), Catch::Contains("at least one voxel"));

  const xt::xarray<float> series = xt::ones<float>({3, 4, 2, 4});
  // The same space: within brain_mask::affine_tolerance per entry (float32 rounding of a header).
  volume_geometry same = g;
  same.affine(0, 3) += 4e-4;
  CHECK(mask.apply(series, same).cols() == 2);
  // Same shape, another space (shifted by one voxel): named with both affines.
  volume_geometry shifted = g;
  shifted.affine(1, 3) += 2.0;
  CHECK_THROWS_AS(mask.apply(series, shifted), dnn2brain::invalid_argument);
  CHECK_THROWS_WITH(mask.apply(series, shifted),
                    Catch::Contains("brain_mask::apply") && Catch::Contains("differ by 2 mm") &&
                        Catch::Contains("mask affine [[-2, 0, 0, 90], [0, 2, 0, -126]") &&
                        Catch::Contains("series affine [[-2, 0, 0, 90], [0, 2, 0, -124]"));
  // An image (data + geometry), as io::read_nifti_series returns, goes through the same check.
  struct image {
    xt::xarray<float> data;
    volume_geometry geometry;
  };
  CHECK(mask.apply(image{series, g}).cols() == 2);
  CHECK_THROWS_WITH(mask.apply(image{series, shifted}), Catch::Contains("series affine"));
  // Without a series geometry nothing is known about its space: only the shape is checked.
  CHECK(mask.apply(series).cols() == 2);
  volume_geometry other_shape = g;
  other_shape.shape = {3, 4, 3};
  CHECK_THROWS_WITH(mask.apply(series, other_shape), Catch::Contains("mask's shape 3 x 4 x 2"));

  // A mask without an affine (from an xtensor alone) skips the affine check, not the shape.
  const brain_mask bare(m);
  CHECK_FALSE(bare.has_affine());
  CHECK(bare.geometry().affine == Eigen::Matrix4d::Identity());
  CHECK(bare.apply(series, shifted).cols() == 2);
  CHECK_THROWS_WITH(bare.apply(series, other_shape), Catch::Contains("shape"));
  // A mask image marks its affine as known.
  struct mask_image {
    xt::xtensor<float, 3> data;
    volume_geometry geometry;
  };
  const brain_mask from_image(mask_image{m, g});
  CHECK(from_image.has_affine());
  CHECK(from_image.size() == 2);
  CHECK_THROWS_AS(from_image.apply(series, shifted), dnn2brain::invalid_argument);
}

TEST_CASE("Neighbor counts match the peers' well-known counts", "[searchlight]") {
  const brain_mask mask(full_mask(11), cube_geometry(11));
  const index_t inclusive[] = {7, 33, 123, 257};  // nilearn / brainiak, distance <= r
  const index_t strict[] = {1, 27, 93, 251};      // rsatoolbox, distance < r
  const index_t cube[] = {27, 125, 343, 729};
  for (int r = 1; r <= 4; ++r) {
    CAPTURE(r);
    CHECK(center_count(mask, nb::sphere{double(r)}) == inclusive[r - 1]);
    CHECK(center_count(mask, nb::sphere{double(r), nb::unit::voxels, false}) == strict[r - 1]);
    CHECK(center_count(mask, nb::cube{r}) == cube[r - 1]);
  }
  CHECK(center_count(mask, nb::sphere{0.0}) == 1);
  CHECK(center_count(mask, nb::nearest{20}) == 20);
  // mm radii on 2 mm isotropic voxels equal voxel radii of half the size.
  volume_geometry g2 = cube_geometry(11);
  g2.affine.diagonal().head<3>().setConstant(2.0);
  const brain_mask mask2(full_mask(11), g2);
  CHECK(center_count(mask2, nb::sphere{4.0, nb::unit::mm}) == 33);
  CHECK(center_count(mask2, nb::sphere{4.0, nb::unit::voxels}) == 257);
}

TEST_CASE("Spheres are truncated at the volume and mask edges", "[searchlight]") {
  const brain_mask mask(full_mask(5), cube_geometry(5));
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  REQUIRE(table.size() == 125);
  CHECK(table[0].center == ijk{0, 0, 0});
  CHECK(table[0].size() == 4);      // the corner keeps itself and 3 neighbors
  CHECK(table[62].size() == 7);     // (2, 2, 2), the middle
  CHECK(table[0].members[0] == 0);  // nearest first: the center itself
  CHECK(table.max_members() == 7);

  // min_voxels leaves out the centers with too few members, keeping the order of the rest.
  const auto kept = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0}, {.min_voxels = 6});
  index_t expected = 0;
  for (const auto& s : table) expected += s.size() >= 6 ? 1 : 0;
  REQUIRE(kept.size() == expected);
  for (index_t c = 0, t = 0; c < table.size(); ++c)
    if (table[c].size() >= 6) {
      CHECK(kept[t].center == table[c].center);
      ++t;
    }
}

TEST_CASE("mm spheres through an anisotropic sheared affine equal brute force over the mask",
          "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  REQUIRE(mask.size() == index_t(sl_ref("mask_voxels")(0, 0)));
  for (const double radius : {4.5, 7.0}) {
    CAPTURE(radius);
    const std::string tag = "sphere_mm_" + std::string(radius == 4.5 ? "4.5" : "7");
    const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{radius, nb::unit::mm});
    REQUIRE(table.size() == mask.size());
    const auto& counts = sl_ref(tag + "_counts");
    std::size_t wrong = 0;
    for (index_t c = 0; c < table.size(); ++c)
      wrong += table[c].size() == index_t(counts(0, c)) ? 0 : 1;
    CHECK(wrong == 0);
    for (const index_t c : {index_t{0}, index_t{57}, table.size() - 1}) {
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
    REQUIRE(s.size() == k);
    const Eigen::Vector3d center = g.world(s.center);
    double farthest_member = 0.0;
    std::vector<bool> member(std::size_t(mask.size()), false);
    for (const auto col : s.members) {
      member[std::size_t(col)] = true;
      farthest_member =
          std::max(farthest_member, (g.world(mask.voxels()[std::size_t(col)]) - center).norm());
    }
    double nearest_other = 1e300;
    for (std::size_t v = 0; v < member.size(); ++v)
      if (!member[v])
        nearest_other = std::min(nearest_other, (g.world(mask.voxels()[v]) - center).norm());
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
    REQUIRE(table.size() == corners.rows());
    CHECK(table.kind() == dnn2brain::center_kind::block);
    for (index_t b = 0; b < table.size(); ++b) {
      CHECK(table[b].center == ijk{int(corners(b, 0)), int(corners(b, 1)), int(corners(b, 2))});
      CHECK(table[b].size() == index_t(members(b, 0)));
    }
    // blocks2sl: values 1, 2, ... painted with the paper's rule, NaN elsewhere.
    const Eigen::VectorXd values =
        Eigen::VectorXd::LinSpaced(table.size(), 1.0, double(table.size()));
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
  index_t n = 0;
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
  CHECK(std::distance(table.begin(), table.end()) == table.size());
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

TEST_CASE("Painting voxel searchlights puts values at their centers", "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  Eigen::MatrixXf values(2, table.size());  // maps × searchlights
  for (index_t c = 0; c < values.cols(); ++c) values.col(c) << float(c), -float(c);
  const auto volume = dnn2brain::paint(mask, table, values);
  REQUIRE(volume.dimension() == 4);
  CHECK(volume.shape()[3] == 2);
  index_t painted = 0;
  for (std::size_t i = 0; i < 9; ++i)
    for (std::size_t j = 0; j < 8; ++j)
      for (std::size_t k = 0; k < 7; ++k) {
        const index_t col = mask.column({int(i), int(j), int(k)});
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
                    Catch::Contains("one value per searchlight"));
  // The same maps as an xtensor array of shape (maps, searchlights), and one map as a 1-D array.
  xt::xtensor<float, 2> array = xt::zeros<float>({std::size_t(2), std::size_t(table.size())});
  for (index_t c = 0; c < values.cols(); ++c)
    for (index_t d = 0; d < 2; ++d) array(std::size_t(d), std::size_t(c)) = values(d, c);
  // Bit for bit, NaN outside the mask included.
  const auto same = [](const xt::xarray<float>& a, const xt::xarray<float>& b) {
    if (a.shape() != b.shape()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!(a.data()[i] == b.data()[i] || (std::isnan(a.data()[i]) && std::isnan(b.data()[i]))))
        return false;
    return true;
  };
  CHECK(same(dnn2brain::paint(mask, table, array), volume));
  const xt::xtensor<float, 1> first = xt::view(array, 0, xt::all());
  const Eigen::RowVectorXf first_row = values.row(0);
  CHECK(same(dnn2brain::paint(mask, table, first), dnn2brain::paint(mask, table, first_row)));
}

TEST_CASE("Neighborhoods reject bad parameters", "[searchlight]") {
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
  // Neighborhoods larger than the volume are cut to it, not enumerated in full.
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

TEST_CASE("Diamonds hold the voxels within an L1 radius", "[searchlight]") {
  // Octahedral numbers (2r + 1)(2r² + 2r + 3)/3 in the interior.
  const brain_mask mask(full_mask(11), cube_geometry(11));
  CHECK(center_count(mask, nb::diamond{0.0}) == 1);
  CHECK(center_count(mask, nb::diamond{1.0}) == 7);
  CHECK(center_count(mask, nb::diamond{2.0}) == 25);
  CHECK(center_count(mask, nb::diamond{3.0}) == 63);
  CHECK(center_count(mask, nb::diamond{2.5}) == 25);
  // mm radii on 2 mm isotropic voxels equal voxel radii of half the size.
  volume_geometry g2 = cube_geometry(11);
  g2.affine.diagonal().head<3>().setConstant(2.0);
  CHECK(center_count(brain_mask(full_mask(11), g2), nb::diamond{4.0, nb::unit::mm}) == 25);

  // Truncated at the volume's corner like the others: the corner and its 3 neighbors.
  const brain_mask small(full_mask(5), cube_geometry(5));
  const auto corner = dnn2brain::make_neighbor_table(small, nb::diamond{1.0});
  CHECK(corner[0].size() == 4);
  CHECK(corner.max_members() == 7);
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(small, nb::diamond{-1.0}),
                    Catch::Contains("neighborhood::diamond") && Catch::Contains("-1"));
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(small, nb::diamond{std::nan("")}),
                  dnn2brain::invalid_argument);
}

TEST_CASE("Diamonds equal brute force over the mask, in voxels and through a sheared affine",
          "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const Eigen::Matrix3d affine = mask.geometry().affine.topLeftCorner<3, 3>();
  for (const auto& [radius, in] :
       {std::pair{2.0, nb::unit::voxels}, std::pair{3.0, nb::unit::voxels},
        std::pair{5.5, nb::unit::mm}, std::pair{9.25, nb::unit::mm}}) {
    CAPTURE(radius, in == nb::unit::mm);
    const Eigen::Matrix3d map = in == nb::unit::mm ? affine : Eigen::Matrix3d::Identity();
    const auto table = dnn2brain::make_neighbor_table(mask, nb::diamond{radius, in});
    REQUIRE(table.size() == mask.size());
    std::size_t wrong = 0, unordered = 0;
    double closest_to_edge = 1e300;
    for (const auto& s : table) {
      const auto want = diamond_oracle(mask, s.center, map, radius, closest_to_edge);
      std::vector<std::int32_t> got(s.members.begin(), s.members.end());
      CHECK(got.front() == mask.column(s.center));  // the center first
      // Nearest first under the L1 distance.
      double previous = 0.0;
      for (const auto col : got) {
        const ijk& v = mask.voxels()[std::size_t(col)];
        const double d =
            (map * Eigen::Vector3d(v.i - s.center.i, v.j - s.center.j, v.k - s.center.k))
                .lpNorm<1>();
        unordered += d < previous - 1e-9 ? 1 : 0;
        previous = d;
      }
      std::sort(got.begin(), got.end());
      wrong += got == want ? 0 : 1;
    }
    INFO("closest L1 distance to the radius: " << closest_to_edge);
    REQUIRE((in == nb::unit::voxels || closest_to_edge > 1e-6));  // the oracle is unambiguous
    CHECK(wrong == 0);
    CHECK(unordered == 0);
  }
}

TEST_CASE("centered_at finds the searchlight centered at a voxel, as brute force does",
          "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const auto& shape = mask.geometry().shape;
  const auto check_every_voxel = [&](const dnn2brain::neighbor_table& table) {
    std::size_t wrong = 0, found = 0;
    for (int i = 0; i < int(shape[0]); ++i)
      for (int j = 0; j < int(shape[1]); ++j)
        for (int k = 0; k < int(shape[2]); ++k) {
          const index_t want = centered_at_oracle(table, {i, j, k});
          REQUIRE(want != -2);  // never more than one
          wrong += table.centered_at({i, j, k}) == want ? 0 : 1;
          found += want >= 0 ? 1 : 0;
        }
    CHECK(wrong == 0);
    return found;
  };
  SECTION("voxel centers, some left out by min_voxels") {
    const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.5}, {.min_voxels = 8});
    REQUIRE(table.size() < mask.size());
    REQUIRE(table.size() > 0);
    CHECK(check_every_voxel(table) == std::size_t(table.size()));
    // By data column: the searchlight centered at the mask's voxel c.
    std::size_t wrong = 0;
    for (index_t c = 0; c < mask.size(); ++c)
      wrong +=
          table.centered_at(mask, c) == centered_at_oracle(table, mask.voxels()[std::size_t(c)])
              ? 0
              : 1;
    CHECK(wrong == 0);
    // Every center maps back to its own searchlight.
    for (const auto& s : table) REQUIRE(table.centered_at(s.center) == s.index);
  }
  SECTION("paper blocks: the block whose core holds the voxel, as core painting puts it") {
    for (const auto& [radius, stride] : {std::pair{1, 2}, std::pair{2, 3}, std::pair{0, 1}}) {
      CAPTURE(radius, stride);
      const auto table = dnn2brain::make_neighbor_table(mask, nb::paper_blocks{radius, stride});
      check_every_voxel(table);
      const Eigen::RowVectorXd ids =
          Eigen::RowVectorXd::LinSpaced(table.size(), 0.0, double(table.size() - 1));
      const auto painted = dnn2brain::paint(mask, table, ids);
      std::size_t disagree = 0;
      for (const ijk& v : mask.voxels()) {
        const double p = painted(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k));
        const index_t c = table.centered_at(v);
        disagree += (c < 0 && std::isnan(p)) || p == double(c) ? 0 : 1;
      }
      CHECK(disagree == 0);
    }
  }
  SECTION("centers out of C order (a table assembled by hand) are found too") {
    const volume_geometry g = cube_geometry(4);
    const dnn2brain::neighbor_table table(g, 64, dnn2brain::center_kind::voxel, {},
                                          {ijk{3, 0, 1}, ijk{0, 2, 2}, ijk{1, 1, 1}}, {0, 1, 2, 3},
                                          {0, 1, 2});
    CHECK(table.centered_at({0, 2, 2}) == 1);
    CHECK(table.centered_at({1, 1, 1}) == 2);
    CHECK(table.centered_at({3, 0, 1}) == 0);
    CHECK(table.centered_at({2, 2, 2}) == -1);
  }
  SECTION("voxels outside the grid and foreign masks are errors") {
    const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
    CHECK_THROWS_WITH(table.centered_at({9, 0, 0}),
                      Catch::Contains("neighbor_table::centered_at") &&
                          Catch::Contains("inside the 9 x 8 x 7 grid, got (9, 0, 0)"));
    CHECK_THROWS_AS(table.centered_at({0, -1, 0}), dnn2brain::invalid_argument);
    CHECK_THROWS_WITH(table.centered_at(mask, mask.size()),
                      Catch::Contains("data column in [0, " + std::to_string(mask.size())));
    CHECK_THROWS_AS(table.centered_at(mask, -1), dnn2brain::invalid_argument);
    const brain_mask other(full_mask(4), cube_geometry(4));
    CHECK_THROWS_WITH(table.centered_at(other, 0), Catch::Contains("mask of the neighbor table"));
  }
}

TEST_CASE("membership lists the searchlights that contain each voxel, as brute force does",
          "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  for (const bool blocks : {false, true}) {
    CAPTURE(blocks);
    const auto table = blocks ? dnn2brain::make_neighbor_table(mask, nb::paper_blocks{1, 2})
                              : dnn2brain::make_neighbor_table(mask, nb::sphere{5.0, nb::unit::mm},
                                                               {.min_voxels = 10});
    const auto membership = table.membership();
    REQUIRE(membership.size() == mask.size());
    std::vector<std::vector<std::int32_t>> want(std::size_t(mask.size()));
    for (const auto& s : table)
      for (const auto col : s.members) want[std::size_t(col)].push_back(std::int32_t(s.index));
    std::size_t wrong = 0, total = 0;
    for (index_t c = 0; c < mask.size(); ++c) {
      const auto got = membership.containing(c);
      wrong += std::equal(got.begin(), got.end(), want[std::size_t(c)].begin(),
                          want[std::size_t(c)].end())
                   ? 0
                   : 1;
      total += got.size();
    }
    CHECK(wrong == 0);
    CHECK(total == table.columns().size());
    // By voxel: the same lists, and none outside the mask.
    const ijk inside = mask.voxels()[17];
    const auto by_voxel = membership.containing(mask, inside);
    CHECK(std::equal(by_voxel.begin(), by_voxel.end(), want[17].begin(), want[17].end()));
    ijk outside{0, 0, 0};
    while (mask.column(outside) >= 0) ++outside.k;
    CHECK(membership.containing(mask, outside).empty());
  }
  const auto membership = dnn2brain::make_neighbor_table(mask, nb::cube{1}).membership();
  CHECK_THROWS_WITH(membership.containing(mask.size()),
                    Catch::Contains("voxel_membership::containing") &&
                        Catch::Contains("got " + std::to_string(mask.size())));
  CHECK_THROWS_WITH(membership.containing(mask, ijk{0, 8, 0}), Catch::Contains("(0, 8, 0)"));
  const brain_mask other(full_mask(4), cube_geometry(4));
  CHECK_THROWS_AS(membership.containing(other, ijk{0, 0, 0}), dnn2brain::invalid_argument);
}

TEST_CASE("paint takes maps × searchlights, the layout of regression results", "[searchlight]") {
  const brain_mask mask(reference_mask(), reference_geometry());
  const auto table = dnn2brain::make_neighbor_table(mask, nb::sphere{1.0});
  const index_t t = table.size();
  Eigen::MatrixXd maps(3, t);
  for (index_t c = 0; c < t; ++c) maps.col(c) << double(c), 2.0 * double(c), -1.0;
  const auto volume = dnn2brain::paint(mask, table, maps);
  REQUIRE(volume.dimension() == 4);
  REQUIRE(volume.shape()[3] == 3);
  // A row-major copy, a block and an expression give the same volume.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = maps;
  CHECK(same_volume(dnn2brain::paint(mask, table, row_major), volume));
  Eigen::MatrixXd taller = Eigen::MatrixXd::Zero(5, t);
  taller.middleRows(1, 3) = maps;
  CHECK(same_volume(dnn2brain::paint(mask, table, taller.middleRows(1, 3)), volume));
  const Eigen::MatrixXd searchlights_by_maps = maps.transpose();
  CHECK(same_volume(dnn2brain::paint(mask, table, searchlights_by_maps.transpose()), volume));
  // The old searchlights × maps layout is refused with a hint.
  CHECK_THROWS_WITH(
      dnn2brain::paint(mask, table, searchlights_by_maps),
      Catch::Contains("one column per searchlight") && Catch::Contains(".transpose()"));

  // One map: a row vector, a column vector, a row of the matrix, a 1 × T matrix: a 3-D volume.
  const auto one = dnn2brain::paint(mask, table, maps.row(1));
  REQUIRE(one.dimension() == 3);
  for (const ijk& v : mask.voxels())
    CHECK(one(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k)) ==
          volume(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k), 1));
  const Eigen::VectorXd column = maps.row(1).transpose();
  CHECK(same_volume(dnn2brain::paint(mask, table, column), one));
  const Eigen::RowVectorXd row = maps.row(1);
  CHECK(same_volume(dnn2brain::paint(mask, table, row), one));
  const Eigen::MatrixXd single = maps.middleRows(1, 1);
  CHECK(same_volume(dnn2brain::paint(mask, table, single), one));
  CHECK_THROWS_WITH(dnn2brain::paint(mask, table, Eigen::RowVectorXd(t + 1)),
                    Catch::Contains("one value per searchlight (" + std::to_string(t)));
}

TEST_CASE("Neighborhood tables are bounded by a memory budget before they are built",
          "[searchlight]") {
  // An MNI-like grid (91 x 109 x 91 at 2 mm) with a full box mask of 40^3 = 64000 voxels.
  volume_geometry mni;
  mni.shape = {91, 109, 91};
  mni.affine << -2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2, -72, 0, 0, 0, 1;
  xt::xtensor<bool, 3> box = xt::zeros<bool>({91, 109, 91});
  xt::view(box, xt::range(25, 65), xt::range(30, 70), xt::range(25, 65)) = true;
  const brain_mask mask(box, mni);
  REQUIRE(mask.size() == 64000);

  // An absurd sphere: every searchlight would hold the whole mask, 64000^2 members (16 GB) under
  // a 1 GiB budget. It fails at once, before its offsets are even listed, naming the
  // neighborhood, the size and the limit.
  dnn2brain::neighborhood_options small;
  small.memory_budget = std::size_t{1} << 30;
  try {
    (void)dnn2brain::make_neighbor_table(mask, nb::sphere{1e6}, small);
    FAIL("expected dnn2brain::invalid_argument");
  } catch (const dnn2brain::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Contains("make_neighbor_table") &&
                             Catch::Contains("neighborhood::sphere") &&
                             Catch::Contains("4096000000 members") &&
                             Catch::Contains("memory budget of 1073741824 bytes") &&
                             Catch::Contains("memory_budget"));
  }
  // The same in mm, and for the other voxel-centred policies.
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::sphere{1e6, nb::unit::mm}, small),
                    Catch::Contains("neighborhood::sphere"));
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::diamond{1e6}, small),
                    Catch::Contains("neighborhood::diamond"));
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::cube{1 << 30}, small),
                    Catch::Contains("neighborhood::cube"));
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::nearest{1 << 30}, small),
                    Catch::Contains("neighborhood::nearest"));
  // Blocks of edge 61 every voxel: 49000 kept blocks of up to 64000 in-mask members.
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::paper_blocks{30, 1}, small),
                    Catch::Contains("neighborhood::paper_blocks"));
  // A ball that does not fill its box is bounded once its offsets are known: a 30-voxel sphere
  // holds up to 113,000 offsets, cut by the mask to 64000 members per searchlight.
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(mask, nb::sphere{30.0}, small),
                    Catch::Contains("up to 64000 members for each of 64000 searchlights"));
  // The default budget (64 GiB) refuses the absurd sphere on a real MNI brain mask's 230k voxels,
  // (230k^2 members, about 200 GB) at once: here on the whole 91 x 109 x 91 grid.
  const brain_mask whole(xt::xtensor<bool, 3>(xt::ones<bool>({91, 109, 91})), mni);
  CHECK_THROWS_WITH(dnn2brain::make_neighbor_table(whole, nb::sphere{1e6}),
                    Catch::Contains("neighborhood::sphere") &&
                        Catch::Contains("memory budget of 68719476736 bytes"));
  // The offset list is bounded too, for ranges (which hold no table): a budget too small for
  // the box of a 10-voxel sphere's offsets (21^3 candidates).
  dnn2brain::neighborhood_options tiny;
  tiny.memory_budget = 100000;
  CHECK_THROWS_WITH(
      dnn2brain::searchlight_range(mask, nb::sphere{10.0}, tiny),
      Catch::Contains("neighborhood::sphere") && Catch::Contains("box of 21 x 21 x 21 offsets"));

  // Real analyses fit the default: a radius-3 sphere (123 voxels) and the paper's blocks.
  const auto spheres = dnn2brain::make_neighbor_table(mask, nb::sphere{3.0});
  CHECK(spheres.size() == 64000);
  CHECK(spheres.max_members() == 123);
  const auto blocks = dnn2brain::make_neighbor_table(mask, nb::paper_blocks{1, 2});
  CHECK(blocks.max_members() == 64);
  // A budget that just holds the table is enough: 4 bytes a member, 36 a searchlight.
  dnn2brain::neighborhood_options exact;
  exact.memory_budget = std::size_t(64000) * (123 * 4 + 36);
  CHECK(dnn2brain::make_neighbor_table(mask, nb::sphere{3.0}, exact).columns() ==
        spheres.columns());
  exact.memory_budget -= 1;
  CHECK_THROWS_AS(dnn2brain::make_neighbor_table(mask, nb::sphere{3.0}, exact),
                  dnn2brain::invalid_argument);
}

TEST_CASE("Offsets of a huge neighborhood are cut to the volume's extent on each axis",
          "[searchlight]") {
  // A flat 12 x 5 x 2 volume: a sphere of radius 1e6 lists every offset that can join two of
  // its voxels, (2 * 11 + 1) x (2 * 4 + 1) x (2 * 1 + 1), not a cube of the largest extent.
  volume_geometry flat;
  flat.shape = {12, 5, 2};
  const auto offsets = dnn2brain::detail::offsets_of(nb::sphere{1e6}, flat);
  CHECK(offsets.offsets.size() == std::size_t(23 * 9 * 3));
  CHECK(offsets.offsets.front() == ijk{0, 0, 0});
  const auto cube = dnn2brain::detail::offsets_of(nb::cube{1 << 30}, flat);
  CHECK(cube.offsets.size() == std::size_t(23 * 9 * 3));
  // Through an anisotropic affine each axis gets its own reach: 4 mm along i at 2 mm voxels
  // reaches 2 voxels, along j at 0.5 mm it reaches 8 (cut to 4 by the extent).
  flat.affine.diagonal() << 2.0, 0.5, 1.0, 1.0;
  const auto mm = dnn2brain::detail::ball_of(nb::sphere{4.0, nb::unit::mm}, flat);
  CHECK(mm.reach == std::array<int, 3>{2, 4, 1});
  // Every policy keeps its members on a volume larger than the neighborhood.
  const brain_mask full(full_mask(6), cube_geometry(6));
  CHECK(dnn2brain::make_neighbor_table(full, nb::sphere{1e9}).max_members() == full.size());
  CHECK(dnn2brain::make_neighbor_table(full, nb::diamond{1e9}).max_members() == full.size());
}
