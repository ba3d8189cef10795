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
// dnn2brain links matio, not HDF5; matio's shared library brings HDF5 into the process, so the
// few HDF5 functions used here are looked up at run time (dlsym) with the C API of HDF5 >= 1.10
// (64-bit hid_t). Without them a v7.3 file is refused rather than read unchecked.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include <dlfcn.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/detail/mat_v5.hpp>

namespace dnn2brain::io::detail {

/// The part of the HDF5 C API (>= 1.10) that the v7.3 checks call.
struct hdf5_api {
  using hid = std::int64_t;
  using herr = int;
  using hsize = unsigned long long;  // NOLINT(google-runtime-int): HDF5's own type
  using iterate_op = herr (*)(hid, const char*, const void*, void*);

  herr (*get_libversion)(unsigned*, unsigned*, unsigned*) = nullptr;
  hid (*file_open)(const char*, unsigned, hid) = nullptr;
  herr (*file_close)(hid) = nullptr;
  herr (*link_iterate)(hid, int, int, hsize*, iterate_op, void*) = nullptr;
  hid (*object_open)(hid, const char*, hid) = nullptr;
  herr (*object_close)(hid) = nullptr;
  int (*id_type)(hid) = nullptr;
  hid (*dataset_space)(hid) = nullptr;
  hid (*dataset_type)(hid) = nullptr;
  hid (*dataset_create_plist)(hid) = nullptr;
  hsize (*dataset_storage_size)(hid) = nullptr;
  long long (*space_npoints)(hid) = nullptr;  // NOLINT(google-runtime-int): hssize_t
  herr (*space_close)(hid) = nullptr;
  std::size_t (*type_size)(hid) = nullptr;
  herr (*type_close)(hid) = nullptr;
  int (*plist_layout)(hid) = nullptr;
  int (*plist_external_count)(hid) = nullptr;
  herr (*plist_close)(hid) = nullptr;

  static constexpr hid default_plist = 0;                         // H5P_DEFAULT
  static constexpr unsigned read_only = 0;                        // H5F_ACC_RDONLY
  static constexpr int id_group = 2, id_dataset = 5;              // H5I_GROUP, H5I_DATASET
  static constexpr int compact = 0, contiguous = 1, chunked = 2;  // H5D_layout_t
  static constexpr int link_hard = 0;                             // H5L_TYPE_HARD

  /// The functions from the HDF5 library already loaded into the process, or nothing.
  [[nodiscard]] static const hdf5_api* loaded() {
    static const hdf5_api api = [] {
      hdf5_api a;
      bool all = true;
      const auto find = [&all](auto& function, std::initializer_list<const char*> names) {
        void* symbol = nullptr;
        for (const char* name : names)
          if (symbol == nullptr) symbol = dlsym(RTLD_DEFAULT, name);
        all = all && symbol != nullptr;
        if (symbol != nullptr) std::memcpy(&function, &symbol, sizeof function);
      };
      find(a.get_libversion, {"H5get_libversion"});
      find(a.file_open, {"H5Fopen"});
      find(a.file_close, {"H5Fclose"});
      find(a.link_iterate, {"H5Literate2", "H5Literate"});
      find(a.object_open, {"H5Oopen"});
      find(a.object_close, {"H5Oclose"});
      find(a.id_type, {"H5Iget_type"});
      find(a.dataset_space, {"H5Dget_space"});
      find(a.dataset_type, {"H5Dget_type"});
      find(a.dataset_create_plist, {"H5Dget_create_plist"});
      find(a.dataset_storage_size, {"H5Dget_storage_size"});
      find(a.space_npoints, {"H5Sget_simple_extent_npoints"});
      find(a.space_close, {"H5Sclose"});
      find(a.type_size, {"H5Tget_size"});
      find(a.type_close, {"H5Tclose"});
      find(a.plist_layout, {"H5Pget_layout"});
      find(a.plist_external_count, {"H5Pget_external_count"});
      find(a.plist_close, {"H5Pclose"});
      unsigned major = 0, minor = 0, release = 0;
      a.m_complete = all && a.get_libversion(&major, &minor, &release) >= 0 &&
                     (major > 1 || (major == 1 && minor >= 10));
      return a;
    }();
    return api.m_complete ? &api : nullptr;
  }

 private:
  bool m_complete = false;
};

/// Walks the objects of an open HDF5 file and checks every dataset (see the file comment).
class mat_v73_check {
 public:
  mat_v73_check(const hdf5_api& api, std::uint64_t file_size, const file_origin& origin)
      : m_api(&api), m_file_size(file_size), m_origin(&origin) {}

  void group(hdf5_api::hid id, const std::string& path, int depth) {
    if (depth > mat_max_depth)
      m_origin->fail("HDF5 group '", path, "': expected groups nested at most ", mat_max_depth,
                     " deep, got deeper (a cycle of links?)");
    visit context{this, path, depth, {}};
    hdf5_api::hsize index = 0;
    const hdf5_api::herr status = m_api->link_iterate(
        id, 0 /* H5_INDEX_NAME */, 0 /* H5_ITER_INC */, &index, &on_link, &context);
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

  // RAII for HDF5 identifiers.
  class handle {
   public:
    handle(hdf5_api::hid id, hdf5_api::herr (*close)(hdf5_api::hid)) : m_id(id), m_close(close) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() {
      if (m_id >= 0) m_close(m_id);
    }
    [[nodiscard]] hdf5_api::hid get() const noexcept { return m_id; }

   private:
    hdf5_api::hid m_id;
    hdf5_api::herr (*m_close)(hdf5_api::hid);
  };

  static hdf5_api::herr on_link(hdf5_api::hid group_id, const char* name, const void* info,
                                void* data) {
    auto& context = *static_cast<visit*>(data);
    try {
      context.self->object(group_id, name, info, context);
    } catch (...) {
      context.error = std::current_exception();
      return 1;  // a positive value stops the iteration without an HDF5 error report
    }
    return 0;
  }

  void object(hdf5_api::hid group_id, const char* name, const void* info, visit& context) {
    const std::string path = context.path + (context.path == "/" ? "" : "/") + name;
    int link_type = 0;  // the first member of H5L_info_t (and H5L_info2_t) is the link type
    std::memcpy(&link_type, info, sizeof link_type);
    if (link_type != hdf5_api::link_hard)
      m_origin->fail("HDF5 link '", path, "': expected a hard link (MATLAB writes no others), ",
                     "got link type ", link_type);
    if (++m_objects > max_objects)
      m_origin->fail("expected at most ", max_objects, " HDF5 objects, got more");
    const handle object(m_api->object_open(group_id, name, hdf5_api::default_plist),
                        m_api->object_close);
    if (object.get() < 0) m_origin->fail("HDF5 object '", path, "': expected an object to open");
    const int type = m_api->id_type(object.get());
    if (type == hdf5_api::id_group) {
      group(object.get(), path, context.depth + 1);
    } else if (type == hdf5_api::id_dataset) {
      dataset(object.get(), path);
    }
  }

  void dataset(hdf5_api::hid id, const std::string& path) {
    const handle space(m_api->dataset_space(id), m_api->space_close);
    const handle type(m_api->dataset_type(id), m_api->type_close);
    const handle plist(m_api->dataset_create_plist(id), m_api->plist_close);
    if (space.get() < 0 || type.get() < 0 || plist.get() < 0)
      m_origin->fail("HDF5 dataset '", path, "': expected a dataspace, a datatype and a ",
                     "creation property list");
    const long long points = m_api->space_npoints(space.get());  // NOLINT(google-runtime-int)
    const std::size_t size = m_api->type_size(type.get());
    const int layout = m_api->plist_layout(plist.get());
    if (points < 0 || size == 0)
      m_origin->fail("HDF5 dataset '", path, "': expected a dataspace and an element size, got ",
                     points, " points of ", size, " bytes");
    std::uint64_t bytes = 0, limit = 0;
    if (!mat_multiply(static_cast<std::uint64_t>(points), size, bytes) ||
        !mat_multiply(m_file_size, mat_deflate_max_ratio, limit) || bytes > limit)
      m_origin->fail("HDF5 dataset '", path, "': expected at most ", mat_deflate_max_ratio,
                     " times the file size (", m_file_size, " bytes) of data, got ", points,
                     " points of ", size, " bytes");
    if (m_api->plist_external_count(plist.get()) != 0)
      m_origin->fail("HDF5 dataset '", path, "': expected data inside the file, got external ",
                     "storage");
    const std::uint64_t stored = m_api->dataset_storage_size(id);
    if (layout == hdf5_api::compact || layout == hdf5_api::contiguous) {
      if (stored != bytes)
        m_origin->fail("HDF5 dataset '", path, "': expected ", bytes, " stored bytes (", points,
                       " points of ", size, " bytes) in its ",
                       layout == hdf5_api::compact ? "compact" : "contiguous", " storage, got ",
                       stored);
    } else if (layout != hdf5_api::chunked) {
      m_origin->fail("HDF5 dataset '", path, "': expected compact, contiguous or chunked ",
                     "storage, got layout ", layout);
    }
    if (stored > m_file_size)
      m_origin->fail("HDF5 dataset '", path, "': expected at most the file size (", m_file_size,
                     " bytes) stored, got ", stored, " (truncated file?)");
  }

  static constexpr std::uint64_t max_objects = 1'000'000;

  const hdf5_api* m_api;
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
  // how long the file was written (HDF5 checks this too, but reports it on stderr).
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
  const hdf5_api* api = hdf5_api::loaded();
  if (api == nullptr)
    origin.fail("expected HDF5 >= 1.10 in the process (through matio) to check a v7.3 file, ",
                "got none");
  struct file_handle {
    const hdf5_api* api;
    hdf5_api::hid id;
    ~file_handle() {
      if (id >= 0) api->file_close(id);
    }
  } file{api, api->file_open(path.c_str(), hdf5_api::read_only, hdf5_api::default_plist)};
  if (file.id < 0)
    origin.fail("expected an HDF5 file after the v7.3 header, got a file HDF5 cannot open");
  mat_v73_check(*api, size, origin).group(file.id, "/", 0);
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_MAT_HDF5_HPP
