// Helpers shared by the I/O tests (tests/io, tests/data): files as bytes, the real data in
// ../shared/data (skipped visibly when absent), and the values make_io_reference.py wrote.
#ifndef DNN2BRAIN_TESTS_SUPPORT_IO_SUPPORT_HPP
#define DNN2BRAIN_TESTS_SUPPORT_IO_SUPPORT_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ios>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <Eigen/Core>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"
#include "support/scratch_dir.hpp"

namespace dnn2brain::test {

/// The whole content of a file ("" if it cannot be opened).
inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Writes `bytes` as the whole content of `file`, replacing it; returns `file`.
inline std::filesystem::path write_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
  return file;
}

/// Number of entries in a directory (temporaries left behind by a failed write count too).
inline std::size_t count_entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

/// Whether ../shared/data/<folder> exists; if not, prints the "dnn2brain-skip:" line that makes
/// ctest report the test as skipped.
inline bool data_present(const std::string& folder) {
  const std::filesystem::path path = std::filesystem::path(DNN2BRAIN_TEST_DATA_DIR) / folder;
  if (std::filesystem::is_directory(path)) return true;
  WARN("dnn2brain-skip: real data folder " << path << " not found");
  return false;
}

/// A file of the shared real data, by its path relative to ../shared/data.
inline std::filesystem::path data_file(const std::string& relative) {
  return std::filesystem::path(DNN2BRAIN_TEST_DATA_DIR) / relative;
}

/// The shape of an xtensor array as a vector.
template <typename A>
std::vector<std::size_t> shape_of(const A& a) {
  return {a.shape().begin(), a.shape().end()};
}

/// Appends the UTF-8 form of a code point (written here independently of the library's).
inline void append_utf8(std::string& out, std::uint32_t cp) {
  const auto unit = [&](std::uint32_t bits) { out += static_cast<char>(bits); };
  if (cp < 0x80) {
    unit(cp);
  } else if (cp < 0x800) {
    unit(0xC0 | cp >> 6);
    unit(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    unit(0xE0 | cp >> 12);
    unit(0x80 | (cp >> 6 & 0x3F));
    unit(0x80 | (cp & 0x3F));
  } else {
    unit(0xF0 | cp >> 18);
    unit(0x80 | (cp >> 12 & 0x3F));
    unit(0x80 | (cp >> 6 & 0x3F));
    unit(0x80 | (cp & 0x3F));
  }
}

#ifdef DNN2BRAIN_IO_REFERENCE_FILE
/// An array of tests/reference/io_values.txt (make_io_reference.py).
inline const row_matrix& io_reference(const std::string& name) {
  return reference(name, DNN2BRAIN_IO_REFERENCE_FILE);
}

/// Strings stored as rows of code points padded with 0 (as UTF-8), or as rows of bytes.
inline std::vector<std::string> io_reference_strings(const std::string& name, bool bytes = false) {
  const auto& a = io_reference(name);
  std::vector<std::string> out;
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    Eigen::Index n = a.cols();
    while (n > 0 && a(i, n - 1) == 0) --n;
    std::string text;
    for (Eigen::Index j = 0; j < n; ++j) {
      const auto cp = static_cast<std::uint32_t>(a(i, j));
      if (bytes)
        text += static_cast<char>(cp);
      else
        append_utf8(text, cp);
    }
    out.push_back(text);
  }
  return out;
}

/// A shape stored as one row of sizes.
inline std::vector<std::size_t> io_reference_shape(const std::string& name) {
  const auto& a = io_reference(name);
  std::vector<std::size_t> shape;
  for (Eigen::Index k = 0; k < a.size(); ++k)
    shape.push_back(static_cast<std::size_t>(a.data()[k]));
  return shape;
}
#endif

/// Everything written to file descriptor 2 while the object lives (C libraries such as
/// nifti_clib, zlib, HDF5 write there with fprintf(stderr, ...)): fd 2 is pointed at a temporary
/// file and restored by text() or the destructor, also when the code under test throws.
class stderr_capture {
 public:
  stderr_capture() : m_file(std::tmpfile()) {
    REQUIRE(m_file != nullptr);
    std::fflush(stderr);
    m_saved = ::dup(2);
    REQUIRE(m_saved >= 0);
    REQUIRE(::dup2(::fileno(m_file), 2) >= 0);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;
  ~stderr_capture() {
    restore();
    std::fclose(m_file);
  }
  /// Restores fd 2 and returns what was written meanwhile.
  std::string text() {
    restore();
    std::string out;
    std::rewind(m_file);
    for (int c = std::fgetc(m_file); c != EOF; c = std::fgetc(m_file)) out += char(c);
    return out;
  }

 private:
  void restore() {
    if (m_saved < 0) return;
    std::fflush(stderr);
    ::dup2(m_saved, 2);
    ::close(m_saved);
    m_saved = -1;
  }
  std::FILE* m_file;
  int m_saved = -1;
};

}  // namespace dnn2brain::test

#endif  // DNN2BRAIN_TESTS_SUPPORT_IO_SUPPORT_HPP
