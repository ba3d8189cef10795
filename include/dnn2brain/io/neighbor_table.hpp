#ifndef DNN2BRAIN_IO_NEIGHBOR_TABLE_HPP
#define DNN2BRAIN_IO_NEIGHBOR_TABLE_HPP

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>

namespace dnn2brain::io {

namespace detail {

static_assert(std::endian::native == std::endian::little,
              "dnn2brain::io: the neighbour-table format is little-endian");

inline constexpr char neighbor_table_magic[8] = {'D', '2', 'B', 'N', 'T', 'A', 'B', '\0'};
inline constexpr std::uint32_t neighbor_table_version = 1;

// Fixed-size part of the file after the magic.
struct neighbor_table_header {
  std::uint32_t version;
  std::uint32_t kind;
  std::int32_t block_radius;
  std::int32_t block_stride;
  std::uint64_t shape[3];
  double affine[16];  // row-major
  std::uint64_t mask_voxels;
  std::uint64_t centers;
  std::uint64_t columns;
};
static_assert(std::is_trivially_copyable_v<neighbor_table_header>);

template <typename T>
void append(std::string& bytes, const T* data, std::size_t count) {
  if (count == 0) return;  // data may be null (an empty vector's)
  bytes.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

}  // namespace detail

/// \brief Saves a neighbour table (geometry, centres, CSR offsets and member columns) so that
/// every later subject, model or permutation run can load it instead of rebuilding it.
///
/// Little-endian binary: an 8-byte magic, a fixed header, the arrays, and a CRC-32 of everything
/// before it. Written atomically: an interrupted save leaves no file.
inline void save_neighbor_table(const std::filesystem::path& path, const neighbor_table& table) {
  detail::neighbor_table_header header{};
  header.version = detail::neighbor_table_version;
  header.kind = static_cast<std::uint32_t>(table.kind());
  header.block_radius = table.blocks().radius;
  header.block_stride = table.blocks().stride;
  for (int d = 0; d < 3; ++d) header.shape[d] = table.geometry().shape[std::size_t(d)];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) header.affine[4 * r + c] = table.geometry().affine(r, c);
  header.mask_voxels = static_cast<std::uint64_t>(table.mask_voxels());
  header.centers = static_cast<std::uint64_t>(table.size());
  header.columns = table.columns().size();

  std::string bytes;
  bytes.reserve(sizeof(header) + 8 + std::size_t(table.size()) * 20 + table.columns().size() * 4 +
                4);
  detail::append(bytes, detail::neighbor_table_magic, 8);
  detail::append(bytes, &header, 1);
  for (const ijk& c : table.centers()) {
    const std::int32_t v[3] = {c.i, c.j, c.k};
    detail::append(bytes, v, 3);
  }
  detail::append(bytes, table.offsets().data(), table.offsets().size());
  detail::append(bytes, table.columns().data(), table.columns().size());
  const auto crc = static_cast<std::uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
  detail::append(bytes, &crc, 1);
  write_atomically(path, [&](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

/// \brief Loads a table written by save_neighbor_table().
///
/// Before anything is allocated: `path` must be a regular file (a directory, FIFO or device is
/// refused without being opened), the magic, version and kind must match, the shape must have
/// at most 2^31 − 1 voxels per axis and fit 64 bits in all, the affine must be finite, the mask
/// voxel count must not exceed the grid, and the centre and member counts must give exactly the
/// file's size. The arrays are then read straight into the table's storage, so loading a file of
/// N bytes allocates at most about N bytes in all. Then the CRC-32 is checked, and the content:
/// offsets from 0, non-decreasing, ending at the member count; members in [0, mask voxels);
/// centres inside the grid; block parameters in range.
/// \throws io_error naming the file and the field when it is missing, not a regular file,
///         truncated, corrupt (CRC), of another format or version, or inconsistent.
[[nodiscard]] inline neighbor_table load_neighbor_table(const std::filesystem::path& path) {
  const detail::file_origin origin{"load_neighbor_table", detail::quoted(path)};
  const std::uint64_t size = detail::regular_file_size(path, origin);
  detail::neighbor_table_header header{};
  constexpr std::uint64_t fixed = 8 + sizeof(header) + 8 + 4;  // magic, header, offsets[0], CRC
  if (size < fixed)
    origin.fail("expected a dnn2brain neighbour table (magic 'D2BNTAB') of at least ", fixed,
                " bytes, got ", size, " bytes (another format, or truncated)");
  std::ifstream in = detail::open_for_reading(path, origin);
  char magic[8];
  detail::read_at(in, 0, magic, sizeof(magic), origin);
  if (std::memcmp(magic, detail::neighbor_table_magic, 8) != 0)
    origin.fail("expected a dnn2brain neighbour table (magic 'D2BNTAB'), got the magic ",
                detail::printable(std::string_view(magic, 8)));
  detail::read_at(in, 8, &header, sizeof(header), origin);
  if (header.version != detail::neighbor_table_version)
    origin.fail("field 'version': expected ", detail::neighbor_table_version, ", got ",
                header.version);
  if (header.kind > 1)
    origin.fail("field 'kind': expected 0 (voxel) or 1 (block), got ", header.kind);
  // The grid: every axis addressable by a 32-bit index, the voxel count within index_t.
  std::uint64_t voxels = 1;
  for (int d = 0; d < 3; ++d) {
    const std::uint64_t extent = header.shape[d];
    if (extent > std::uint64_t(std::numeric_limits<std::int32_t>::max()))
      origin.fail("field 'shape': expected at most 2^31 - 1 voxels per axis, got ", extent,
                  " on axis ", d);
    if (extent != 0 && voxels > std::uint64_t(std::numeric_limits<index_t>::max()) / extent)
      origin.fail("field 'shape': expected at most 2^63 - 1 voxels, got ", header.shape[0], " x ",
                  header.shape[1], " x ", header.shape[2]);
    voxels *= extent;
  }
  for (const double a : header.affine)
    if (!std::isfinite(a)) origin.fail("field 'affine': expected finite values, got ", a);
  if (header.mask_voxels > voxels)
    origin.fail("field 'mask_voxels': expected at most the grid's ", voxels, " voxels, got ",
                header.mask_voxels);
  // Sizes against the file before anything is allocated: 12 + 8 bytes per centre, 4 per member.
  // Bounding each count by the size first keeps the sum below 2^64.
  if (header.centers > size / 20 || header.columns > size / 4)
    origin.fail("fields 'centers' (", header.centers, ") and 'columns' (", header.columns,
                "): expected counts that fit the file's ", size, " bytes, got more (truncated?)");
  const std::uint64_t expected = fixed + header.centers * 20 + header.columns * 4;
  if (size != expected)
    origin.fail("expected ", expected, " bytes for ", header.centers, " centres and ",
                header.columns, " members, got ", size, " (truncated?)");

  // The arrays go straight into the table's storage: the file's size bounds every allocation.
  static_assert(sizeof(ijk) == 12 && std::is_trivially_copyable_v<ijk>);
  std::vector<ijk> centers(static_cast<std::size_t>(header.centers));
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(header.centers) + 1);
  std::vector<std::int32_t> columns(static_cast<std::size_t>(header.columns));
  auto crc = crc32_z(0L, reinterpret_cast<const Bytef*>(detail::neighbor_table_magic), 8);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(&header), sizeof(header));
  std::uint64_t at = 8 + sizeof(header);
  const auto read_array = [&](void* data, std::size_t bytes) {
    if (bytes == 0) return;  // zlib treats a null buffer as a request for the initial value
    detail::read_at(in, at, data, bytes, origin);
    crc = crc32_z(crc, static_cast<const Bytef*>(data), bytes);
    at += bytes;
  };
  read_array(centers.data(), centers.size() * sizeof(ijk));
  read_array(offsets.data(), offsets.size() * sizeof(std::int64_t));
  read_array(columns.data(), columns.size() * sizeof(std::int32_t));
  std::uint32_t stored_crc = 0;
  detail::read_at(in, at, &stored_crc, sizeof(stored_crc), origin);
  if (static_cast<std::uint32_t>(crc) != stored_crc)
    origin.fail("checksum mismatch: the file is corrupt");

  volume_geometry geometry;
  for (int d = 0; d < 3; ++d) geometry.shape[std::size_t(d)] = header.shape[d];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) geometry.affine(r, c) = header.affine[4 * r + c];
  // The content, field by field (the checksum only shows that the writer wrote it), is checked
  // by the constructor, whose messages name the field and the position.
  try {
    return {geometry,
            static_cast<index_t>(header.mask_voxels),
            static_cast<center_kind>(header.kind),
            neighborhood::paper_blocks{header.block_radius, header.block_stride},
            std::move(centers),
            std::move(offsets),
            std::move(columns)};
  } catch (const invalid_argument& e) {
    constexpr std::string_view prefix = "dnn2brain::neighbor_table: ";
    const std::string_view problem = e.what();
    if (problem.starts_with(prefix)) origin.fail("field ", problem.substr(prefix.size()));
    origin.fail("inconsistent content: ", problem);
  }
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_NEIGHBOR_TABLE_HPP
