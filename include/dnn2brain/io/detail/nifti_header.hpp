#ifndef DNN2BRAIN_IO_DETAIL_NIFTI_HEADER_HPP
#define DNN2BRAIN_IO_DETAIL_NIFTI_HEADER_HPP
// IWYU pragma: private

// The NIfTI bytes that dnn2brain reads itself, before nifti_clib sees anything: the header is
// parsed and validated here (sizeof_hdr, magic, dim, datatype/bitpix, vox_offset, extensions),
// the data is read here in bounded chunks, and nifti_clib only converts a validated in-memory
// header into its nifti_image (nifti_convert_n1hdr2nim / n2hdr2nim, which open no file).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nifti2_io.h>
#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>

namespace dnn2brain::io::detail {

/// Voxel data is read in pieces of this size, each allocated only once the previous one is full:
/// a stream that ends early costs at most one piece beyond the bytes it delivered.
inline constexpr std::size_t nifti_chunk_bytes = std::size_t(1) << 20;

/// Error messages name the function and the file: "dnn2brain::read_nifti: 'x.nii': ...";
/// the path is kept to open the file (and a pair's other half).
struct nifti_origin : file_origin {
  nifti_origin(const char* name, std::filesystem::path file)
      : file_origin{name, quoted(file)}, path(std::move(file)) {}
  std::filesystem::path path;
};

/// The bytes of a file, through stdio, or through zlib when the name ends in ".gz" (the rule
/// nifti_clib uses). Reads are checked: zlib's errors (corrupt data, CRC or length mismatch)
/// throw io_error, and a stream ending early shows as a short count.
class nifti_input {
 public:
  explicit nifti_input(nifti_origin origin) : m_origin(std::move(origin)) {
    const std::string name = m_origin.path.string();
    m_file_size = regular_file_size(m_origin.path, m_origin);
    if (name.size() > 3 && (name.ends_with(".gz") || name.ends_with(".GZ"))) {
      m_gzip = gzopen(name.c_str(), "rb");
      if (m_gzip == nullptr) m_origin.fail("cannot open the file");
      gzbuffer(m_gzip, 1U << 17);
    } else {
      m_plain = std::fopen(name.c_str(), "rb");
      if (m_plain == nullptr) m_origin.fail("cannot open the file");
    }
  }
  nifti_input(const nifti_input&) = delete;
  nifti_input& operator=(const nifti_input&) = delete;
  ~nifti_input() {
    if (m_gzip != nullptr) gzclose(m_gzip);
    if (m_plain != nullptr) std::fclose(m_plain);
  }

  [[nodiscard]] const nifti_origin& origin() const noexcept { return m_origin; }
  [[nodiscard]] bool gzip() const noexcept { return m_gzip != nullptr; }
  /// Size of the file on disk (compressed for .gz).
  [[nodiscard]] std::uint64_t file_size() const noexcept { return m_file_size; }
  /// Bytes of the (decompressed) stream consumed so far.
  [[nodiscard]] std::uint64_t position() const noexcept { return m_position; }

  /// Reads up to `count` bytes; fewer only where the stream ends.
  std::size_t read(void* out, std::size_t count) {
    auto* p = static_cast<unsigned char*>(out);
    std::size_t got = 0;
    while (got < count) {
      const std::size_t want = std::min<std::size_t>(count - got, std::size_t(1) << 30);
      std::size_t n = 0;
      if (m_plain != nullptr) {
        n = std::fread(p + got, 1, want, m_plain);
        if (n < want && std::ferror(m_plain) != 0) m_origin.fail("read error");
      } else {
        const int r = gzread(m_gzip, p + got, unsigned(want));
        if (r < 0) gzip_failed();
        n = std::size_t(r);
      }
      got += n;
      m_position += n;
      if (n < want) break;
    }
    return got;
  }

  /// Reads and discards up to `count` bytes; returns how many there were.
  std::uint64_t skip(std::uint64_t count) {
    std::array<unsigned char, 4096> scratch{};
    std::uint64_t done = 0;
    while (done < count) {
      const auto want = std::size_t(std::min<std::uint64_t>(count - done, scratch.size()));
      const std::size_t n = read(scratch.data(), want);
      done += n;
      if (n < want) break;
    }
    return done;
  }

 private:
  [[noreturn]] void gzip_failed() const {
    int code = Z_OK;
    const char* text = gzerror(m_gzip, &code);
    // zlib's message starts with the file name, which the error names already.
    std::string message = text != nullptr ? text : "";
    const std::string prefix = m_origin.path.string() + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    if (code == Z_BUF_ERROR)
      m_origin.fail("truncated: the gzip stream ends early (zlib: ", message, ")");
    m_origin.fail("expected an intact gzip stream, got corrupt data (zlib: ", message, ")");
  }

  nifti_origin m_origin;
  std::FILE* m_plain = nullptr;
  gzFile m_gzip = nullptr;
  std::uint64_t m_file_size = 0;
  std::uint64_t m_position = 0;
};

/// What the validated header says about the file's layout, and its bytes as read (which
/// nifti_clib then converts).
struct nifti_layout {
  int version = 1;          // 1 or 2
  bool swapped = false;     // byte order opposite to this machine's
  bool single_file = true;  // magic n+1/n+2; ni1/ni2 is a .hdr/.img pair
  std::size_t header_bytes = 348;
  std::array<std::int64_t, 8> dim{};
  int datatype = 0;
  std::size_t bytes_per_voxel = 0;
  std::uint64_t vox_offset = 0;
  std::uint64_t voxels = 0;      // dim[1] · ... · dim[dim[0]]
  std::uint64_t data_bytes = 0;  // voxels · bytes_per_voxel, below 2^63
  std::size_t extensions = 0;
  std::array<unsigned char, sizeof(nifti_2_header)> raw{};

  [[nodiscard]] std::string dims_text() const {
    std::string out = "(";
    for (std::int64_t d = 1; d <= dim[0]; ++d)
      out += (d == 1 ? "" : ", ") + std::to_string(dim[std::size_t(d)]);
    return out + ")";
  }
};

template <typename T>
[[nodiscard]] T nifti_byteswap(T value) noexcept {
  std::array<unsigned char, sizeof(T)> bytes;
  std::memcpy(bytes.data(), &value, sizeof(T));
  std::reverse(bytes.begin(), bytes.end());
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

/// A header field of type T at `offset`, in this machine's byte order.
template <typename T>
[[nodiscard]] T nifti_field(const nifti_layout& layout, std::size_t offset) noexcept {
  T value;
  std::memcpy(&value, layout.raw.data() + offset, sizeof(T));
  return layout.swapped ? nifti_byteswap(value) : value;
}

/// Bits per voxel of the DT_* codes of nifti1.h; 0 for codes it does not define. DT_BINARY (1)
/// is listed as 1 bit, for the message that rejects it.
[[nodiscard]] constexpr int nifti_datatype_bits(int code) noexcept {
  switch (code) {
    case DT_BINARY:
      return 1;
    case DT_UINT8:
    case DT_INT8:
      return 8;
    case DT_INT16:
    case DT_UINT16:
      return 16;
    case DT_RGB24:
      return 24;
    case DT_INT32:
    case DT_UINT32:
    case DT_FLOAT32:
    case DT_RGBA32:
      return 32;
    case DT_FLOAT64:
    case DT_COMPLEX64:
    case DT_INT64:
    case DT_UINT64:
      return 64;
    case DT_FLOAT128:
    case DT_COMPLEX128:
      return 128;
    case DT_COMPLEX256:
      return 256;
    default:
      return 0;
  }
}

/// Reads and validates the header and the extension headers, leaving `in` at the end of the
/// extensions (at most at vox_offset for a single file). Nothing is allocated from the file's
/// numbers: the header is a fixed 540-byte array and extension bodies are skipped in 4 KiB steps.
[[nodiscard]] inline nifti_layout nifti_read_layout(nifti_input& in) {
  const nifti_origin& origin = in.origin();
  nifti_layout layout;
  const std::size_t first = in.read(layout.raw.data(), 4);
  if (first < 4)
    origin.fail("expected a NIfTI-1 or NIfTI-2 file, got ", first,
                " bytes, too short for a header");
  std::int32_t sizeof_hdr = 0;
  std::memcpy(&sizeof_hdr, layout.raw.data(), 4);
  const auto n1 = std::int32_t(sizeof(nifti_1_header)), n2 = std::int32_t(sizeof(nifti_2_header));
  if (sizeof_hdr == n1 || sizeof_hdr == n2) {
    layout.version = sizeof_hdr == n1 ? 1 : 2;
  } else if (nifti_byteswap(sizeof_hdr) == n1 || nifti_byteswap(sizeof_hdr) == n2) {
    layout.version = nifti_byteswap(sizeof_hdr) == n1 ? 1 : 2;
    layout.swapped = true;
  } else {
    origin.fail("expected a NIfTI-1 or NIfTI-2 file, got header field 'sizeof_hdr' ", sizeof_hdr,
                " (348 for NIfTI-1 or 540 for NIfTI-2, in either byte order)");
  }
  const bool v1 = layout.version == 1;
  layout.header_bytes = v1 ? sizeof(nifti_1_header) : sizeof(nifti_2_header);
  const std::size_t rest = in.read(layout.raw.data() + 4, layout.header_bytes - 4);
  if (rest < layout.header_bytes - 4)
    origin.fail("expected a complete ", layout.header_bytes, "-byte NIfTI-", layout.version,
                " header, got ", rest + 4, " bytes (truncated)");

  // Magic: NIfTI-1 "n+1\0" (one file) or "ni1\0" (.hdr/.img pair); NIfTI-2 "n+2\0" or "ni2\0"
  // followed by "\r\n\032\n", or by four zeros (nibabel accepts and fixes those).
  const unsigned char* magic =
      layout.raw.data() + (v1 ? offsetof(nifti_1_header, magic) : offsetof(nifti_2_header, magic));
  const char digit = v1 ? '1' : '2';
  if (magic[0] != 'n' || (magic[1] != '+' && magic[1] != 'i') ||
      magic[2] != static_cast<unsigned char>(digit) || magic[3] != 0)
    origin.fail("expected header field 'magic' 'n+", digit, "' or 'ni", digit, "' (NIfTI-", digit,
                ", sizeof_hdr ", layout.header_bytes, "), got ",
                printable({reinterpret_cast<const char*>(magic), 4}),
                magic[0] == 0 ? " (an Analyze 7.5 header, which has no magic)" : "");
  layout.single_file = magic[1] == '+';
  if (!v1) {
    constexpr unsigned char eol[4] = {'\r', '\n', 032, '\n'};
    constexpr unsigned char zeros[4] = {0, 0, 0, 0};
    if (std::memcmp(magic + 4, eol, 4) != 0 && std::memcmp(magic + 4, zeros, 4) != 0)
      origin.fail(
          "expected bytes 4..7 of header field 'magic' to be \\r\\n\\x1a\\n (or zeros), "
          "got ",
          printable({reinterpret_cast<const char*>(magic) + 4, 4}),
          " (a file transferred in text mode?)");
  }

  // dim: dim[0] in 1..7, dim[1..dim[0]] at least 1.
  for (std::size_t d = 0; d < 8; ++d)
    layout.dim[d] = v1 ? nifti_field<std::int16_t>(layout, offsetof(nifti_1_header, dim) + 2 * d)
                       : nifti_field<std::int64_t>(layout, offsetof(nifti_2_header, dim) + 8 * d);
  if (layout.dim[0] < 1 || layout.dim[0] > 7)
    origin.fail("expected header field 'dim[0]' (the number of dimensions) in 1..7, got ",
                layout.dim[0]);
  for (std::int64_t d = 1; d <= layout.dim[0]; ++d)
    if (layout.dim[std::size_t(d)] < 1)
      origin.fail("expected header field 'dim[", d, "]' of at least 1, got ",
                  layout.dim[std::size_t(d)]);

  // datatype and bitpix.
  layout.datatype = v1 ? nifti_field<std::int16_t>(layout, offsetof(nifti_1_header, datatype))
                       : nifti_field<std::int16_t>(layout, offsetof(nifti_2_header, datatype));
  const int bitpix = v1 ? nifti_field<std::int16_t>(layout, offsetof(nifti_1_header, bitpix))
                        : nifti_field<std::int16_t>(layout, offsetof(nifti_2_header, bitpix));
  const int bits = nifti_datatype_bits(layout.datatype);
  if (bits == 0)
    origin.fail("expected header field 'datatype' to hold a NIfTI DT_* code, got ",
                layout.datatype);
  if (layout.datatype == DT_BINARY)
    origin.fail(
        "expected a byte-addressed header field 'datatype', got DT_BINARY (1 bit per "
        "voxel), which is not supported");
  if (bitpix != bits)
    origin.fail("expected header field 'bitpix' ", bits, " for datatype ", layout.datatype,
                ", got ", bitpix);
  layout.bytes_per_voxel = std::size_t(bits / 8);

  // Declared data size, without overflow: below 2^63 bytes (nifti_clib counts voxels in int64).
  constexpr auto limit = std::uint64_t(std::numeric_limits<std::int64_t>::max());
  std::uint64_t voxels = 1;
  for (std::int64_t d = 1; d <= layout.dim[0]; ++d) {
    const auto n = std::uint64_t(layout.dim[std::size_t(d)]);
    if (voxels > limit / n)
      origin.fail("expected a data size below 2^63 bytes, got dims ", layout.dims_text(),
                  " whose product overflows");
    voxels *= n;
  }
  if (voxels > limit / layout.bytes_per_voxel)
    origin.fail("expected a data size below 2^63 bytes, got dims ", layout.dims_text(), " of ",
                layout.bytes_per_voxel, " bytes per voxel");
  layout.voxels = voxels;
  layout.data_bytes = voxels * layout.bytes_per_voxel;

  // vox_offset: a whole number of bytes, at or after the header in a single file. NIfTI-1 stores
  // a float, which nifti_clib converts to int: it must be below 2^31.
  if (v1) {
    const float offset = nifti_field<float>(layout, offsetof(nifti_1_header, vox_offset));
    if (!std::isfinite(offset) || offset < 0.0f || offset != std::floor(offset) ||
        offset >= 2147483648.0f)
      origin.fail(
          "expected header field 'vox_offset' to be a whole number of bytes in "
          "0..2^31, got ",
          offset);
    layout.vox_offset = std::uint64_t(offset);
  } else {
    const auto offset = nifti_field<std::int64_t>(layout, offsetof(nifti_2_header, vox_offset));
    if (offset < 0) origin.fail("expected header field 'vox_offset' of at least 0, got ", offset);
    layout.vox_offset = std::uint64_t(offset);
  }
  if (layout.single_file && layout.vox_offset < layout.header_bytes)
    origin.fail("expected header field 'vox_offset' of at least ", layout.header_bytes,
                " (the data follows the header in a single-file NIfTI-", layout.version, "), got ",
                layout.vox_offset);
  if (layout.single_file && !in.gzip() && layout.vox_offset > in.file_size())
    origin.fail("expected header field 'vox_offset' within the file's ", in.file_size(),
                " bytes, got ", layout.vox_offset);

  // Extensions: a 4-byte extender, then (if its first byte is nonzero) esize/ecode records whose
  // esize is a multiple of 16, at least 16, and stays inside the extension area: before
  // vox_offset in a single file, before the end of a .hdr. Fewer than 16 bytes left end the list
  // (nifti_clib's rule).
  const std::uint64_t area_end =
      layout.single_file ? layout.vox_offset : std::numeric_limits<std::uint64_t>::max();
  const auto left = [&] { return area_end - in.position(); };
  std::array<unsigned char, 4> extender{};
  if (left() >= 4 && in.read(extender.data(), 4) == 4 && extender[0] != 0) {
    while (left() >= 16) {
      std::array<std::int32_t, 2> record{};
      const std::uint64_t at = in.position();
      const std::size_t got = in.read(record.data(), sizeof record);
      if (got == 0 && !layout.single_file) break;  // the end of a .hdr
      if (got < sizeof record)
        origin.fail("expected extension ", layout.extensions, " at byte ", at,
                    ", got the end of the file (truncated)");
      const std::int32_t esize = layout.swapped ? nifti_byteswap(record[0]) : record[0];
      const std::uint64_t room = area_end - at;
      if (esize < 16 || esize % 16 != 0 || std::uint64_t(esize) > room)
        origin.fail("expected 'esize' of extension ", layout.extensions, " at byte ", at,
                    " to be a multiple of 16 in 16..",
                    room > std::uint64_t(std::numeric_limits<std::int32_t>::max())
                        ? std::string("2^31")
                        : std::to_string(room - room % 16),
                    layout.single_file ? " (it must end by vox_offset)" : "", ", got ", esize);
      const auto body = std::uint64_t(esize) - 8;
      if (in.skip(body) < body)
        origin.fail("expected the ", esize, "-byte extension ", layout.extensions, " at byte ", at,
                    ", got the end of the file (truncated)");
      ++layout.extensions;
    }
  }
  return layout;
}

/// The image file of a .hdr/.img pair: x.hdr → x.img, x.hdr.gz → x.img.gz.
[[nodiscard]] inline std::filesystem::path nifti_image_file(const nifti_origin& origin) {
  std::string name = origin.path.string();
  for (const auto& [hdr, img] :
       {std::pair{".hdr", ".img"}, std::pair{".HDR", ".IMG"}, std::pair{".hdr.gz", ".img.gz"},
        std::pair{".HDR.GZ", ".IMG.GZ"}}) {
    if (name.ends_with(hdr)) {
      name.replace(name.size() - std::strlen(hdr), std::strlen(hdr), img);
      std::error_code error;
      if (!std::filesystem::is_regular_file(name, error))
        origin.fail("expected the image file '", name,
                    "' of the .hdr/.img pair (magic 'ni1'/'ni2'), which does not exist");
      return name;
    }
  }
  origin.fail(
      "expected a name ending in .hdr or .hdr.gz for a header whose magic "
      "'ni1'/'ni2' says the data is in a separate .img file");
}

/// The voxel bytes in nifti_chunk_bytes pieces, in file order (i fastest).
struct nifti_raw_data {
  std::vector<std::vector<unsigned char>> chunks;
};

/// Reads the data block that `layout` declares. A plain file's length is compared with
/// vox_offset + data size before anything is allocated; a gzip file is first compared with
/// deflate's largest expansion, then read piece by piece, so that no allocation runs more than
/// one piece ahead of the bytes actually inflated.
[[nodiscard]] inline nifti_raw_data nifti_read_data(nifti_input& header_input,
                                                    const nifti_layout& layout) {
  const nifti_origin& origin = header_input.origin();
  std::optional<nifti_input> separate;
  if (!layout.single_file)
    separate.emplace(nifti_origin{origin.function, nifti_image_file(origin)});
  nifti_input& in = separate ? *separate : header_input;
  const nifti_origin& data_origin = in.origin();
  const auto declared = [&] {
    return dnn2brain::detail::concat(layout.data_bytes, " bytes of voxel data (dims ",
                                     layout.dims_text(), " x ", layout.bytes_per_voxel,
                                     " bytes) at vox_offset ", layout.vox_offset);
  };
  const std::uint64_t size = in.file_size();
  if (!in.gzip()) {
    if (layout.data_bytes > size || layout.vox_offset > size - layout.data_bytes)
      data_origin.fail("the declared size exceeds the file: expected ", declared(),
                       ", got a file of ", size, " bytes (truncated, or a wrong header)");
  } else {
    const std::uint64_t most = size > std::numeric_limits<std::uint64_t>::max() / deflate_max_ratio
                                   ? std::numeric_limits<std::uint64_t>::max()
                                   : size * deflate_max_ratio;
    if (layout.data_bytes > most || layout.vox_offset > most - layout.data_bytes)
      data_origin.fail("the declared size exceeds the file: expected ", declared(),
                       ", more than a gzip file of ", size,
                       " bytes can inflate to (deflate expands at most ", deflate_max_ratio,
                       ":1; truncated, or a "
                       "wrong header)");
  }
  if (in.position() < layout.vox_offset) {
    const std::uint64_t gap = layout.vox_offset - in.position();
    if (in.skip(gap) < gap)
      data_origin.fail("truncated: expected ", declared(), ", got a stream of ", in.position(),
                       " bytes");
  }
  nifti_raw_data raw;
  std::uint64_t remaining = layout.data_bytes;
  raw.chunks.reserve(
      std::size_t(std::min<std::uint64_t>(layout.data_bytes / nifti_chunk_bytes + 1, 4096)));
  while (remaining > 0) {
    const auto want = std::size_t(std::min<std::uint64_t>(remaining, nifti_chunk_bytes));
    auto& chunk = raw.chunks.emplace_back(want);
    const std::size_t got = in.read(chunk.data(), want);
    if (got < want)
      data_origin.fail("truncated: expected ", declared(), ", got a stream that ends after ",
                       in.position(), " bytes");
    remaining -= want;
  }
  // One byte more makes zlib check the gzip trailer (CRC-32 and length) when the data ends the
  // stream; more data after it is allowed, as in a plain file.
  if (in.gzip()) {
    unsigned char probe = 0;
    (void)in.read(&probe, 1);
  }
  return raw;
}

/// nifti_clib's nifti_image for a validated header. The conversion reads only the struct given
/// to it (it opens no file) and, for a header that passed nifti_read_layout, reaches none of its
/// printing error paths (bad dim[0], dim[1], datatype).
[[nodiscard]] inline ::nifti_image* nifti_convert_layout(const nifti_layout& layout) {
  if (layout.version == 1) {
    nifti_1_header h;
    std::memcpy(&h, layout.raw.data(), sizeof h);
    return nifti_convert_n1hdr2nim(h, nullptr);
  }
  nifti_2_header h;
  std::memcpy(&h, layout.raw.data(), sizeof h);
  return nifti_convert_n2hdr2nim(h, nullptr);
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_NIFTI_HEADER_HPP
