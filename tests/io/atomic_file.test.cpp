// Atomic writes: a file appears complete or not at all, and a failed write keeps the old one.
#include <dnn2brain/io/atomic_file.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

namespace fs = std::filesystem;

namespace {

using dnn2brain::test::count_entries;
using dnn2brain::test::read_file;
using dnn2brain::test::scratch_dir;

}  // namespace

TEST_CASE("write_atomically creates the file only when the writer finished", "[io]") {
  const scratch_dir dir("atomic");
  const fs::path target = dir.path / "result.csv";

  dnn2brain::io::write_atomically(target, [](std::ostream& out) { out << "a,b\n1,2\n"; });
  CHECK(read_file(target) == "a,b\n1,2\n");
  CHECK(count_entries(dir.path) == 1);

  // A writer that throws half-way leaves the previous file as it was, and no temporary.
  CHECK_THROWS_AS(dnn2brain::io::write_atomically(target,
                                                  [](std::ostream& out) {
                                                    out << "partial";
                                                    throw std::runtime_error("interrupted");
                                                  }),
                  std::runtime_error);
  CHECK(read_file(target) == "a,b\n1,2\n");
  CHECK(count_entries(dir.path) == 1);

  // The same for a first write: nothing appears at all.
  const fs::path fresh = dir.path / "fresh.bin";
  CHECK_THROWS(dnn2brain::io::write_atomically(
      fresh, [](std::ostream&) { throw std::runtime_error("interrupted"); }));
  CHECK_FALSE(fs::exists(fresh));
  CHECK(count_entries(dir.path) == 1);
}

TEST_CASE("atomic_file keeps the target's name as the temporary's suffix", "[io]") {
  const scratch_dir dir("atomic-suffix");
  dnn2brain::io::atomic_file file(dir.path / "map.nii.gz");
  const std::string name = file.temporary_path().filename().string();
  CHECK(name.size() > std::string("map.nii.gz").size());
  CHECK(name.ends_with("-map.nii.gz"));
  CHECK(file.temporary_path().parent_path() == dir.path);
  // Never used and never committed: nothing is created.
}

TEST_CASE("atomic_file reports a directory that does not exist", "[io]") {
  const scratch_dir dir("atomic-missing");
  const fs::path target = dir.path / "no" / "such" / "dir" / "out.txt";
  try {
    dnn2brain::io::write_atomically(target, [](std::ostream& out) { out << "x"; });
    FAIL("expected dnn2brain::io_error");
  } catch (const dnn2brain::io_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("dnn2brain::atomic_file") && Catch::Contains("out.txt"));
  }
  CHECK_THROWS_AS(dnn2brain::io::atomic_file(dir.path / ""), dnn2brain::io_error);
}
