#ifndef DNN2BRAIN_IO_DETAIL_ZIP_HPP
#define DNN2BRAIN_IO_DETAIL_ZIP_HPP
// IWYU pragma: private

// Zip archives as .npz files use them. Reading goes through the end-of-central-directory record
// (and its zip64 form) and the central directory, whose sizes and CRCs are trusted over the local
// headers; entries may be stored or deflated. Writing appends entries one at a time to an
// atomic_file and writes the central directory at the end, with zip64 records where needed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ios>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>

namespace dnn2brain::io::detail {

inline constexpr std::uint32_t zip_local_signature = 0x04034b50;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::uint32_t zip_saturated = 0xFFFFFFFF;
// zlib counts in uInt; larger buffers go through in pieces.
inline constexpr std::size_t zlib_chunk = std::size_t{1} << 30;

[[nodiscard]] inline std::uint32_t crc32_of(const unsigned char* data, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t start = 0; start < size; start += zlib_chunk)
    crc = crc32(crc, data + start, static_cast<uInt>(std::min(zlib_chunk, size - start)));
  return static_cast<std::uint32_t>(crc);
}

struct zip_entry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed = 0;
  std::uint64_t uncompressed = 0;
  std::uint64_t local_offset = 0;
};

/// Raw deflate (no zlib header), as zip method 8 stores it.
inline void inflate_raw(const unsigned char* in, std::size_t in_size, unsigned char* out,
                        std::size_t out_size, const file_origin& origin) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) origin.fail("zlib: inflateInit2 failed");
  struct end_guard {
    z_stream* z;
    ~end_guard() { inflateEnd(z); }
  } guard{&z};
  std::size_t in_fed = 0, out_given = 0;
  unsigned char spill = 0;  // catches output beyond the declared size
  bool spilled = false;
  for (;;) {
    if (z.avail_in == 0 && in_fed < in_size) {
      const std::size_t n = std::min(zlib_chunk, in_size - in_fed);
      z.next_in = const_cast<Bytef*>(in + in_fed);  // zlib's API is not const-correct
      z.avail_in = static_cast<uInt>(n);
      in_fed += n;
    }
    if (z.avail_out == 0) {
      if (out_given < out_size) {
        const std::size_t n = std::min(zlib_chunk, out_size - out_given);
        z.next_out = out + out_given;
        z.avail_out = static_cast<uInt>(n);
        out_given += n;
      } else {  // a byte written here fails below
        z.next_out = &spill;
        z.avail_out = 1;
        spilled = true;
      }
    }
    const int status = inflate(&z, Z_NO_FLUSH);
    if (spilled && z.avail_out == 0)
      origin.fail("data: inflates to more than the ", out_size,
                  " bytes the central directory declares (corrupt archive)");
    if (status == Z_STREAM_END) break;
    if (status == Z_BUF_ERROR && z.avail_in == 0 && in_fed == in_size)
      origin.fail("data: the deflate stream ends early (truncated or corrupt archive)");
    if (status != Z_OK && status != Z_BUF_ERROR)
      origin.fail("data: corrupt deflate stream (zlib: ", z.msg != nullptr ? z.msg : "error", ")");
  }
  const std::size_t produced = (spilled ? out_size : out_given - z.avail_out);
  if (produced != out_size)
    origin.fail("data: inflates to ", produced, " bytes, the central directory declares ",
                out_size);
}

/// Raw deflate of a buffer (zlib's default level).
[[nodiscard]] inline std::string deflate_raw(std::string_view in, const char* function) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    dnn2brain::detail::throw_io_error(function, "zlib: deflateInit2 failed");
  struct end_guard {
    z_stream* z;
    ~end_guard() { deflateEnd(z); }
  } guard{&z};
  std::string out;
  unsigned char buffer[1 << 16];
  std::size_t fed = 0;
  int flush = Z_NO_FLUSH;
  do {
    const std::size_t n = std::min(zlib_chunk, in.size() - fed);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
    z.avail_in = static_cast<uInt>(n);
    fed += n;
    flush = fed == in.size() ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = buffer;
      z.avail_out = sizeof(buffer);
      deflate(&z, flush);  // cannot fail with a valid stream and non-zero avail_out
      out.append(reinterpret_cast<const char*>(buffer), sizeof(buffer) - z.avail_out);
    } while (z.avail_out == 0);
  } while (flush != Z_FINISH);
  return out;
}

/// The central directory of a zip archive, read once; entries are extracted on demand. Const
/// member functions open the file anew, so one reader may serve several threads.
class zip_reader {
 public:
  /// Reads and checks the central directory; errors name `function` and the file.
  /// \throws io_error if `path` is not a readable zip archive.
  zip_reader(std::filesystem::path path, const char* function) : m_path(std::move(path)) {
    read_directory(file_origin{function, quoted(m_path)});
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
  /// The entries in archive order.
  [[nodiscard]] const std::vector<zip_entry>& entries() const noexcept { return m_entries; }

  /// The entry called exactly `name`, or nullptr.
  [[nodiscard]] const zip_entry* find(std::string_view name) const noexcept {
    for (const auto& e : m_entries)
      if (e.name == name) return &e;
    return nullptr;
  }

  /// The uncompressed bytes of an entry, with its local header, size and CRC-32 checked.
  [[nodiscard]] std::vector<unsigned char> extract(const zip_entry& e,
                                                   const file_origin& origin) const {
    std::ifstream in = open_for_reading(m_path, origin);
    unsigned char local[30];
    if (m_data_end - e.local_offset < 30)
      origin.fail("local header: runs into the central directory (corrupt archive)");
    read_at(in, e.local_offset, local, sizeof(local), origin);
    if (load_le(local, 4) != zip_local_signature)
      origin.fail("local header: bad signature at offset ", e.local_offset, " (corrupt archive)");
    const std::uint64_t name_len = load_le(local + 26, 2), extra_len = load_le(local + 28, 2);
    const std::uint64_t data = e.local_offset + 30 + name_len + extra_len;
    if (data > m_data_end || e.compressed > m_data_end - data)
      origin.fail("data: ", e.compressed, " bytes at offset ", data,
                  " run into the central directory (truncated or corrupt archive)");
    std::string local_name(static_cast<std::size_t>(name_len), '\0');
    read_at(in, e.local_offset + 30, local_name.data(), local_name.size(), origin);
    if (local_name != e.name)
      origin.fail("local header: names the entry ", printable(local_name), " (corrupt archive)");

    std::vector<unsigned char> out(static_cast<std::size_t>(e.uncompressed));
    if (e.method == 0) {
      read_at(in, data, out.data(), out.size(), origin);
    } else {
      std::vector<unsigned char> packed(static_cast<std::size_t>(e.compressed));
      read_at(in, data, packed.data(), packed.size(), origin);
      inflate_raw(packed.data(), packed.size(), out.data(), out.size(), origin);
    }
    const std::uint32_t crc = crc32_of(out.data(), out.size());
    if (crc != e.crc)
      origin.fail("data: CRC-32 is 0x", std::hex, crc, ", the central directory says 0x", e.crc,
                  " (corrupt archive)");
    return out;
  }

 private:
  void read_directory(const file_origin& origin) {
    const std::uint64_t size = regular_file_size(m_path, origin);
    std::ifstream in = open_for_reading(m_path, origin);

    // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
    const auto tail_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, 22 + 65535 + 20));
    std::vector<unsigned char> tail(tail_size);
    read_at(in, size - tail_size, tail.data(), tail_size, origin);
    std::size_t end = tail_size;  // position of the record within tail
    for (std::size_t p = tail_size >= 22 ? tail_size - 22 + 1 : 0; p-- > 0;)
      if (load_le(&tail[p], 4) == zip_end_signature &&
          load_le(&tail[p + 20], 2) == tail_size - p - 22) {
        end = p;
        break;
      }
    if (end == tail_size)
      origin.fail("end of central directory: record not found (not a zip file, or truncated)");
    const unsigned char* eocd = &tail[end];
    const std::uint64_t end_offset = size - tail_size + end;
    if (load_le(eocd + 4, 2) != 0 || load_le(eocd + 6, 2) != 0)
      origin.fail("end of central directory: multi-disk archives are not supported");
    std::uint64_t count = load_le(eocd + 10, 2);
    std::uint64_t directory_size = load_le(eocd + 12, 4);
    std::uint64_t directory_offset = load_le(eocd + 16, 4);
    std::uint64_t directory_end = end_offset;

    if (end >= 20 && load_le(&tail[end - 20], 4) == zip64_locator_signature) {
      const unsigned char* locator = &tail[end - 20];
      const std::uint64_t record = load_le(locator + 8, 8);
      if (record > end_offset - 20 || end_offset - 20 - record < 56)
        origin.fail("zip64 end of central directory: offset ", record, " lies outside the archive");
      unsigned char z64[56];
      read_at(in, record, z64, sizeof(z64), origin);
      if (load_le(z64, 4) != zip64_end_signature)
        origin.fail("zip64 end of central directory: bad signature (corrupt archive)");
      count = load_le(z64 + 32, 8);
      directory_size = load_le(z64 + 40, 8);
      directory_offset = load_le(z64 + 48, 8);
      directory_end = record;
    }
    if (directory_offset > directory_end || directory_size > directory_end - directory_offset)
      origin.fail("central directory: offset ", directory_offset, " and size ", directory_size,
                  " run past its end at ", directory_end, " (truncated or corrupt archive)");
    if (count > directory_size / 46)
      origin.fail("central directory: ", count, " entries cannot fit in ", directory_size,
                  " bytes");
    std::vector<unsigned char> directory(static_cast<std::size_t>(directory_size));
    read_at(in, directory_offset, directory.data(), directory.size(), origin);

    std::size_t p = 0;
    for (std::uint64_t k = 0; k < count; ++k) {
      const auto fail = [&](const auto&... problem) {
        origin.fail("central directory entry ", k, ": ", problem...);
      };
      if (directory.size() - p < 46 || load_le(&directory[p], 4) != zip_central_signature)
        fail("bad signature or truncated (corrupt archive)");
      const unsigned char* c = &directory[p];
      zip_entry e;
      e.flags = static_cast<std::uint16_t>(load_le(c + 8, 2));
      e.method = static_cast<std::uint16_t>(load_le(c + 10, 2));
      e.crc = static_cast<std::uint32_t>(load_le(c + 16, 4));
      e.compressed = load_le(c + 20, 4);
      e.uncompressed = load_le(c + 24, 4);
      const std::size_t name_len = load_le(c + 28, 2), extra_len = load_le(c + 30, 2),
                        comment_len = load_le(c + 32, 2);
      e.local_offset = load_le(c + 42, 4);
      if (directory.size() - p - 46 < name_len + extra_len + comment_len)
        fail("name and extra fields run past the central directory");
      e.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
      // zip64 extended information: 8-byte values for the saturated fields, in this order.
      const unsigned char* extra = c + 46 + name_len;
      for (std::size_t x = 0; x + 4 <= extra_len;) {
        const std::size_t id = load_le(extra + x, 2), len = load_le(extra + x + 2, 2);
        if (x + 4 + len > extra_len) fail("an extra field runs past its end");
        if (id == 1) {
          std::size_t q = x + 4;
          for (std::uint64_t* field : {&e.uncompressed, &e.compressed, &e.local_offset})
            if (*field == zip_saturated) {
              if (q + 8 > x + 4 + len) fail("the zip64 extra field is too short");
              *field = load_le(extra + q, 8);
              q += 8;
            }
        }
        x += 4 + len;
      }
      if (e.flags & 1U) fail("'" + e.name + "' is encrypted");
      if (e.method != 0 && e.method != 8)
        fail("'", e.name, "' uses compression method ", e.method,
             "; expected 0 (stored) or 8 (deflated)");
      if (e.method == 0 && e.compressed != e.uncompressed)
        fail("'", e.name, "' is stored, but its sizes differ (", e.compressed, " and ",
             e.uncompressed, ")");
      if (e.method == 8 && e.uncompressed / deflate_max_ratio > e.compressed + 64)
        fail("'", e.name, "' claims to inflate ", e.compressed, " bytes to ", e.uncompressed,
             ", beyond what deflate can do");
      if (e.local_offset >= directory_offset || e.compressed > directory_offset - e.local_offset)
        fail("'", e.name, "' lies outside the archive's data (offset ", e.local_offset, ", size ",
             e.compressed, ")");
      if (find(e.name) != nullptr) fail("'" + e.name + "' appears twice");
      m_entries.push_back(std::move(e));
      p += 46 + name_len + extra_len + comment_len;
    }
    m_data_end = directory_offset;
  }

  std::filesystem::path m_path;
  std::vector<zip_entry> m_entries;
  std::uint64_t m_data_end = 0;  // where the central directory starts
};

/// Writes a zip archive entry by entry: add() appends a local header and the data to a temporary
/// file, commit() writes the central directory and renames the temporary onto the target.
/// Destroyed without commit(), it leaves no file behind. Memory: one entry at a time.
class zip_writer {
 public:
  /// `zip64` writes zip64 records even where no size or offset needs them (Python's
  /// force_zip64); `function` is named by errors.
  zip_writer(std::filesystem::path path, bool zip64, const char* function)
      : m_file(std::move(path)), m_zip64(zip64), m_function(function) {}

  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return std::any_of(m_entries.begin(), m_entries.end(),
                       [&](const zip_entry& e) { return e.name == name; });
  }
  [[nodiscard]] bool committed() const noexcept { return m_committed; }

  /// Appends `content` as entry `name`, stored or deflated. \throws io_error if writing fails.
  void add(std::string name, std::string_view content, bool deflate) {
    zip_entry e{
        .name = std::move(name),
        .method = static_cast<std::uint16_t>(deflate ? 8 : 0),
        .crc = crc32_of(reinterpret_cast<const unsigned char*>(content.data()), content.size()),
        .uncompressed = content.size(),
        .local_offset = m_offset};
    std::string packed;
    if (deflate) packed = deflate_raw(content, m_function);
    const std::string_view data = deflate ? std::string_view(packed) : content;
    e.compressed = data.size();
    // The local header repeats the sizes (zip64 extra field when they, or an option, need it).
    const bool big = m_zip64 || e.compressed >= zip_saturated || e.uncompressed >= zip_saturated;
    std::string header;
    store_le(header, zip_local_signature, 4);
    store_le(header, version_needed(big || e.local_offset >= zip_saturated), 2);
    store_le(header, 0, 2);  // flags
    store_le(header, e.method, 2);
    store_le(header, 0, 2);
    store_le(header, 0x0021, 2);
    store_le(header, e.crc, 4);
    store_le(header, big ? zip_saturated : e.compressed, 4);
    store_le(header, big ? zip_saturated : e.uncompressed, 4);
    store_le(header, e.name.size(), 2);
    store_le(header, big ? 20 : 0, 2);
    header += e.name;
    if (big) {
      store_le(header, 1, 2);
      store_le(header, 16, 2);
      store_le(header, e.uncompressed, 8);
      store_le(header, e.compressed, 8);
    }
    std::ostream& out = m_file.stream();
    write(out, header);
    write(out, data);
    m_entries.push_back(std::move(e));
  }

  /// Writes the central directory and makes the file appear. \throws io_error if writing fails.
  void commit() {
    if (m_committed) return;
    std::ostream& out = m_file.stream();
    const std::uint64_t directory_offset = m_offset;
    for (const auto& e : m_entries) {
      const bool big_size =
          m_zip64 || e.compressed >= zip_saturated || e.uncompressed >= zip_saturated;
      const bool big_offset = m_zip64 || e.local_offset >= zip_saturated;
      std::string extra;
      if (big_size || big_offset) {
        store_le(extra, 1, 2);
        store_le(extra, (big_size ? 16 : 0) + (big_offset ? 8 : 0), 2);
        if (big_size) {
          store_le(extra, e.uncompressed, 8);
          store_le(extra, e.compressed, 8);
        }
        if (big_offset) store_le(extra, e.local_offset, 8);
      }
      std::string record;
      store_le(record, zip_central_signature, 4);
      store_le(record, (3U << 8) | version_needed(big_size || big_offset), 2);  // made by
      store_le(record, version_needed(big_size || big_offset), 2);
      store_le(record, 0, 2);  // flags
      store_le(record, e.method, 2);
      store_le(record, 0, 2);       // time 00:00
      store_le(record, 0x0021, 2);  // date 1980-01-01: reproducible archives
      store_le(record, e.crc, 4);
      store_le(record, big_size ? zip_saturated : e.compressed, 4);
      store_le(record, big_size ? zip_saturated : e.uncompressed, 4);
      store_le(record, e.name.size(), 2);
      store_le(record, extra.size(), 2);
      store_le(record, 0, 2);               // comment
      store_le(record, 0, 2);               // disk
      store_le(record, 0, 2);               // internal attributes
      store_le(record, 0100644U << 16, 4);  // regular file, rw-r--r--
      store_le(record, big_offset ? zip_saturated : e.local_offset, 4);
      record += e.name;
      record += extra;
      write(out, record);
    }
    const std::uint64_t directory_size = m_offset - directory_offset;
    const bool zip64 = m_zip64 || m_entries.size() >= 0xFFFF || directory_offset >= zip_saturated ||
                       directory_size >= zip_saturated;
    std::string tail;
    if (zip64) {
      const std::uint64_t record = m_offset;
      store_le(tail, zip64_end_signature, 4);
      store_le(tail, 44, 8);  // size of the rest of this record
      store_le(tail, (3U << 8) | 45U, 2);
      store_le(tail, 45, 2);
      store_le(tail, 0, 4);
      store_le(tail, 0, 4);
      store_le(tail, m_entries.size(), 8);
      store_le(tail, m_entries.size(), 8);
      store_le(tail, directory_size, 8);
      store_le(tail, directory_offset, 8);
      store_le(tail, zip64_locator_signature, 4);
      store_le(tail, 0, 4);
      store_le(tail, record, 8);
      store_le(tail, 1, 4);
    }
    store_le(tail, zip_end_signature, 4);
    store_le(tail, 0, 4);  // disk numbers
    for (int twice = 0; twice < 2; ++twice) store_le(tail, zip64 ? 0xFFFF : m_entries.size(), 2);
    store_le(tail, zip64 ? zip_saturated : directory_size, 4);
    store_le(tail, zip64 ? zip_saturated : directory_offset, 4);
    store_le(tail, 0, 2);  // comment
    write(out, tail);
    m_file.commit();
    m_committed = true;
  }

 private:
  static std::uint32_t version_needed(bool zip64) { return zip64 ? 45 : 20; }

  void write(std::ostream& out, std::string_view bytes) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    m_offset += bytes.size();
  }

  atomic_file m_file;
  bool m_zip64;
  const char* m_function;
  std::vector<zip_entry> m_entries;
  std::uint64_t m_offset = 0;
  bool m_committed = false;
};

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_ZIP_HPP
