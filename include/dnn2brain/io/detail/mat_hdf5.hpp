#ifndef DNN2BRAIN_IO_DETAIL_MAT_HDF5_HPP
#define DNN2BRAIN_IO_DETAIL_MAT_HDF5_HPP
// IWYU pragma: private

// MATLAB v7.3 files are HDF5 files, which matio reads with HDF5's H5Dread. HDF5 1.10 trusts a
// dataset's storage description: a compact dataset whose stored bytes are fewer than its
// dataspace times its element size makes H5Dread copy from a NULL buffer. Before matio reads
// anything, mat_file therefore visits every object reachable by hard links from the root group
// and checks each dataset with the HDF5 API: storage layout (compact, contiguous, chunked; no
// virtual datasets, no external files), stored bytes against dataspace points x element size,
// and the declared size against the file size (deflate's largest ratio for chunked data).
//
// The checks call HDF5's C API (>= 1.10) directly; dnn2brain::io links HDF5's C library. HDF5
// prints its error stack on stderr when a call fails: hdf5_errors_off silences it around
// dnn2brain's own calls and mat_file's matio calls on v7.3 files, and puts back whatever the
// program had set.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include <hdf5.h>

#if !H5_VERSION_GE(1, 10, 0)
#error "dnn2brain's MATLAB v7.3 checks need HDF5 >= 1.10 (64-bit hid_t, H5Oopen, H5Literate)"
#endif

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/detail/mat_v5.hpp>

namespace dnn2brain::io::detail {

/// \brief Switches off HDF5's automatic error printing (of its default error stack) while it
/// lives, and restores the handler it found, also when an exception unwinds.
///
/// If the handler cannot be read (the program installed one through the deprecated
/// H5Eset_auto1), it is left as it is: it could not be put back.
class hdf5_errors_off {
 public:
  /// Does nothing unless `active` (mat_file: only for v7.3 files).
  explicit hdf5_errors_off(bool active = true) noexcept {
    m_saved = active && H5Eget_auto2(H5E_DEFAULT, &m_function, &m_data) >= 0;
    if (m_saved) H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  hdf5_errors_off(const hdf5_errors_off&) = delete;
  hdf5_errors_off& operator=(const hdf5_errors_off&) = delete;
  ~hdf5_errors_off() {
    if (m_saved) H5Eset_auto2(H5E_DEFAULT, m_function, m_data);
  }

 private:
  H5E_auto2_t m_function = nullptr;
  void* m_data = nullptr;
  bool m_saved = false;
};

/// RAII for an HDF5 identifier: closes it with the matching H5?close function.
class hdf5_handle {
 public:
  hdf5_handle(hid_t id, herr_t (*close)(hid_t)) noexcept : m_id(id), m_close(close) {}
  hdf5_handle(const hdf5_handle&) = delete;
  hdf5_handle& operator=(const hdf5_handle&) = delete;
  ~hdf5_handle() {
    if (m_id >= 0) m_close(m_id);
  }
  [[nodiscard]] hid_t get() const noexcept { return m_id; }

 private:
  hid_t m_id;
  herr_t (*m_close)(hid_t);
};

/// Walks the objects of an open HDF5 file and checks every dataset (see the file comment).
class mat_v73_check {
 public:
  mat_v73_check(std::uint64_t file_size, const file_origin& origin)
      : m_file_size(file_size), m_origin(&origin) {}

  void group(hid_t id, const std::string& path, int depth) {
    if (depth > mat_max_depth)
      m_origin->fail("HDF5 group '", path, "': expected groups nested at most ", mat_max_depth,
                     " deep, got deeper (a cycle of links?)");
    visit context{this, path, depth, {}};
    hsize_t index = 0;
    // H5Literate and H5L_info_t name the same version of the call and its link information
    // (H5Literate2 and H5L_info2_t from HDF5 1.12 on).
    const herr_t status = H5Literate(id, H5_INDEX_NAME, H5_ITER_INC, &index, &on_link, &context);
    if (context.error) std::rethrow_exception(context.error);
    if (status < 0) m_origin->fail("HDF5 group '", path, "': expected a readable list of links");
  }

 private:
  struct visit {
    mat_v73_check* self;
    std::string path;
    int depth;
    std::exception_ptr error;  // an exception cannot cross HDF5's C frames: rethrown after
  };

  static herr_t on_link(hid_t group_id, const char* name, const H5L_info_t* info, void* data) {
    auto& context = *static_cast<visit*>(data);
    try {
      context.self->object(group_id, name, *info, context);
    } catch (...) {
      context.error = std::current_exception();
      return 1;  // a positive value stops the iteration without an HDF5 error report
    }
    return 0;
  }

  void object(hid_t group_id, const char* name, const H5L_info_t& info, visit& context) {
    const std::string path = context.path + (context.path == "/" ? "" : "/") + name;
    if (info.type != H5L_TYPE_HARD)
      m_origin->fail("HDF5 link '", path, "': expected a hard link (MATLAB writes no others), ",
                     "got link type ", static_cast<int>(info.type));
    if (++m_objects > max_objects)
      m_origin->fail("expected at most ", max_objects, " HDF5 objects, got more");
    const hdf5_handle object(H5Oopen(group_id, name, H5P_DEFAULT), H5Oclose);
    if (object.get() < 0) m_origin->fail("HDF5 object '", path, "': expected an object to open");
    const H5I_type_t type = H5Iget_type(object.get());
    if (type == H5I_GROUP) {
      group(object.get(), path, context.depth + 1);
    } else if (type == H5I_DATASET) {
      dataset(object.get(), path);
    }
  }

  void dataset(hid_t id, const std::string& path) {
    const hdf5_handle space(H5Dget_space(id), H5Sclose);
    const hdf5_handle type(H5Dget_type(id), H5Tclose);
    const hdf5_handle plist(H5Dget_create_plist(id), H5Pclose);
    if (space.get() < 0 || type.get() < 0 || plist.get() < 0)
      m_origin->fail("HDF5 dataset '", path, "': expected a dataspace, a datatype and a ",
                     "creation property list");
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    const std::size_t size = H5Tget_size(type.get());
    const H5D_layout_t layout = H5Pget_layout(plist.get());
    if (points < 0 || size == 0)
      m_origin->fail("HDF5 dataset '", path, "': expected a dataspace and an element size, got ",
                     points, " points of ", size, " bytes");
    std::uint64_t bytes = 0, limit = 0;
    if (!mat_multiply(static_cast<std::uint64_t>(points), size, bytes) ||
        !mat_multiply(m_file_size, deflate_max_ratio, limit) || bytes > limit)
      m_origin->fail("HDF5 dataset '", path, "': expected at most ", deflate_max_ratio,
                     " times the file size (", m_file_size, " bytes) of data, got ", points,
                     " points of ", size, " bytes");
    if (H5Pget_external_count(plist.get()) != 0)
      m_origin->fail("HDF5 dataset '", path, "': expected data inside the file, got external ",
                     "storage");
    const std::uint64_t stored = H5Dget_storage_size(id);
    if (layout == H5D_COMPACT || layout == H5D_CONTIGUOUS) {
      if (stored != bytes)
        m_origin->fail("HDF5 dataset '", path, "': expected ", bytes, " stored bytes (", points,
                       " points of ", size, " bytes) in its ",
                       layout == H5D_COMPACT ? "compact" : "contiguous", " storage, got ", stored);
    } else if (layout != H5D_CHUNKED) {
      m_origin->fail("HDF5 dataset '", path, "': expected compact, contiguous or chunked ",
                     "storage, got layout ", static_cast<int>(layout));
    }
    if (stored > m_file_size)
      m_origin->fail("HDF5 dataset '", path, "': expected at most the file size (", m_file_size,
                     " bytes) stored, got ", stored, " (truncated file?)");
  }

  static constexpr std::uint64_t max_objects = 1'000'000;

  std::uint64_t m_file_size;
  const file_origin* m_origin;
  std::uint64_t m_objects = 0;
};

/// Checks a v7.3 file before matio opens it.
/// \throws io_error naming the file and the HDF5 object.
inline void check_mat_v73(const std::filesystem::path& path) {
  const file_origin origin{"mat_file", quoted(path)};
  const std::uint64_t size = regular_file_size(path, origin);
  // MATLAB puts the HDF5 superblock after a 512-byte user block; its end-of-file address says
  // how long the file was written (HDF5 refuses a shorter file too, but without saying why).
  unsigned char block[64] = {};
  if (size >= 512 + sizeof block) {
    std::ifstream in = open_for_reading(path, origin);
    read_at(in, 512, block, sizeof block, origin);
    if (std::memcmp(block, "\x89HDF\r\n\x1a\n", 8) == 0) {
      const unsigned version = block[8];
      const unsigned offsets = version < 2 ? block[13] : block[9];
      const std::size_t at = version == 0 ? 24 : (version == 1 ? 28 : 12);
      if (version > 3 || (offsets != 2 && offsets != 4 && offsets != 8))
        origin.fail("expected an HDF5 superblock of version 0 to 3 with 2-, 4- or 8-byte ",
                    "addresses at byte 512, got version ", version, ", ", offsets,
                    "-byte addresses");
      // The end-of-file address follows the base and one other address; HDF5 compares it with
      // the file size as it is (H5F__super_read), user block included.
      const std::uint64_t end =
          load_le(block + at + 2 * std::size_t{offsets}, static_cast<int>(offsets));
      if (end > size)
        origin.fail("expected ", end, " bytes as the HDF5 superblock declares, got ", size,
                    " (truncated file?)");
    }
  }
  const hdf5_errors_off quiet;  // declared first: restored after the file is closed
  const hdf5_handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0)
    origin.fail("expected an HDF5 file after the v7.3 header, got a file HDF5 cannot open");
  mat_v73_check(size, origin).group(file.get(), "/", 0);
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_MAT_HDF5_HPP
