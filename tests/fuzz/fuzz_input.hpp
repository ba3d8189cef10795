#ifndef DNN2BRAIN_TESTS_FUZZ_FUZZ_INPUT_HPP
#define DNN2BRAIN_TESTS_FUZZ_FUZZ_INPUT_HPP

// Shared by the libFuzzer harnesses: every reader takes a path, so each input is written to a file
// in a per-process directory (tmpfs when TMPDIR points there) under the extension the reader
// dispatches on.
//
// The contract a harness checks: a reader either succeeds or throws dnn2brain::io_error. Any other
// exception (std::bad_alloc from a size taken on trust, invalid_argument leaking out of a reader)
// escapes the harness and libFuzzer reports it as a crash, as it does for sanitizer findings,
// allocations beyond -malloc_limit_mb and inputs slower than -timeout.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include <dnn2brain/core/error.hpp>

namespace fuzz {

using bytes = std::span<const std::uint8_t>;

/// A file that holds the current input; the directory is made once per process.
inline std::filesystem::path input_file(const std::string& file_name) {
  static const std::filesystem::path directory = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto dir = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
               ("dnn2brain-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir;
  }();
  return directory / file_name;
}

inline std::filesystem::path write_input(bytes data, const std::string& file_name) {
  const auto path = input_file(file_name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) std::abort();  // the harness, not the reader, failed: stop loudly
  return path;
}

/// Runs a reader: io_error is the expected way to refuse a file; everything else propagates.
template <typename Read>
void expect_success_or_io_error(Read&& read) {
  try {
    read();
  } catch (const dnn2brain::io_error&) {
  }
}

inline std::uint32_t crc32_of(bytes data) {
  return static_cast<std::uint32_t>(crc32_z(0L, data.data(), data.size()));
}

/// `raw` deflated in one call: window_bits -15 gives raw deflate (zip entries), 15 + 16 gzip.
inline std::vector<std::uint8_t> deflate_bytes(bytes raw, int window_bits) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(raw.size())) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());  // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline void append_le(std::vector<std::uint8_t>& out, std::uint64_t value, int width) {
  for (int b = 0; b < width; ++b) out.push_back(static_cast<std::uint8_t>(value >> (8 * b)));
}

}  // namespace fuzz

#endif  // DNN2BRAIN_TESTS_FUZZ_FUZZ_INPUT_HPP
