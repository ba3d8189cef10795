// Atomic writes: a file appears complete or not at all, and a failed write keeps the old one.
#include <dnn2brain/io/atomic_file.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

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
  // The writer's own exception comes through, not an io_error in its place.
  CHECK_THROWS_MATCHES(dnn2brain::io::write_atomically(
                           fresh, [](std::ostream&) { throw std::runtime_error("interrupted"); }),
                       std::runtime_error, Catch::Matchers::Message("interrupted"));
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
  CHECK(name.starts_with(".dnn2brain-"));
}

TEST_CASE("atomic_file leaves nothing behind when never committed", "[io]") {
  const scratch_dir dir("atomic-unused");
  {
    // The temporary exists from construction on (so C libraries can open it by name) ...
    const dnn2brain::io::atomic_file file(dir.path / "map.nii.gz");
    CHECK(fs::is_regular_file(file.temporary_path()));
    CHECK(fs::file_size(file.temporary_path()) == 0);
  }
  // ... and goes with the object.
  CHECK(count_entries(dir.path) == 0);
}

TEST_CASE("atomic_file writes file names of any valid length", "[io]") {
  const scratch_dir dir("atomic-long");
  // 250 bytes, near the 255-byte limit of a file name: the temporary's prefix cannot simply be
  // added, so the name's beginning gives way and its extension stays.
  const std::string name = std::string(246, 'n') + ".csv";
  REQUIRE(name.size() == 250);
  const fs::path target = dir.path / name;
  {
    dnn2brain::io::atomic_file file(target);
    const std::string temporary = file.temporary_path().filename().string();
    CHECK(temporary.size() <= 255);
    CHECK(temporary.starts_with(".dnn2brain-"));
    CHECK(temporary.ends_with("nnnn.csv"));
    file.stream() << "long";
    file.commit();
  }
  CHECK(read_file(target) == "long");
  CHECK(count_entries(dir.path) == 1);
  // A name with multi-byte characters is cut between characters, not inside one.
  std::string wide;
  while (wide.size() < 240) wide += "\xc3\xa9";  // é
  wide += ".nii";
  dnn2brain::io::write_atomically(dir.path / wide, [](std::ostream& out) { out << "w"; });
  CHECK(read_file(dir.path / wide) == "w");
  {
    const dnn2brain::io::atomic_file file(dir.path / wide);
    const std::string temporary = file.temporary_path().filename().string();
    const std::size_t cut = std::string(".dnn2brain-123456789abc-").size();
    REQUIRE(temporary.size() > cut);
    CHECK(temporary.size() <= 255);
    CHECK(temporary.substr(cut, 2) == "\xc3\xa9");
  }
  // Too long even for the system: the message says why.
  CHECK_THROWS_WITH(dnn2brain::io::atomic_file(dir.path / (std::string(300, 'x') + "/out.csv")),
                    Catch::Contains("dnn2brain::atomic_file") && Catch::Contains("too long"));
}

TEST_CASE("atomic_file reports a directory that does not exist", "[io]") {
  const scratch_dir dir("atomic-missing");
  const fs::path target = dir.path / "no" / "such" / "dir" / "out.txt";
  try {
    dnn2brain::io::write_atomically(target, [](std::ostream& out) { out << "x"; });
    FAIL("expected dnn2brain::io_error");
  } catch (const dnn2brain::io_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("dnn2brain::atomic_file") && Catch::Contains("out.txt") &&
                             Catch::Contains("No such file or directory"));
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
  CHECK_THROWS_MATCHES(dnn2brain::io::write_atomically(
                           first, [](std::ostream&) { throw std::runtime_error("interrupted"); }),
                       std::runtime_error, Catch::Matchers::Message("interrupted"));
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

TEST_CASE("atomic_file writes the content under mode 0600, then gives the final mode", "[io]") {
  const scratch_dir dir("atomic-private");
  const auto private_mode = fs::perms::owner_read | fs::perms::owner_write;
  // Replacing a file of mode 0640: 0600 while written, 0640 once committed.
  const fs::path target = dir.path / "secret.csv";
  write_file(target, "old");
  const auto mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read;
  fs::permissions(target, mode, fs::perm_options::replace);
  {
    dnn2brain::io::atomic_file file(target);
    CHECK(fs::status(file.temporary_path()).permissions() == private_mode);
    file.stream() << "new";
    file.stream().flush();
    CHECK(fs::status(file.temporary_path()).permissions() == private_mode);
    file.commit();
  }
  CHECK(read_file(target) == "new");
  CHECK(fs::status(target).permissions() == mode);

  // A new file: 0600 while written, then 0666 without the umask's bits (set here to 027).
  const ::mode_t saved = ::umask(027);
  const fs::path fresh = dir.path / "fresh.csv";
  {
    dnn2brain::io::atomic_file file(fresh);
    file.stream() << "x";
    file.stream().flush();
    CHECK(fs::status(file.temporary_path()).permissions() == private_mode);
    file.commit();
  }
  write_file(dir.path / "plain.csv", "x");
  ::umask(saved);
  CHECK(fs::status(fresh).permissions() == fs::status(dir.path / "plain.csv").permissions());
  CHECK(fs::status(fresh).permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));

  // The same for a writer that opens the temporary by name (gzopen, fopen): an existing file
  // keeps its mode when reopened for writing.
  {
    dnn2brain::io::atomic_file file(dir.path / "by-name.bin");
    write_file(file.temporary_path(), "by name");
    CHECK(fs::status(file.temporary_path()).permissions() == private_mode);
    file.commit();
  }
  CHECK(read_file(dir.path / "by-name.bin") == "by name");
}

TEST_CASE("atomic_file refuses a target that became a FIFO before commit", "[io]") {
  const scratch_dir dir("atomic-fifo-later");
  const fs::path target = dir.path / "out.csv";
  write_file(target, "old");
  dnn2brain::io::atomic_file file(target);
  file.stream() << "new";
  // Someone replaces the file by a FIFO meanwhile: commit neither blocks nor replaces it.
  fs::remove(target);
  REQUIRE(::mkfifo(target.c_str(), 0600) == 0);
  CHECK_THROWS_MATCHES(file.commit(), dnn2brain::io_error,
                       Catch::Matchers::Predicate<std::exception>([](const std::exception& e) {
                         const std::string what = e.what();
                         return what.find("out.csv") != std::string::npos &&
                                what.find("FIFO") != std::string::npos;
                       }));
  CHECK(fs::is_fifo(target));
  // The temporary is still there until the object goes; then only the FIFO is left.
  CHECK(count_entries(dir.path) == 2);
}

TEST_CASE("atomic_file leaves no temporary after a refused commit", "[io]") {
  const scratch_dir dir("atomic-fifo-cleanup");
  const fs::path target = dir.path / "out.csv";
  {
    dnn2brain::io::atomic_file file(target);
    file.stream() << "new";
    REQUIRE(::mkfifo(target.c_str(), 0600) == 0);
    CHECK_THROWS_AS(file.commit(), dnn2brain::io_error);
  }
  CHECK(fs::is_fifo(target));
  CHECK(count_entries(dir.path) == 1);
}

TEST_CASE("atomic_file reports why the destination cannot be examined at commit", "[io]") {
  const scratch_dir dir("atomic-unexaminable");
  fs::create_directory(dir.path / "sub");
  const fs::path target = dir.path / "sub" / "out.csv";
  {
    dnn2brain::io::atomic_file file(target);
    file.stream() << "new";
    // The directory moves away and a loop of links takes its name: examining the destination
    // fails (ELOOP) rather than finding a file of some type.
    fs::rename(dir.path / "sub", dir.path / "moved");
    fs::create_directory_symlink("sub", dir.path / "sub");
    try {
      file.commit();
      FAIL("expected dnn2brain::io_error");
    } catch (const dnn2brain::io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("dnn2brain::atomic_file") &&
                               Catch::Contains("cannot examine") && Catch::Contains("out.csv") &&
                               Catch::Contains("levels of symbolic links") &&
                               !Catch::Contains("unknown type"));
    }
  }
  CHECK_FALSE(fs::exists(dir.path / "moved" / "out.csv"));
}

TEST_CASE("atomic_file follows links in sticky, world-writable directories only when safe",
          "[io]") {
  if (::geteuid() != 0) {
    // Giving a link another owner (lchown) needs root.
    WARN(
        "dnn2brain-skip: this test needs root (to lchown a symbolic link to another user); "
        "skipped as uid "
        << ::geteuid());
    return;
  }
  constexpr ::uid_t nobody = 65534;
  const scratch_dir dir("atomic-sticky");
  // A /tmp of our own: sticky and world-writable, owned by root.
  const fs::path shared = dir.path / "tmp";
  fs::create_directory(shared);
  REQUIRE(::chmod(shared.c_str(), 01777) == 0);
  const fs::path victim = dir.path / "bashrc";
  write_file(victim, "mine");

  // Another user's link to our file: refused, naming the link, its owner and the directory;
  // the file it points to is untouched.
  const fs::path planted = shared / "out.npy";
  fs::create_symlink(victim, planted);
  REQUIRE(::lchown(planted.c_str(), nobody, nobody) == 0);
  const auto refused = [&](const fs::path& target) {
    INFO("target " << target);
    try {
      dnn2brain::io::write_atomically(target, [](std::ostream& out) { out << "evil"; });
      FAIL("expected dnn2brain::io_error");
    } catch (const dnn2brain::io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("dnn2brain::atomic_file") &&
                               Catch::Contains("'" + planted.string() + "'") &&
                               Catch::Contains("uid 65534") &&
                               Catch::Contains("'" + shared.string() + "'") &&
                               Catch::Contains("sticky") && Catch::Contains("protected_symlinks"));
    }
  };
  refused(planted);
  CHECK(read_file(victim) == "mine");
  CHECK(fs::is_symlink(planted));
  // A link of ours elsewhere that leads to it: each link of a chain is checked.
  const fs::path mine = dir.path / "latest.npy";
  fs::create_symlink(planted, mine);
  refused(mine);
  CHECK(read_file(victim) == "mine");
  // A dangling one is refused too (it would create the file it names).
  fs::remove(planted);
  fs::create_symlink(dir.path / "created.npy", planted);
  REQUIRE(::lchown(planted.c_str(), nobody, nobody) == 0);
  refused(planted);
  CHECK_FALSE(fs::exists(dir.path / "created.npy"));
  CHECK(count_entries(shared) == 1);

  // Our own link there is followed.
  const fs::path own = shared / "own.npy";
  fs::create_symlink(victim, own);
  dnn2brain::io::write_atomically(own, [](std::ostream& out) { out << "new"; });
  CHECK(read_file(victim) == "new");
  CHECK(fs::is_symlink(own));

  // So is a link owned by the directory's owner.
  REQUIRE(::chown(shared.c_str(), nobody, nobody) == 0);
  REQUIRE(::chmod(shared.c_str(), 01777) == 0);
  const fs::path owners = shared / "owners.npy";
  fs::create_symlink(victim, owners);
  REQUIRE(::lchown(owners.c_str(), nobody, nobody) == 0);
  dnn2brain::io::write_atomically(owners, [](std::ostream& out) { out << "newer"; });
  CHECK(read_file(victim) == "newer");

  // Without the sticky bit (or without write access for all) the rule does not apply.
  REQUIRE(::chmod(shared.c_str(), 0777) == 0);
  dnn2brain::io::write_atomically(planted, [](std::ostream& out) { out << "plain"; });
  CHECK(read_file(dir.path / "created.npy") == "plain");
}
