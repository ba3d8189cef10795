// Atomic writes: a file appears complete or not at all, and a failed write keeps the old one.
#include <dnn2brain/io/atomic_file.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

#include <sys/stat.h>

namespace fs = std::filesystem;

namespace {

using dnn2brain::test::count_entries;
using dnn2brain::test::read_file;
using dnn2brain::test::scratch_dir;
using dnn2brain::test::write_file;

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

TEST_CASE("atomic_file writes through symbolic links and keeps them", "[io]") {
  const scratch_dir dir("atomic-links");
  const fs::path real = dir.path / "data" / "result.csv";
  fs::create_directories(real.parent_path());
  write_file(real, "old\n");

  // A relative link in another directory: the file it names is replaced, the link stays.
  fs::create_directories(dir.path / "links");
  const fs::path link = dir.path / "links" / "latest.csv";
  fs::create_symlink(fs::path("..") / "data" / "result.csv", link);
  {
    dnn2brain::io::atomic_file file(link);
    CHECK(file.target() == link);
    CHECK(file.destination() == link.parent_path() / ".." / "data" / "result.csv");
    // The temporary lies next to the file it replaces, on its file system.
    CHECK(fs::equivalent(file.temporary_path().parent_path(), real.parent_path()));
    CHECK(file.temporary_path().filename().string().ends_with("-result.csv"));
  }
  dnn2brain::io::write_atomically(link, [](std::ostream& out) { out << "new\n"; });
  CHECK(fs::is_symlink(link));
  CHECK(fs::read_symlink(link) == fs::path("..") / "data" / "result.csv");
  CHECK(read_file(real) == "new\n");
  CHECK(count_entries(real.parent_path()) == 1);
  CHECK(count_entries(link.parent_path()) == 1);

  // A chain: absolute link → relative link → file; every link stays.
  const fs::path first = dir.path / "first.csv";
  const fs::path second = dir.path / "second.csv";
  fs::create_symlink(fs::path("links") / "latest.csv", second);
  fs::create_symlink(second, first);
  dnn2brain::io::write_atomically(first, [](std::ostream& out) { out << "chained\n"; });
  CHECK(fs::is_symlink(first));
  CHECK(fs::is_symlink(second));
  CHECK(fs::is_symlink(link));
  CHECK(read_file(real) == "chained\n");

  // A failed write through the link leaves the file as it was and no temporary.
  CHECK_THROWS(dnn2brain::io::write_atomically(
      first, [](std::ostream&) { throw std::runtime_error("interrupted"); }));
  CHECK(read_file(real) == "chained\n");
  CHECK(count_entries(real.parent_path()) == 1);

  // A loop of links is refused.
  fs::create_symlink(dir.path / "loop-b", dir.path / "loop-a");
  fs::create_symlink(dir.path / "loop-a", dir.path / "loop-b");
  CHECK_THROWS_WITH(dnn2brain::io::atomic_file(dir.path / "loop-a"),
                    Catch::Contains("loop-a") && Catch::Contains("symbolic links"));
}

TEST_CASE("atomic_file creates the file a dangling link points to", "[io]") {
  const scratch_dir dir("atomic-dangling");
  const fs::path link = dir.path / "out.bin";
  fs::create_symlink("made-later.bin", link);
  dnn2brain::io::write_atomically(link, [](std::ostream& out) { out << "x"; });
  CHECK(fs::is_symlink(link));
  CHECK(read_file(dir.path / "made-later.bin") == "x");
  CHECK(count_entries(dir.path) == 2);
  // A link into a directory that does not exist fails on writing, naming the path.
  const fs::path nowhere = dir.path / "nowhere.bin";
  fs::create_symlink(dir.path / "no" / "dir" / "file.bin", nowhere);
  CHECK_THROWS_AS(dnn2brain::io::write_atomically(nowhere, [](std::ostream& out) { out << "x"; }),
                  dnn2brain::io_error);
  CHECK(fs::is_symlink(nowhere));
}

TEST_CASE("atomic_file refuses to replace anything but a regular file", "[io]") {
  const scratch_dir dir("atomic-special");
  const auto expect_refused = [](const fs::path& target, const std::string& what) {
    INFO("target " << target);
    try {
      dnn2brain::io::write_atomically(target, [](std::ostream& out) { out << "x"; });
      FAIL("expected dnn2brain::io_error");
    } catch (const dnn2brain::io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("dnn2brain::atomic_file") &&
                               Catch::Contains(target.filename().string()) &&
                               Catch::Contains("expected a regular file") && Catch::Contains(what));
    }
  };
  // A directory (named without a trailing separator).
  fs::create_directory(dir.path / "results");
  expect_refused(dir.path / "results", "a directory");
  CHECK(fs::is_directory(dir.path / "results"));
  // A FIFO: refused before anything is opened, so nothing blocks.
  const fs::path fifo = dir.path / "pipe.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  expect_refused(fifo, "FIFO");
  CHECK(fs::is_fifo(fifo));
  // A link to a FIFO names both.
  fs::create_symlink(fifo, dir.path / "to-pipe.csv");
  expect_refused(dir.path / "to-pipe.csv", "pipe.csv");
  // A character device, without root: /dev/null is refused, not replaced (nor written through).
  expect_refused("/dev/null", "a character device");
  CHECK(fs::is_character_file("/dev/null"));
  // A link to a directory.
  fs::create_directory_symlink(dir.path / "results", dir.path / "to-results");
  expect_refused(dir.path / "to-results", "a directory");
  // Nothing else was left behind.
  CHECK(count_entries(dir.path) == 4);
}

TEST_CASE("atomic_file keeps the permission bits of the file it replaces", "[io]") {
  const scratch_dir dir("atomic-mode");
  const fs::path target = dir.path / "shared.csv";
  write_file(target, "old");
  const auto mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read;
  fs::permissions(target, mode, fs::perm_options::replace);
  dnn2brain::io::write_atomically(target, [](std::ostream& out) { out << "new"; });
  CHECK(read_file(target) == "new");
  CHECK(fs::status(target).permissions() == mode);
  // Through a link, the file's mode is kept, not the link's.
  const fs::path link = dir.path / "link.csv";
  fs::create_symlink("shared.csv", link);
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  dnn2brain::io::write_atomically(link, [](std::ostream& out) { out << "newer"; });
  CHECK(read_file(target) == "newer");
  CHECK(fs::status(target).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  // A new file gets the umask's default: the same as a file the test creates directly.
  const fs::path fresh = dir.path / "fresh.csv";
  dnn2brain::io::write_atomically(fresh, [](std::ostream& out) { out << "x"; });
  write_file(dir.path / "plain.csv", "x");
  CHECK(fs::status(fresh).permissions() == fs::status(dir.path / "plain.csv").permissions());
}
