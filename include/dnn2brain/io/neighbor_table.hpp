#ifndef DNN2BRAIN_IO_NEIGHBOR_TABLE_HPP
#define DNN2BRAIN_IO_NEIGHBOR_TABLE_HPP

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/atomic_file.hpp>
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
/// \throws io_error naming the file and the field when it is missing, truncated, corrupt (CRC),
///         of another format or version, or inconsistent.
[[nodiscard]] inline neighbor_table load_neighbor_table(const std::filesystem::path& path) {
  constexpr const char* function = "load_neighbor_table";
  const auto fail = [&](const std::string& problem) {
    dnn2brain::detail::throw_io_error(function, "'" + path.string() + "': " + problem);
  };
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("cannot open the file");
  std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    fail("cannot read the file");
  detail::neighbor_table_header header{};
  if (bytes.size() < 8 + sizeof(header) + 4 ||
      std::memcmp(bytes.data(), detail::neighbor_table_magic, 8) != 0)
    fail(
        "expected a dnn2brain neighbour table (magic 'D2BNTAB'), got another or a truncated "
        "file");
  std::memcpy(&header, bytes.data() + 8, sizeof(header));
  if (header.version != detail::neighbor_table_version)
    fail(dnn2brain::detail::concat("field 'version': expected ", detail::neighbor_table_version,
                                   ", got ", header.version));
  if (header.kind > 1) fail(dnn2brain::detail::concat("field 'kind': got ", header.kind));
  // Sizes are checked against the file before anything is allocated.
  const std::uint64_t limit = bytes.size();
  if (header.centers > limit / 12 || header.columns > limit / 4)
    fail("fields 'centers'/'columns' exceed the file size");
  const std::uint64_t expected =
      8 + sizeof(header) + header.centers * 12 + (header.centers + 1) * 8 + header.columns * 4 + 4;
  if (bytes.size() != expected)
    fail(dnn2brain::detail::concat("expected ", expected, " bytes for ", header.centers,
                                   " centres and ", header.columns, " members, got ", bytes.size(),
                                   " (truncated?)"));
  std::uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  const auto crc = static_cast<std::uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size() - 4));
  if (crc != stored_crc) fail("checksum mismatch: the file is corrupt");

  volume_geometry geometry;
  for (int d = 0; d < 3; ++d) geometry.shape[std::size_t(d)] = header.shape[d];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) geometry.affine(r, c) = header.affine[4 * r + c];
  const char* at = bytes.data() + 8 + sizeof(header);
  std::vector<ijk> centers(header.centers);
  for (auto& c : centers) {
    std::int32_t v[3];
    std::memcpy(v, at, sizeof(v));
    at += sizeof(v);
    c = {v[0], v[1], v[2]};
  }
  std::vector<std::int64_t> offsets(header.centers + 1);
  std::memcpy(offsets.data(), at, offsets.size() * 8);
  at += offsets.size() * 8;
  std::vector<std::int32_t> columns(header.columns);
  std::memcpy(columns.data(), at, columns.size() * 4);
  try {
    return {geometry,
            static_cast<index_t>(header.mask_voxels),
            static_cast<center_kind>(header.kind),
            neighborhood::paper_blocks{header.block_radius, header.block_stride},
            std::move(centers),
            std::move(offsets),
            std::move(columns)};
  } catch (const invalid_argument& e) {
    fail(std::string("inconsistent content: ") + e.what());
  }
  return {};
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_NEIGHBOR_TABLE_HPP
