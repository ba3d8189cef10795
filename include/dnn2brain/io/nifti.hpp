#ifndef DNN2BRAIN_IO_NIFTI_HPP
#define DNN2BRAIN_IO_NIFTI_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>

#include <nifti2_io.h>
#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/representable.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/nifti_header.hpp>
#include <dnn2brain/searchlight/geometry.hpp>

namespace dnn2brain::io {

/// Voxel data types of NIfTI-1/2 files that dnn2brain reads and writes (the DT_* codes).
/// Complex, RGB, binary and float128 files are rejected with io_error.
enum class nifti_datatype : std::int16_t {
  uint8 = 2,
  int16 = 4,
  int32 = 8,
  float32 = 16,
  float64 = 64,
  int8 = 256,
  uint16 = 512,
  uint32 = 768,
  int64 = 1024,
  uint64 = 1280,
};

/// Header layout of a file: NIfTI-1 (348-byte header, dims up to 32767) or NIfTI-2 (540 bytes,
/// 64-bit dims).
enum class nifti_format { nifti1 = 1, nifti2 = 2 };

/// What read_nifti_header reports, and the metadata part of every nifti_image.
struct nifti_header {
  /// Grid (nx, ny, nz) and nibabel's `img.affine`: the sform when sform_code > 0, else the qform
  /// when qform_code > 0, else the pixdim scaling centred on the volume with x flipped
  /// (nibabel's get_base_affine).
  volume_geometry geometry{};
  /// Shape of the data as read: (nx, ny, nz) or (nx, ny, nz, nt); a 2-D file has nz = 1. Files
  /// with more dimensions are accepted when at most one of dims 4..7 exceeds 1 (e.g. 5-D
  /// (nx, ny, nz, 1, nu)); that one becomes the 4th axis.
  std::vector<std::size_t> shape{};
  /// pixdim[1..3] as stored (nibabel's zooms; mm in practically every file).
  std::array<double, 3> voxel_size{};
  /// pixdim[4] of a 4-D file in seconds (converted from ms or µs as xyzt_units says); 0 for 3-D.
  double repetition_time = 0.0;
  /// DT_* code on disk; may be a type the data readers reject (see nifti_datatype).
  int datatype = 0;
  nifti_format format = nifti_format::nifti1;
  /// Stored scaling: data = raw * scl_slope + scl_inter unless the slope is 0 or NaN.
  double scl_slope = 0.0;
  double scl_inter = 0.0;
  int sform_code = 0;
  int qform_code = 0;
  int intent_code = 0;
  std::string description{};

  /// Number of volumes: shape[3] for 4-D data, 1 for 3-D.
  [[nodiscard]] std::size_t volumes() const noexcept { return shape.size() == 4 ? shape[3] : 1; }
};

/// A NIfTI image read into memory. data is row-major with shape (nx, ny, nz[, nt]), and
/// data(i, j, k[, t]) equals nibabel's `img.get_fdata()[i, j, k[, t]]` (scl_slope/scl_inter
/// applied) converted to T. A nifti_image<std::uint8_t>'s data is a volume_mask.
/// Name it qualified (io::nifti_image): nifti_clib's own C struct `nifti_image` is global.
template <typename T = float>
struct nifti_image : nifti_header {
  xt::xarray<T> data{};
};

/// Options of write_nifti.
struct nifti_write_options {
  nifti_format format = nifti_format::nifti1;
  /// Type on disk; by default the element type's (bool is written as uint8). Values must be
  /// exactly representable in the chosen type.
  std::optional<nifti_datatype> datatype{};
  /// Meaning of the affine: sform_code 2 (aligned) is what nibabel writes for a new image.
  /// nibabel leaves qform_code 0 but fills in the quaternion; nifti_clib writes the quaternion
  /// only with a nonzero code, so qform_code 1 (scanner) keeps the qform available to readers
  /// that look only at it. Shears cannot be expressed by a qform; the sform keeps them.
  int sform_code = 2;
  int qform_code = 1;
  /// pixdim[4] of a 4-D image in seconds; 0 writes nibabel's default 1 with unknown time units.
  double repetition_time = 0.0;
};

namespace detail {

// This namespace hides dnn2brain::detail inside dnn2brain::io: bring in the error helpers.
using dnn2brain::detail::concat;
using dnn2brain::detail::throw_invalid_argument;
using dnn2brain::detail::throw_io_error;

// The element types behind the DT_* codes dnn2brain handles.
template <typename T>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of = std::nullopt;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::uint8_t> =
    nifti_datatype::uint8;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<bool> = nifti_datatype::uint8;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::int8_t> =
    nifti_datatype::int8;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::int16_t> =
    nifti_datatype::int16;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::uint16_t> =
    nifti_datatype::uint16;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::int32_t> =
    nifti_datatype::int32;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::uint32_t> =
    nifti_datatype::uint32;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::int64_t> =
    nifti_datatype::int64;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<std::uint64_t> =
    nifti_datatype::uint64;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<float> = nifti_datatype::float32;
template <>
inline constexpr std::optional<nifti_datatype> nifti_datatype_of<double> = nifti_datatype::float64;
template <typename T>
inline constexpr bool is_nifti_value = nifti_datatype_of<T>.has_value();

// Calls f(S{}) with the element type S of a supported DT_* code; false for other codes.
template <typename F>
bool visit_nifti_datatype(int code, F&& f) {
  switch (code) {
    case int(nifti_datatype::uint8):
      f(std::uint8_t{});
      return true;
    case int(nifti_datatype::int8):
      f(std::int8_t{});
      return true;
    case int(nifti_datatype::int16):
      f(std::int16_t{});
      return true;
    case int(nifti_datatype::uint16):
      f(std::uint16_t{});
      return true;
    case int(nifti_datatype::int32):
      f(std::int32_t{});
      return true;
    case int(nifti_datatype::uint32):
      f(std::uint32_t{});
      return true;
    case int(nifti_datatype::int64):
      f(std::int64_t{});
      return true;
    case int(nifti_datatype::uint64):
      f(std::uint64_t{});
      return true;
    case int(nifti_datatype::float32):
      f(float{});
      return true;
    case int(nifti_datatype::float64):
      f(double{});
      return true;
    default:
      return false;
  }
}

[[nodiscard]] inline std::string nifti_datatype_name(int code) {
  const char* name = nifti_datatype_string(code);  // "UNKNOWN" for codes it does not know
  return concat(name ? name : "UNKNOWN", " (code ", code, ")");
}

template <typename T, typename S>
[[nodiscard]] T nifti_convert(S v) noexcept {
  if constexpr (std::is_same_v<T, bool>)
    return v != S(0);
  else
    return static_cast<T>(v);
}

// nifti_clib reports problems on stderr at its default debug level 1; dnn2brain reports them as
// exceptions. Lowered once, so a user who raises it again for debugging keeps their level.
inline void quiet_nifti_clib() {
  [[maybe_unused]] static const bool once = (nifti_set_debug_level(0), true);
}

struct nifti_image_free_deleter {
  void operator()(::nifti_image* image) const noexcept { nifti_image_free(image); }
};
using nifti_handle = std::unique_ptr<::nifti_image, nifti_image_free_deleter>;

[[nodiscard]] inline Eigen::Matrix4d nifti_affine_of(const nifti_dmat44& m) {
  Eigen::Matrix4d a;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a(r, c) = m.m[r][c];
  return a;
}

[[nodiscard]] inline nifti_dmat44 nifti_matrix_of(const Eigen::Matrix4d& a) {
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = a(r, c);
  return m;
}

// An opened file whose header and extensions passed nifti_read_layout, and nifti_clib's
// conversion of that header. `input` stands after the extensions, where the data is read from.
struct nifti_opened {
  std::unique_ptr<nifti_input> input;
  nifti_layout layout;
  nifti_handle image;
  nifti_format format;
};

[[nodiscard]] inline nifti_opened nifti_open(const std::filesystem::path& path,
                                             const char* function) {
  quiet_nifti_clib();
  std::error_code error;
  // nifti_clib, given "x.nii" that does not exist, would open "x.nii.gz": dnn2brain opens the
  // path itself, and only that.
  if (!std::filesystem::is_regular_file(path, error))
    throw_io_error(function, concat("expected a readable NIfTI file, got '", path.string(),
                                    "', which does not exist or is not a regular file"));
  const std::string name = path.filename().string();
  if (name.ends_with(".img") || name.ends_with(".img.gz"))
    throw_io_error(function, concat("expected the .hdr file of a .hdr/.img pair (or a .nii), got '",
                                    path.string(), "'"));
  nifti_opened opened;
  opened.input = std::make_unique<nifti_input>(nifti_origin{function, path});
  opened.layout = nifti_read_layout(*opened.input);
  opened.image.reset(nifti_convert_layout(opened.layout));
  if (!opened.image)
    throw_io_error(function, concat("nifti_clib cannot convert the validated header of '",
                                    path.string(), "'"));
  opened.format = opened.layout.version == 2 ? nifti_format::nifti2 : nifti_format::nifti1;
  return opened;
}

[[nodiscard]] inline nifti_header nifti_header_of(const ::nifti_image& image, nifti_format format,
                                                  const std::filesystem::path& path,
                                                  const char* function) {
  nifti_header h;
  const auto ndim = image.dim[0];
  const std::size_t nx = std::size_t(image.nx), ny = std::size_t(image.ny),
                    nz = std::size_t(image.nz);
  h.shape = {nx, ny, nz};
  if (ndim >= 4) {
    std::size_t volumes = 1;
    int longer = 0;
    for (int d = 4; d <= ndim; ++d) {
      volumes *= std::size_t(image.dim[d]);
      longer += image.dim[d] > 1 ? 1 : 0;
    }
    if (longer > 1)
      throw_io_error(function, concat("expected at most one of dims 4..7 above 1 in '",
                                      path.string(), "', got dims (", image.dim[1], ", ",
                                      image.dim[2], ", ", image.dim[3], ", ", image.dim[4], ", ",
                                      image.dim[5], ", ", image.dim[6], ", ", image.dim[7], ")"));
    h.shape.push_back(volumes);
  }
  h.geometry.shape = {nx, ny, nz};
  if (image.sform_code > 0) {
    h.geometry.affine = nifti_affine_of(image.sto_xyz);
  } else if (image.qform_code > 0) {
    h.geometry.affine = nifti_affine_of(image.qto_xyz);
  } else {
    // nibabel's base affine: zooms on the diagonal, x flipped, origin at the volume's centre.
    Eigen::Matrix4d a = Eigen::Matrix4d::Identity();
    for (int d = 0; d < 3; ++d) {
      const double zoom = (d < ndim ? image.pixdim[d + 1] : 1.0) * (d == 0 ? -1.0 : 1.0);
      a(d, d) = zoom;
      a(d, 3) = -(double(h.geometry.shape[std::size_t(d)]) - 1.0) / 2.0 * zoom;
    }
    h.geometry.affine = a;
  }
  if (!h.geometry.affine.allFinite())
    throw_io_error(function,
                   concat("'", path.string(), "': expected a finite ",
                          image.sform_code > 0   ? "sform (header fields 'srow_x/y/z')"
                          : image.qform_code > 0 ? "qform (header fields 'quatern_*', 'qoffset_*')"
                                                 : "pixdim",
                          ", got NaN or infinity"));
  h.voxel_size = {image.pixdim[1], image.pixdim[2], image.pixdim[3]};
  if (ndim >= 4) {
    const double scale = image.time_units == NIFTI_UNITS_MSEC   ? 1e-3
                         : image.time_units == NIFTI_UNITS_USEC ? 1e-6
                                                                : 1.0;
    h.repetition_time = image.pixdim[4] * scale;
  }
  h.datatype = image.datatype;
  h.format = format;
  h.scl_slope = image.scl_slope;
  h.scl_inter = image.scl_inter;
  h.sform_code = image.sform_code;
  h.qform_code = image.qform_code;
  h.intent_code = image.intent_code;
  const char* end = std::find(std::begin(image.descrip), std::end(image.descrip), '\0');
  h.description.assign(std::begin(image.descrip), end);
  return h;
}

// Reorders NIfTI's i-fastest storage (in raw's pieces, byte-swapped if the file's byte order
// differs) into the row-major (i, j, k, t) array, scaling as nibabel does and converting to T.
template <typename T, typename S>
void nifti_fill(const nifti_raw_data& raw, bool swapped, nifti_image<T>& out,
                const std::filesystem::path& path, const char* function) {
  const std::size_t nx = out.shape[0], ny = out.shape[1], nz = out.shape[2], nt = out.volumes();
  // nibabel: a zero or non-finite slope means "no scaling" (nifti_clib already turned a
  // non-finite slope or intercept into 0).
  const bool scaled = out.scl_slope != 0.0 && std::isfinite(out.scl_slope) &&
                      !(out.scl_slope == 1.0 && out.scl_inter == 0.0);
  T* data = out.data.data();
  // Pieces hold whole voxels: nifti_chunk_bytes is a multiple of every voxel size.
  static_assert(nifti_chunk_bytes % sizeof(S) == 0);
  auto chunk = raw.chunks.begin();
  const unsigned char* p = chunk == raw.chunks.end() ? nullptr : chunk->data();
  const unsigned char* end = chunk == raw.chunks.end() ? nullptr : p + chunk->size();
  for (std::size_t t = 0; t < nt; ++t)
    for (std::size_t k = 0; k < nz; ++k)
      for (std::size_t j = 0; j < ny; ++j)
        for (std::size_t i = 0; i < nx; ++i) {
          if (p == end) {
            ++chunk;
            DNN2BRAIN_ASSERT(chunk != raw.chunks.end(), "nifti_fill: fewer bytes than voxels");
            p = chunk->data();
            end = p + chunk->size();
          }
          S v;
          std::memcpy(&v, p, sizeof(S));
          p += sizeof(S);
          if (swapped) v = nifti_byteswap(v);
          const auto store = [&](auto value) {
            if (!dnn2brain::detail::representable<T>(value)) [[unlikely]]
              throw_io_error(function, concat("expected values representable in the requested "
                                              "element type, got ",
                                              +value, " at voxel (", i, ", ", j, ", ", k, ", ", t,
                                              ") of '", path.string(), "'"));
            data[((i * ny + j) * nz + k) * nt + t] = nifti_convert<T>(value);
          };
          if (scaled)
            store(double(v) * out.scl_slope + out.scl_inter);
          else
            store(v);
        }
}

// rank: 0 any (3-D or 4-D), 3 one volume (a 4-D file with one volume is squeezed), 4 a series.
template <typename T>
[[nodiscard]] nifti_image<T> nifti_read_as(const std::filesystem::path& path, int rank,
                                           const char* function) {
  // No structured binding: clang before 16 cannot capture one in the lambda below.
  nifti_opened opened = nifti_open(path, function);
  const nifti_handle& image = opened.image;
  nifti_image<T> out;
  static_cast<nifti_header&>(out) = nifti_header_of(*image, opened.format, path, function);
  if (rank == 3 && out.shape.size() == 4) {
    if (out.shape[3] != 1)
      throw_io_error(function, concat("expected a 3-D volume (or a 4-D file with one volume), "
                                      "got '",
                                      path.string(), "' with ", out.shape[3], " volumes"));
    out.shape.pop_back();
  }
  if (rank == 4 && out.shape.size() != 4)
    throw_io_error(function, concat("expected a 4-D series, got the 3-D volume '", path.string(),
                                    "' of shape (", out.shape[0], ", ", out.shape[1], ", ",
                                    out.shape[2], ")"));
  if (!visit_nifti_datatype(out.datatype, [](auto) {}))
    throw_io_error(function,
                   concat("expected a real-valued voxel type (uint8, int8, int16, "
                          "uint16, int32, uint32, int64, uint64, float32, float64), "
                          "got ",
                          nifti_datatype_name(out.datatype), " in '", path.string(), "'"));
  // The data block, checked against the file's size (or read piece by piece from a gzip
  // stream) before anything of the declared size is allocated; then the result.
  const nifti_raw_data raw = nifti_read_data(*opened.input, opened.layout);
  out.data = xt::xarray<T>::from_shape(out.shape);
  visit_nifti_datatype(out.datatype, [&]<typename S>(S) {
    nifti_fill<T, S>(raw, opened.layout.swapped, out, path, function);
  });
  return out;
}

// Where write_nifti's bytes go: the atomic_file's stream for .nii, a gzip stream onto its
// temporary for .nii.gz. Errors throw io_error.
class nifti_sink {
 public:
  nifti_sink(atomic_file& file, bool gzip, const char* function)
      : m_file(file), m_function(function) {
    if (gzip) {
      m_gzip = gzopen(file.temporary_path().c_str(), "wb");
      if (m_gzip == nullptr)
        throw_io_error(function, concat("cannot create '", file.temporary_path().string(),
                                        "' next to '", file.target().string(), "'"));
    } else {
      m_plain = &file.stream();
    }
  }
  nifti_sink(const nifti_sink&) = delete;
  nifti_sink& operator=(const nifti_sink&) = delete;
  ~nifti_sink() {
    if (m_gzip != nullptr) gzclose(m_gzip);
  }

  void write(const void* bytes, std::size_t size) {
    if (m_plain != nullptr) {
      if (!m_plain->write(static_cast<const char*>(bytes), std::streamsize(size))) fail();
      return;
    }
    // gzwrite takes an unsigned count: feed it at most 1 GiB at a time.
    const auto* p = static_cast<const char*>(bytes);
    while (size > 0) {
      const unsigned chunk = unsigned(std::min<std::size_t>(size, std::size_t(1) << 30));
      if (gzwrite(m_gzip, p, chunk) != int(chunk)) fail();
      p += chunk;
      size -= chunk;
    }
  }

  /// Finishes a gzip stream (its last block and trailer are written here).
  void close() {
    if (m_gzip == nullptr) return;
    const int status = gzclose(m_gzip);
    m_gzip = nullptr;
    if (status != Z_OK) fail();
  }

 private:
  [[noreturn]] void fail() const {
    throw_io_error(m_function,
                   concat("writing '", m_file.target().string(), "' failed (disk full?)"));
  }

  atomic_file& m_file;
  const char* m_function;
  std::ostream* m_plain = nullptr;
  gzFile m_gzip = nullptr;
};

}  // namespace detail

/// Element types that NIfTI data converts to and from: bool, the fixed-width integers, float and
/// double.
template <typename T>
concept nifti_value = detail::is_nifti_value<T>;

/// \brief Reads the header of a NIfTI-1 or NIfTI-2 file (.nii, .nii.gz, or a .hdr/.img pair)
/// without its data.
/// The header and its extensions are validated by dnn2brain before nifti_clib converts them
/// (sizeof_hdr, magic, dim, datatype/bitpix, vox_offset, esize; docs/io.md); the data block is
/// not read, so a file cut within its data still yields its header.
/// \throws io_error if the file is missing or not NIfTI, a header field or extension is invalid,
/// or it has more than one non-singleton dimension beyond the third.
[[nodiscard]] inline nifti_header read_nifti_header(const std::filesystem::path& path) {
  const detail::nifti_opened opened = detail::nifti_open(path, "read_nifti_header");
  return detail::nifti_header_of(*opened.image, opened.format, path, "read_nifti_header");
}

/// \brief Reads a 3-D or 4-D NIfTI-1/2 image (.nii or .nii.gz) into memory.
///
/// data(i, j, k[, t]) == nibabel's `img.get_fdata()[i, j, k[, t]]`: scl_slope/scl_inter are
/// applied in double (unless the slope is 0 or NaN), then the value is converted to T.
/// Complexity: one pass over the nx·ny·nz·nt voxels; peak memory is the raw data plus the result.
/// Nothing of the declared size is allocated before the data is known to exist: a .nii's length
/// is compared with vox_offset + data size, a .nii.gz is read in 1 MiB pieces.
/// \throws io_error if the file is missing, not NIfTI, has an invalid header (see
/// read_nifti_header), is truncated or its gzip stream corrupt, is of a complex/RGB/other
/// datatype, or holds a value that T cannot represent exactly (integer T only; bool takes
/// nonzero as true).
template <nifti_value T = float>
[[nodiscard]] nifti_image<T> read_nifti(const std::filesystem::path& path) {
  return detail::nifti_read_as<T>(path, 0, "read_nifti");
}

/// \brief Reads one 3-D volume; a 4-D file holding a single volume is accepted as 3-D.
/// \throws io_error as read_nifti, and if the file holds more than one volume.
template <nifti_value T = float>
[[nodiscard]] nifti_image<T> read_nifti_volume(const std::filesystem::path& path) {
  return detail::nifti_read_as<T>(path, 3, "read_nifti_volume");
}

/// \brief Reads a 4-D series of shape (nx, ny, nz, nt).
/// \throws io_error as read_nifti, and if the file is 3-D.
template <nifti_value T = float>
[[nodiscard]] nifti_image<T> read_nifti_series(const std::filesystem::path& path) {
  return detail::nifti_read_as<T>(path, 4, "read_nifti_series");
}

/// \brief Writes a 3-D (nx, ny, nz) or 4-D (nx, ny, nz, nt) array as a NIfTI file, atomically:
/// a temporary in the same directory is renamed onto `path` only once it is complete.
///
/// `path` ends in .nii or .nii.gz (gzip-compressed). The sform and qform both come from
/// geometry.affine (codes from options), pixdim[1..3] from the lengths of its columns, units are
/// mm and s, scl_slope 1 and scl_inter 0. Voxel (i, j, k[, t]) of the file is data(i, j, k[, t]).
/// \throws invalid_argument if data is not 3-D or 4-D, its grid differs from geometry.shape,
/// a dimension is 0 (or above 32767 for NIfTI-1), the affine is not finite with a last row
/// (0, 0, 0, 1) and an invertible 3×3 part, the extension is wrong, or a value does not fit the
/// requested datatype.
/// \throws io_error if the file cannot be written; no partial file is left behind.
template <typename E>
void write_nifti(const std::filesystem::path& path, const xt::xexpression<E>& data,
                 const volume_geometry& geometry, const nifti_write_options& options = {}) {
  using value_type = std::decay_t<typename E::value_type>;
  static_assert(nifti_value<value_type>,
                "write_nifti: the element type must be bool, a fixed-width integer, float or "
                "double");
  constexpr const char* function = "write_nifti";
  const auto& e = data.derived_cast();
  const std::string name = path.filename().string();
  if (!(name.ends_with(".nii") || name.ends_with(".nii.gz")) || name.starts_with(".nii"))
    detail::throw_invalid_argument(
        function, detail::concat("expected a file name ending in .nii or .nii.gz, got '",
                                 path.string(), "'"));
  const std::size_t rank = e.dimension();
  if (rank != 3 && rank != 4)
    detail::throw_invalid_argument(function,
                                   detail::concat("expected 3-D or 4-D data, got ", rank, "-D"));
  std::array<std::size_t, 4> shape{1, 1, 1, 1};
  for (std::size_t d = 0; d < rank; ++d) shape[d] = std::size_t(e.shape()[d]);
  for (std::size_t d = 0; d < 3; ++d)
    if (shape[d] != geometry.shape[d])
      detail::throw_invalid_argument(
          function, detail::concat("expected data on the geometry's grid (", geometry.shape[0],
                                   ", ", geometry.shape[1], ", ", geometry.shape[2], "), got axis ",
                                   d, " of length ", shape[d]));
  const std::size_t max_dim = options.format == nifti_format::nifti1
                                  ? std::size_t(std::numeric_limits<std::int16_t>::max())
                                  : std::size_t(std::numeric_limits<std::int64_t>::max());
  for (std::size_t d = 0; d < rank; ++d)
    if (shape[d] == 0 || shape[d] > max_dim)
      detail::throw_invalid_argument(
          function, detail::concat("expected axis lengths in 1..", max_dim,
                                   options.format == nifti_format::nifti1
                                       ? " (NIfTI-1; use nifti_format::nifti2 for more)"
                                       : "",
                                   ", got ", shape[d], " on axis ", d));
  const Eigen::Matrix4d& affine = geometry.affine;
  if (!affine.allFinite() || affine.row(3) != Eigen::RowVector4d(0, 0, 0, 1) ||
      affine.topLeftCorner<3, 3>().determinant() == 0.0)
    detail::throw_invalid_argument(function,
                                   "expected a finite affine with last row (0, 0, 0, "
                                   "1) and an invertible 3x3 part, got a different one");

  const nifti_datatype datatype = options.datatype.value_or(*detail::nifti_datatype_of<value_type>);
  if (!detail::visit_nifti_datatype(int(datatype), [](auto) {}))
    detail::throw_invalid_argument(function,
                                   detail::concat("expected a nifti_datatype enumerator, got ",
                                                  detail::nifti_datatype_name(int(datatype))));
  const bool nifti1 = options.format == nifti_format::nifti1;

  // The header through nifti_clib's own conversion; the bytes are written here, because
  // nifti_clib 3.0 writes NIfTI-2 only for dims that NIfTI-1 cannot hold and ignores failed
  // data writes.
  detail::quiet_nifti_clib();
  std::int64_t dims[8] = {std::int64_t(rank), 1, 1, 1, 1, 1, 1, 1};
  for (std::size_t d = 0; d < 4; ++d) dims[d + 1] = std::int64_t(shape[d]);
  const detail::nifti_handle image(nifti_make_new_nim(dims, int(datatype), 0));
  if (!image) detail::throw_io_error(function, "nifti_clib cannot create a header");
  image->nifti_type = nifti1 ? NIFTI_FTYPE_NIFTI1_1 : NIFTI_FTYPE_NIFTI2_1;
  // sform = affine; qform = its rotation (shears dropped) as a quaternion; pixdim = the column
  // lengths, which nifti_dmat44_to_quatern returns.
  const nifti_dmat44 sform = detail::nifti_matrix_of(affine);
  image->sform_code = options.sform_code;
  image->sto_xyz = sform;
  image->qform_code = options.qform_code;
  nifti_dmat44_to_quatern(sform, &image->quatern_b, &image->quatern_c, &image->quatern_d,
                          &image->qoffset_x, &image->qoffset_y, &image->qoffset_z, &image->dx,
                          &image->dy, &image->dz, &image->qfac);
  image->xyz_units = NIFTI_UNITS_MM;
  if (rank == 4 && options.repetition_time > 0.0) {
    image->dt = options.repetition_time;
    image->time_units = NIFTI_UNITS_SEC;
  }
  image->scl_slope = 1.0;
  image->scl_inter = 0.0;
  nifti_1_header header1{};
  nifti_2_header header2{};
  // Header, 4-byte extender (no extensions), data: vox_offset 352 or 544.
  image->iname_offset = std::int64_t(nifti1 ? sizeof header1 : sizeof header2) + 4;
  if ((nifti1 ? nifti_convert_nim2n1hdr(image.get(), &header1)
              : nifti_convert_nim2n2hdr(image.get(), &header2)) != 0)
    detail::throw_io_error(
        function, detail::concat("nifti_clib cannot convert the header of '", path.string(), "'"));
  // NIfTI-2's magic continues after "n+2\0" with "\r\n\032\n" (nifti_clib leaves zeros).
  std::memcpy(header2.magic, "n+2\0\r\n\032\n", sizeof header2.magic);

  atomic_file file(path);
  detail::nifti_sink sink(file, name.ends_with(".gz"), function);
  if (nifti1)
    sink.write(&header1, sizeof header1);
  else
    sink.write(&header2, sizeof header2);
  const char extender[4] = {0, 0, 0, 0};
  sink.write(extender, sizeof extender);

  // The data row-major and contiguous: a container as it is, an expression evaluated.
  std::optional<xt::xarray<value_type>> evaluated;
  const value_type* source = nullptr;
  if constexpr (std::is_base_of_v<xt::xcontainer<E>, E> &&
                E::static_layout == xt::layout_type::row_major)
    source = e.data();
  else
    source = evaluated.emplace(e).data();

  // Volume by volume in NIfTI's order (i fastest), converted to the type on disk.
  detail::visit_nifti_datatype(int(datatype), [&]<typename D>(D) {
    const std::size_t ny = shape[1], nz = shape[2], nt = shape[3];
    std::vector<D> volume(shape[0] * ny * nz);
    for (std::size_t t = 0; t < nt; ++t) {
      std::size_t n = 0;
      for (std::size_t k = 0; k < nz; ++k)
        for (std::size_t j = 0; j < ny; ++j)
          for (std::size_t i = 0; i < shape[0]; ++i, ++n) {
            const value_type v = source[((i * ny + j) * nz + k) * nt + t];
            if (!dnn2brain::detail::representable<D>(v)) [[unlikely]]
              detail::throw_invalid_argument(
                  function, detail::concat("expected values that ",
                                           detail::nifti_datatype_name(int(datatype)),
                                           " represents exactly, got ", +v, " at (", i, ", ", j,
                                           ", ", k, ", ", t, ")"));
            volume[n] = detail::nifti_convert<D>(v);
          }
      sink.write(volume.data(), volume.size() * sizeof(D));
    }
  });
  sink.close();
  file.commit();
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_NIFTI_HPP
