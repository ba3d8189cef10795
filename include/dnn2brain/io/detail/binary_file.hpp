#ifndef DNN2BRAIN_IO_DETAIL_BINARY_FILE_HPP
#define DNN2BRAIN_IO_DETAIL_BINARY_FILE_HPP
// IWYU pragma: private

// What the .npy and zip code share: error messages that name the function and the file,
// little-endian fields, and checked reads at an offset.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <dnn2brain/core/error.hpp>

namespace dnn2brain::io::detail {

/// Deflate's largest expansion: a 2-bit code per 258-byte match, 1032 output bytes per input
/// byte. Compressed data of N bytes never inflates to more than 1032·N bytes, so a stored size
/// claiming more is forged or corrupt, and refusing it up front avoids allocating what it asks.
inline constexpr std::uint64_t deflate_max_ratio = 1032;

/// Where bytes come from, so that every error names the function and the file
/// ("dnn2brain::read_npy: '/x/y.npy': header field 'descr' ...").
struct file_origin {
  const char* function;
  std::string label;  // "'/x/y.npy'" or "'/x/y.npz' entry 'rdm.npy'"

  /// Throws io_error with the parts of the problem joined (as detail::concat does).
  template <typename... Parts>
  [[noreturn]] DNN2BRAIN_COLD void fail(const Parts&... parts) const {
    dnn2brain::detail::throw_io_error(function, dnn2brain::detail::concat(label, ": ", parts...));
  }
};

inline std::string quoted(const std::filesystem::path& path) {
  std::string out = "'";
  out += path.string();
  out += '\'';
  return out;
}

/// Up to `limit` bytes of untrusted text for a message, non-printable bytes as \xNN.
inline std::string printable(std::string_view text, std::size_t limit = 48) {
  constexpr const char* hex = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  if (text.size() > limit) out += "...";
  return out + "'";
}

inline std::uint64_t load_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = v << 8 | p[k];
  return v;
}

inline void store_le(std::string& out, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out += static_cast<char>((v >> (8 * k)) & 0xffU);
}

/// What kind of file `type` is, for messages: "a directory", "a FIFO", "a character device", ...
[[nodiscard]] inline const char* file_type_name(std::filesystem::file_type type) noexcept {
  using std::filesystem::file_type;
  switch (type) {
    case file_type::regular:
      return "a regular file";
    case file_type::directory:
      return "a directory";
    case file_type::symlink:
      return "a symbolic link";
    case file_type::fifo:
      return "a FIFO (named pipe)";
    case file_type::socket:
      return "a socket";
    case file_type::character:
      return "a character device";
    case file_type::block:
      return "a block device";
    case file_type::not_found:
      return "no such file";
    default:
      return "a file of unknown type";
  }
}

/// The size of a regular file (symbolic links followed). Only the file's status is examined, so
/// a FIFO or a device is refused without being opened (opening a FIFO would block).
/// \throws io_error if `path` is missing or not a regular file (naming what it is).
[[nodiscard]] inline std::uint64_t regular_file_size(const std::filesystem::path& path,
                                                     const file_origin& origin) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) origin.fail("no such file");
  if (error) origin.fail("cannot examine the file: ", error.message());
  if (status.type() != std::filesystem::file_type::regular)
    origin.fail("not a regular file (", file_type_name(status.type()), ")");
  const std::uint64_t size = std::filesystem::file_size(path, error);
  if (error) origin.fail("cannot determine the file size: ", error.message());
  return size;
}

[[nodiscard]] inline std::ifstream open_for_reading(const std::filesystem::path& path,
                                                    const file_origin& origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) origin.fail("cannot open the file for reading");
  return in;
}

/// Reads exactly `count` bytes at `offset`; a short read (the file shrank) is an io_error.
inline void read_at(std::ifstream& in, std::uint64_t offset, void* destination, std::size_t count,
                    const file_origin& origin) {
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(static_cast<char*>(destination), static_cast<std::streamsize>(count));
  if (!in)
    origin.fail("reading ", count, " bytes at offset ", offset,
                " failed (file shrank or I/O error)");
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_BINARY_FILE_HPP
