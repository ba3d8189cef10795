// Saving and loading neighbour tables: exact round trips, and clear errors for damaged files.
#include <dnn2brain/io/neighbor_table.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

#include <sys/stat.h>

namespace fs = std::filesystem;

namespace {

using dnn2brain::test::read_file;
using dnn2brain::test::scratch_dir;
using dnn2brain::test::write_file;

dnn2brain::brain_mask ball_mask() {
  xt::xtensor<bool, 3> m = xt::zeros<bool>({8, 7, 6});
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 7; ++j)
      for (int k = 0; k < 6; ++k)
        m(i, j, k) = (i - 4) * (i - 4) + (j - 3) * (j - 3) + (k - 3) * (k - 3) <= 9;
  dnn2brain::volume_geometry g;
  g.shape = {8, 7, 6};
  g.affine << 2, 0, 0, -8, 0, 2.5, 0, -7, 0, 0, 3, -9, 0, 0, 0, 1;
  return {m, g};
}

void check_same(const dnn2brain::neighbor_table& a, const dnn2brain::neighbor_table& b) {
  CHECK(a.kind() == b.kind());
  CHECK(a.blocks().radius == b.blocks().radius);
  CHECK(a.blocks().stride == b.blocks().stride);
  CHECK(a.geometry().shape == b.geometry().shape);
  CHECK(a.geometry().affine == b.geometry().affine);
  CHECK(a.mask_voxels() == b.mask_voxels());
  CHECK(a.centers() == b.centers());
  CHECK(a.offsets() == b.offsets());
  CHECK(a.columns() == b.columns());
}

}  // namespace

TEST_CASE("Neighbour tables survive a save and load exactly", "[io][searchlight]") {
  const scratch_dir dir("neighbor-table");
  const auto mask = ball_mask();
  const auto spheres = dnn2brain::make_neighbor_table(
      mask, dnn2brain::neighborhood::sphere{4.0, dnn2brain::neighborhood::unit::mm});
  const auto blocks =
      dnn2brain::make_neighbor_table(mask, dnn2brain::neighborhood::paper_blocks{1, 2});
  dnn2brain::io::save_neighbor_table(dir.path / "spheres.d2bnt", spheres);
  dnn2brain::io::save_neighbor_table(dir.path / "blocks.d2bnt", blocks);
  check_same(dnn2brain::io::load_neighbor_table(dir.path / "spheres.d2bnt"), spheres);
  check_same(dnn2brain::io::load_neighbor_table(dir.path / "blocks.d2bnt"), blocks);
}

TEST_CASE("Damaged neighbour-table files give io_error naming the file", "[io][searchlight]") {
  const scratch_dir dir("neighbor-table-bad");
  const auto table =
      dnn2brain::make_neighbor_table(ball_mask(), dnn2brain::neighborhood::sphere{1.0});
  const fs::path good = dir.path / "good.d2bnt";
  dnn2brain::io::save_neighbor_table(good, table);
  const std::string bytes = read_file(good);

  const auto expect_error = [&](const std::string& name, const std::string& content,
                                const std::string& message) {
    const fs::path file = dir.path / name;
    write_file(file, content);
    try {
      (void)dnn2brain::io::load_neighbor_table(file);
      FAIL("expected dnn2brain::io_error for " << name);
    } catch (const dnn2brain::io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("load_neighbor_table") && Catch::Contains(name) &&
                               Catch::Contains(message));
    }
  };
  expect_error("truncated.d2bnt", bytes.substr(0, bytes.size() / 2), "truncated");
  expect_error("tiny.d2bnt", bytes.substr(0, 10), "magic");
  expect_error("other.d2bnt", "P5 this is not a table" + std::string(300, ' '), "magic");
  std::string flipped = bytes;
  flipped[bytes.size() / 2] = char(flipped[bytes.size() / 2] ^ 0x10);
  expect_error("corrupt.d2bnt", flipped, "checksum");
  std::string version = bytes;
  version[8] = 9;
  expect_error("version.d2bnt", version, "version");
  CHECK_THROWS_WITH(dnn2brain::io::load_neighbor_table(dir.path / "missing.d2bnt"),
                    Catch::Contains("missing.d2bnt") && Catch::Contains("no such file"));
}

TEST_CASE("An empty neighbour table survives a save and load", "[io][searchlight]") {
  const scratch_dir dir("neighbor-table-empty");
  // Blocks larger than the volume: no block core touches the mask, so no searchlight.
  const auto empty =
      dnn2brain::make_neighbor_table(ball_mask(), dnn2brain::neighborhood::paper_blocks{100, 100});
  REQUIRE(empty.empty());
  REQUIRE(empty.columns().empty());
  dnn2brain::io::save_neighbor_table(dir.path / "empty.d2bnt", empty);
  check_same(dnn2brain::io::load_neighbor_table(dir.path / "empty.d2bnt"), empty);
  // A default table (no grid at all) too.
  dnn2brain::io::save_neighbor_table(dir.path / "default.d2bnt", dnn2brain::neighbor_table{});
  check_same(dnn2brain::io::load_neighbor_table(dir.path / "default.d2bnt"),
             dnn2brain::neighbor_table{});
}

TEST_CASE("load_neighbor_table refuses directories and FIFOs without opening them",
          "[io][searchlight]") {
  const scratch_dir dir("neighbor-table-special");
  CHECK_THROWS_WITH(dnn2brain::io::load_neighbor_table(dir.path),
                    Catch::Contains("load_neighbor_table") &&
                        Catch::Contains("not a regular file") && Catch::Contains("directory"));
  // Opening a FIFO for reading blocks until a writer appears: the loader must not even try.
  const fs::path fifo = dir.path / "table.d2bnt";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(dnn2brain::io::load_neighbor_table(fifo),
                    Catch::Contains("table.d2bnt") && Catch::Contains("FIFO"));
}

TEST_CASE("Hostile neighbour-table files are refused before anything large is allocated",
          "[io][searchlight]") {
  const fs::path cases = DNN2BRAIN_IO_CASES_DIR;
  const auto load = [&](const std::string& name) {
    return dnn2brain::io::load_neighbor_table(cases / ("neighbor_table_" + name + ".d2bnt"));
  };
  // The reference: 3 centres in a 4 x 3 x 2 grid of 24 mask voxels, 5 members.
  const auto valid = load("valid");
  CHECK(valid.size() == 3);
  CHECK(valid.mask_voxels() == 24);
  CHECK(valid.offsets() == std::vector<std::int64_t>{0, 2, 3, 5});
  CHECK(valid.columns() == std::vector<std::int32_t>{0, 1, 1, 0, 23});
  const auto empty = load("empty");
  CHECK(empty.empty());
  CHECK(empty.columns().empty());
  CHECK(empty.mask_voxels() == 24);

  const auto expect_error = [&](const std::string& name, const std::string& message) {
    INFO("case " << name);
    try {
      (void)load(name);
      FAIL("expected dnn2brain::io_error");
    } catch (const dnn2brain::io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("dnn2brain::load_neighbor_table") &&
                               Catch::Contains("neighbor_table_" + name) &&
                               Catch::Contains(message));
    }
  };
  expect_error("truncated", "truncated");
  expect_error("huge_counts", "'centers'");
  expect_error("wrapping_counts", "'centers'");
  expect_error("offsets_decreasing", "field 'offsets': expected non-decreasing offsets, got ");
  expect_error("offsets_start", "field 'offsets': expected 0 first");
  expect_error("offsets_end", "the last offset");
  expect_error("member_range", "field 'columns': expected members in [0, 24), got 24 at position ");
  expect_error("member_negative", "got -1");
  expect_error("mask_voxels", "'mask_voxels'");
  expect_error("shape_overflow", "'shape'");
  expect_error("center_outside", "field 'centers': expected centers inside the volume, got (");
  expect_error("checksum", "checksum");
}
