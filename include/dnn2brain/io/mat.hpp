#ifndef DNN2BRAIN_IO_MAT_HPP
#define DNN2BRAIN_IO_MAT_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <matio.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/representable.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/mat_hdf5.hpp>
#include <dnn2brain/io/detail/mat_hdf5_isolation.hpp>
#include <dnn2brain/io/detail/mat_v5.hpp>
#include <dnn2brain/io/detail/utf8.hpp>

namespace dnn2brain::io {

/// What a MATLAB value holds, as far as reading it goes.
enum class mat_kind {
  numeric,    ///< double, single, int8 ... uint64: read with array<T>()
  logical,    ///< logical: read with array<T>() (0/1)
  character,  ///< char: read with string()
  structure,  ///< struct array: field(name, index)
  cell,       ///< cell array: cell(index)
  empty,      ///< an empty value of no particular class (array<T>() gives an empty array)
  other,      ///< sparse, complex, object, function handle, ...: not readable here
};

namespace detail {

// This namespace hides dnn2brain::detail inside dnn2brain::io: bring in the error helpers.
using dnn2brain::detail::concat;
using dnn2brain::detail::throw_io_error;

// Calls f(S{}) with the element type S of matio's in-memory data type; false for others.
template <typename F>
bool visit_mat_type(matio_types type, F&& f) {
  switch (type) {
    case MAT_T_DOUBLE:
      f(double{});
      return true;
    case MAT_T_SINGLE:
      f(float{});
      return true;
    case MAT_T_INT8:
      f(std::int8_t{});
      return true;
    case MAT_T_UINT8:
      f(std::uint8_t{});
      return true;
    case MAT_T_INT16:
      f(std::int16_t{});
      return true;
    case MAT_T_UINT16:
      f(std::uint16_t{});
      return true;
    case MAT_T_INT32:
      f(std::int32_t{});
      return true;
    case MAT_T_UINT32:
      f(std::uint32_t{});
      return true;
    case MAT_T_INT64:
      f(std::int64_t{});
      return true;
    case MAT_T_UINT64:
      f(std::uint64_t{});
      return true;
    default:
      return false;
  }
}

// Bytes per element of matio's in-memory data type, 0 for others.
[[nodiscard]] inline std::size_t mat_type_size(matio_types type) {
  std::size_t size = 0;
  visit_mat_type(type, [&size]<typename S>(S) { size = sizeof(S); });
  return size;
}

struct mat_close {
  void operator()(mat_t* mat) const noexcept { Mat_Close(mat); }
};
struct mat_var_free {
  void operator()(matvar_t* var) const noexcept { Mat_VarFree(var); }
};

}  // namespace detail

/// \brief A value read from a MATLAB .mat file: a variable, or a field or cell inside one.
///
/// A value owns the variable it came from: fields and cells share that ownership, so they stay
/// valid after the variable's mat_value or the mat_file is gone. Subscripts are 0-based and
/// column-major like MATLAB's (a linear index k is MATLAB's (k+1)); error messages and where()
/// name values in MATLAB's own 1-based syntax, e.g. "RDMs(1,4,2).RDM".
class mat_value {
 public:
  [[nodiscard]] mat_kind kind() const noexcept {
    if (m_var->isComplex) return mat_kind::other;
    switch (m_var->class_type) {
      case MAT_C_EMPTY:
        return mat_kind::empty;
      case MAT_C_CELL:
        return mat_kind::cell;
      case MAT_C_STRUCT:
        return mat_kind::structure;
      case MAT_C_CHAR:
        return mat_kind::character;
      case MAT_C_DOUBLE:
      case MAT_C_SINGLE:
      case MAT_C_INT8:
      case MAT_C_UINT8:
      case MAT_C_INT16:
      case MAT_C_UINT16:
      case MAT_C_INT32:
      case MAT_C_UINT32:
      case MAT_C_INT64:
      case MAT_C_UINT64:
        return m_var->isLogical ? mat_kind::logical : mat_kind::numeric;
      default:
        return mat_kind::other;
    }
  }

  /// MATLAB's class name: "double", "single", "int8" ... "uint64", "logical", "char", "struct",
  /// "cell", "sparse", "object", "function_handle", "opaque", or "empty".
  [[nodiscard]] std::string class_name() const {
    if (m_var->isLogical) return "logical";
    switch (m_var->class_type) {
      case MAT_C_EMPTY:
        return "empty";
      case MAT_C_CELL:
        return "cell";
      case MAT_C_STRUCT:
        return "struct";
      case MAT_C_OBJECT:
        return "object";
      case MAT_C_CHAR:
        return "char";
      case MAT_C_SPARSE:
        return "sparse";
      case MAT_C_DOUBLE:
        return "double";
      case MAT_C_SINGLE:
        return "single";
      case MAT_C_INT8:
        return "int8";
      case MAT_C_UINT8:
        return "uint8";
      case MAT_C_INT16:
        return "int16";
      case MAT_C_UINT16:
        return "uint16";
      case MAT_C_INT32:
        return "int32";
      case MAT_C_UINT32:
        return "uint32";
      case MAT_C_INT64:
        return "int64";
      case MAT_C_UINT64:
        return "uint64";
      case MAT_C_FUNCTION:
        return "function_handle";
      default:
        return "opaque";
    }
  }

  /// The value in MATLAB syntax, e.g. "RDMs(1,4,2).RDM" (1-based), as error messages name it.
  [[nodiscard]] const std::string& where() const noexcept { return m_where; }
  /// The file the value was read from.
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return m_file; }

  /// MATLAB's size(): at least 2 entries.
  [[nodiscard]] std::vector<std::size_t> dims() const {
    return {m_var->dims, m_var->dims + std::max(m_var->rank, 0)};
  }
  /// The number of elements; saturates at SIZE_MAX (no file that passes the checks gets there).
  [[nodiscard]] std::size_t numel() const noexcept {
    std::size_t n = 1;
    for (int d = 0; d < m_var->rank; ++d) {
      const std::size_t extent = m_var->dims[d];
      if (extent == 0) return 0;
      n = n > std::numeric_limits<std::size_t>::max() / extent
              ? std::numeric_limits<std::size_t>::max()
              : n * extent;
    }
    return n;
  }
  [[nodiscard]] bool is_complex() const noexcept { return m_var->isComplex != 0; }

  /// Field names of a struct array, in file order.
  /// \throws io_error if this is not a struct.
  [[nodiscard]] std::vector<std::string> field_names() const {
    require(mat_kind::structure, "field_names", "a struct");
    const unsigned count = Mat_VarGetNumberOfFields(m_var.get());
    char* const* names = Mat_VarGetStructFieldnames(m_var.get());
    std::vector<std::string> out;
    for (unsigned f = 0; f < count && names != nullptr; ++f) out.emplace_back(names[f]);
    return out;
  }
  [[nodiscard]] bool has_field(const std::string& name) const {
    if (kind() != mat_kind::structure) return false;
    const auto names = field_names();
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  /// \brief Field `name` of element `index` (linear, 0-based, column-major) of a struct array.
  /// \throws io_error if this is not a struct, has no such field, or index >= numel().
  [[nodiscard]] mat_value field(const std::string& name, std::size_t index = 0) const {
    require(mat_kind::structure, "field", "a struct");
    check_index(index, "field");
    if (!has_field(name)) {
      std::string known;
      for (const auto& f : field_names()) known.append(known.empty() ? "" : ", ").append(f);
      fail("field", "a field '" + name + "'",
           known.empty() ? "a struct with no fields" : "only the fields " + known);
    }
    // matio keeps numel x nfields pointers; check that they are there before it indexes them.
    std::uint64_t pointers = 0;
    if (m_var->data == nullptr ||
        !detail::mat_multiply(numel(), Mat_VarGetNumberOfFields(m_var.get()), pointers) ||
        m_var->nbytes / sizeof(matvar_t*) < pointers)
      fail("field", detail::concat(pointers, " field values"),
           detail::concat(m_var->data == nullptr ? 0 : m_var->nbytes / sizeof(matvar_t*)));
    return child(Mat_VarGetStructFieldByName(m_var.get(), name.c_str(), index),
                 element_where(index) + "." + name, "field");
  }
  /// Field `name` of the element at MATLAB-style 0-based subscripts, e.g. {0, 3, 1} for
  /// MATLAB's (1,4,2).
  [[nodiscard]] mat_value field(const std::string& name,
                                std::initializer_list<std::size_t> subscripts) const {
    return field(name, linear_index(subscripts, "field"));
  }

  /// \brief Element `index` (linear, 0-based, column-major) of a cell array.
  /// \throws io_error if this is not a cell array or index >= numel().
  [[nodiscard]] mat_value cell(std::size_t index) const {
    require(mat_kind::cell, "cell", "a cell array");
    check_index(index, "cell");
    const auto* cells = static_cast<matvar_t* const*>(m_var->data);
    if (cells == nullptr || m_var->nbytes / sizeof(matvar_t*) < numel())
      fail("cell", detail::concat(numel(), " cells"),
           detail::concat(cells == nullptr ? 0 : m_var->nbytes / sizeof(matvar_t*)));
    return child(cells[index], detail::concat(m_where, "{", index + 1, "}"), "cell");
  }
  [[nodiscard]] mat_value cell(std::initializer_list<std::size_t> subscripts) const {
    return cell(linear_index(subscripts, "cell"));
  }

  /// \brief A numeric or logical array as a row-major xarray with MATLAB's dims, so that
  /// a(i, j) == MATLAB's A(i+1, j+1). Values convert to T; integer T requires exact values.
  /// \throws io_error for other classes (struct, cell, char, sparse, complex, ...) or a value T
  /// cannot hold.
  template <typename T>
  requires std::is_arithmetic_v<T>
  [[nodiscard]] xt::xarray<T> array() const {
    const mat_kind k = kind();
    const std::size_t count = numel();
    if (k == mat_kind::empty && count != 0) fail("array", "an empty array", description());
    if (k == mat_kind::empty) return xt::xarray<T>::from_shape(dims());
    if (k != mat_kind::numeric && k != mat_kind::logical)
      fail("array", "a numeric or logical array", description());
    const std::vector<std::size_t> shape = dims();
    if (count == 0) return xt::xarray<T>::from_shape(shape);
    // Sizes first, allocation after: the data matio read must hold every element.
    const std::size_t element = detail::mat_type_size(m_var->data_type);
    if (element == 0)
      fail("array", "numeric data", detail::concat("matio data type ", m_var->data_type));
    std::uint64_t bytes = 0;
    if (m_var->data == nullptr || !detail::mat_multiply(count, element, bytes) ||
        m_var->nbytes < bytes)
      fail("array", detail::concat(count, " elements of ", element, " bytes (", description(), ")"),
           detail::concat(m_var->data == nullptr ? 0 : m_var->nbytes, " bytes of data"));
    auto out = xt::xarray<T>::from_shape(shape);
    // MATLAB stores column-major: walk its order, keeping the row-major destination offset.
    const std::size_t rank = shape.size();
    std::vector<std::size_t> stride(rank, 1), at(rank, 0);
    for (std::size_t d = rank - 1; d > 0; --d) stride[d - 1] = stride[d] * shape[d];
    const bool known = detail::visit_mat_type(m_var->data_type, [&]<typename S>(S) {
      const S* in = static_cast<const S*>(m_var->data);
      T* dst = out.data();
      std::size_t offset = 0;
      for (std::size_t n = 0; n < count; ++n) {
        if (!dnn2brain::detail::representable<T>(in[n])) [[unlikely]]
          fail("array", "values that the requested element type holds exactly",
               detail::concat(+in[n], " at linear index ", n));
        if constexpr (std::is_same_v<T, bool>)
          dst[offset] = in[n] != S(0);
        else
          dst[offset] = static_cast<T>(in[n]);  // NOLINT(bugprone-signed-char-misuse): int8 data
        for (std::size_t d = 0; d < rank; ++d) {
          offset += stride[d];
          if (++at[d] < shape[d]) break;
          offset -= stride[d] * shape[d];
          at[d] = 0;
        }
      }
    });
    if (!known) fail("array", "numeric data", detail::concat("matio data type ", m_var->data_type));
    return out;
  }

  /// A numeric or logical value with exactly one element.
  /// \throws io_error as array<T>(), or if numel() != 1.
  template <typename T>
  requires std::is_arithmetic_v<T>
  [[nodiscard]] T scalar() const {
    if (numel() != 1 || (kind() != mat_kind::numeric && kind() != mat_kind::logical))
      fail("scalar", "a numeric scalar", description());
    return array<T>().flat(0);
  }

  /// \brief A char row vector (or empty char array) as UTF-8.
  /// \throws io_error for other classes or a char matrix with more than one row.
  [[nodiscard]] std::string string() const {
    const std::vector<std::size_t> shape = dims();
    if (kind() != mat_kind::character || (numel() > 0 && (shape.size() != 2 || shape[0] != 1)))
      fail("string", "a char row vector", description());
    std::string out;
    const std::size_t count = numel();
    if (count == 0) return out;
    const void* data = m_var->data;
    const auto size = static_cast<std::size_t>(m_var->data_size);
    if (size != 1 && size != 2 && size != 4)
      fail("string", "1, 2 or 4 bytes per character", std::to_string(m_var->data_size));
    const bool utf8 = m_var->data_type == MAT_T_UTF8;
    // The bytes matio read, never a count from the file: UTF-8 needs 1 to 3 bytes per UTF-16
    // unit that MATLAB counts, the others size bytes per character.
    std::uint64_t needed = 0;
    if (!detail::mat_multiply(count, size, needed))
      needed = std::numeric_limits<std::uint64_t>::max();
    const std::size_t have = data == nullptr ? 0 : m_var->nbytes;
    if (utf8 ? (have < count || have / 3 > count) : have < needed)
      fail("string",
           detail::concat(count, " characters of ",
                          utf8 ? "UTF-8" : std::to_string(size) + " bytes"),
           detail::concat(have, " bytes of data"));
    const auto bad_text = [&](const char* what, std::uint32_t value, std::size_t at) {
      std::string hex;
      for (int shift = value > 0xFFFF ? 20 : (value > 0xFF ? 12 : 4); shift >= 0; shift -= 4)
        hex += "0123456789ABCDEF"[(value >> shift) & 0xFU];
      fail("string", "Unicode text", detail::concat(what, " 0x", hex, " at position ", at));
    };
    switch (size) {
      case 1: {
        const auto* in = static_cast<const unsigned char*>(data);
        if (utf8) {
          const std::string_view text(static_cast<const char*>(data), have);
          for (std::size_t n = 0; n < text.size();) {
            const std::size_t length = detail::utf8_sequence(text, n);
            if (length == 0) bad_text("an invalid UTF-8 byte", in[n], n);
            n += length;
          }
          out.assign(text);
        } else {  // 8-bit characters: Latin-1, of which ASCII is the common case
          for (std::size_t n = 0; n < count; ++n) detail::append_utf8(out, in[n]);
        }
        break;
      }
      case 2: {  // UTF-16 code units: surrogates must come in pairs
        const auto* in = static_cast<const std::uint16_t*>(data);
        for (std::size_t n = 0; n < count; ++n) {
          std::uint32_t c = in[n];
          if (c >= 0xD800 && c < 0xDC00 && n + 1 < count && in[n + 1] >= 0xDC00 &&
              in[n + 1] < 0xE000)
            c = 0x10000 + ((c - 0xD800) << 10) + (in[++n] - 0xDC00u);
          else if (c >= 0xD800 && c < 0xE000)
            bad_text("an unpaired UTF-16 surrogate", c, n);
          detail::append_utf8(out, c);
        }
        break;
      }
      default: {
        const auto* in = static_cast<const std::uint32_t*>(data);
        for (std::size_t n = 0; n < count; ++n) {
          if (!detail::is_unicode_scalar_value(in[n])) bad_text("a code point", in[n], n);
          detail::append_utf8(out, in[n]);
        }
        break;
      }
    }
    return out;
  }

  /// Size and class as error messages show them, e.g. "1x4x2 struct".
  [[nodiscard]] std::string description() const {
    std::string text;
    for (const auto d : dims()) text.append(text.empty() ? "" : "x").append(std::to_string(d));
    return text.append(is_complex() ? " complex " : " ").append(class_name());
  }

 private:
  friend class mat_file;

  mat_value(std::shared_ptr<matvar_t> var, std::string where, std::filesystem::path file)
      : m_var(std::move(var)), m_where(std::move(where)), m_file(std::move(file)) {}

  // "dnn2brain::mat_value::<function>: expected <expected> in <where> of '<file>', got <got>"
  [[noreturn]] void fail(const char* function, const std::string& expected, const std::string& got,
                         const std::string* where = nullptr) const {
    detail::throw_io_error(detail::concat("mat_value::", function).c_str(),
                           detail::concat("expected ", expected, " in ", where ? *where : m_where,
                                          " of '", m_file.string(), "', got ", got));
  }

  void require(mat_kind wanted, const char* function, const char* what) const {
    if (kind() != wanted) fail(function, what, description());
  }

  void check_index(std::size_t index, const char* function) const {
    if (index >= numel())
      fail(function, detail::concat("an index below ", numel(), " (", description(), ")"),
           std::to_string(index));
  }

  // MATLAB's rule: with fewer subscripts than dims the last one runs over the remaining dims;
  // extra subscripts must be 0.
  [[nodiscard]] std::size_t linear_index(std::initializer_list<std::size_t> subscripts,
                                         const char* function) const {
    const std::vector<std::size_t> shape = dims();
    std::size_t index = 0, step = 1, d = 0;
    for (const std::size_t s : subscripts) {
      std::size_t extent = d < shape.size() ? shape[d] : 1;
      if (d + 1 == subscripts.size())
        for (std::size_t rest = d + 1; rest < shape.size(); ++rest) extent *= shape[rest];
      if (s >= extent)
        fail(function, detail::concat("subscript ", d, " below ", extent, " (", description(), ")"),
             std::to_string(s));
      index += s * step;
      step *= extent;
      ++d;
    }
    return index;
  }

  [[nodiscard]] std::string element_where(std::size_t index) const {
    if (numel() == 1) return m_where;
    const std::vector<std::size_t> shape = dims();
    std::string text;
    for (std::size_t d = 0, rest = index; d < shape.size(); ++d) {
      text.append(d == 0 ? "(" : ",").append(std::to_string(rest % shape[d] + 1));
      rest /= shape[d];
    }
    return m_where + text + ")";
  }

  // A field or cell: shares ownership of the variable that holds it.
  [[nodiscard]] mat_value child(matvar_t* var, std::string where, const char* function) const {
    if (var == nullptr) fail(function, "a value", "none", &where);
    return {std::shared_ptr<matvar_t>(m_var, var), std::move(where), m_file};
  }

  std::shared_ptr<matvar_t> m_var;
  std::string m_where;
  std::filesystem::path m_file;
};

/// How mat_file opens a file: a small policy struct, e.g. mat_file(path, {.isolate_hdf5 = false}).
struct mat_options {
  /// \brief v7.3 (HDF5) files only: before this process lets HDF5 see the file, a forked child
  /// process checks it, opens it and reads every variable with HDF5 and matio; a crash, an abort
  /// or a loop of HDF5 there (deadline 30 s + 1 s per MiB of file) becomes an io_error here.
  /// Costs a second reading of the file. Programs that cannot fork (MPI with RDMA, ...) set it
  /// to false: the in-process checks still run, but HDF5's own parsers are then trusted.
  bool isolate_hdf5 = true;
};

/// \brief A MATLAB .mat file (v4, v5/v7, or v7.3 HDF5) open for reading through matio.
/// \throws io_error from every member when the file or a variable cannot be read.
class mat_file {
 public:
  /// \brief Opens a file after checking its structure (see docs/io.md, "What each reader
  /// checks"): for v4 and v5/v7 every variable's tags, sizes and nesting, for v7.3 every HDF5
  /// dataset's storage against its dataspace, and (with options.isolate_hdf5) everything HDF5
  /// will do with the file, run first in a separate process. Only then does matio see the file.
  /// \throws io_error if the file does not exist, is not a .mat file, fails a check, makes HDF5
  /// crash or hang in the separate process, or fork() fails (see mat_options).
  explicit mat_file(std::filesystem::path path, mat_options options = {})
      : m_path(std::move(path)) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(m_path, error))
      detail::throw_io_error("mat_file",
                             detail::concat("expected a readable .mat file, got '", m_path.string(),
                                            "', which does not exist or is not a regular file"));
    m_format = detail::check_mat_structure(m_path, m_names);
    if (m_format == detail::mat_format::v73 && options.isolate_hdf5) {
      const detail::file_origin origin{"mat_file", detail::quoted(m_path)};
      const std::uint64_t size = detail::regular_file_size(m_path, origin);
      detail::run_in_child_process(origin, detail::mat_v73_isolation_deadline(size),
                                   [this] { detail::use_mat_v73_as_mat_file_does(m_path); });
    }
    if (m_format == detail::mat_format::v73) detail::check_mat_v73(m_path);
    const detail::hdf5_errors_off quiet(m_format == detail::mat_format::v73);
    m_mat.reset(Mat_Open(m_path.c_str(), MAT_ACC_RDONLY));
    if (!m_mat)
      detail::throw_io_error(
          "mat_file", detail::concat("expected a MATLAB .mat file (v4, v5/v7 or v7.3), got '",
                                     m_path.string(), "'"));
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

  /// Names of the top-level variables, in file order.
  [[nodiscard]] std::vector<std::string> variables() {
    if (m_format != detail::mat_format::v73) return m_names;  // as the checks found them
    const detail::hdf5_errors_off quiet;                      // matio lists the names with HDF5
    std::size_t count = 0;
    // The list belongs to the mat_t (freed by Mat_Close).
    char* const* names = Mat_GetDir(m_mat.get(), &count);
    if (names == nullptr && count > 0)
      detail::throw_io_error(
          "mat_file::variables",
          detail::concat("expected a list of variables, got none from '", m_path.string(), "'"));
    std::vector<std::string> out;
    for (std::size_t v = 0; v < count; ++v)
      if (names[v] != nullptr) out.emplace_back(names[v]);
    return out;
  }

  [[nodiscard]] bool contains(const std::string& variable) {
    const auto names = variables();
    return std::find(names.begin(), names.end(), variable) != names.end();
  }

  /// \brief Reads a variable completely.
  /// \throws io_error if there is no such variable or matio cannot read it.
  [[nodiscard]] mat_value read(const std::string& variable) {
    std::shared_ptr<matvar_t> var;
    if (m_format == detail::mat_format::v73 || contains(variable)) {
      const detail::hdf5_errors_off quiet(m_format == detail::mat_format::v73);
      var.reset(Mat_VarRead(m_mat.get(), variable.c_str()), detail::mat_var_free{});
    }
    if (!var) {
      std::string known;
      for (const auto& v : variables()) known.append(known.empty() ? "" : ", ").append(v);
      detail::throw_io_error("mat_file::read",
                             contains(variable)
                                 ? detail::concat("expected to read variable '", variable, "' of '",
                                                  m_path.string(), "', got a matio error")
                                 : detail::concat("expected a variable '", variable, "' in '",
                                                  m_path.string(), "', got only: ", known));
    }
    return {std::move(var), variable, m_path};
  }

 private:
  std::filesystem::path m_path;
  detail::mat_format m_format = detail::mat_format::v5;
  std::vector<std::string> m_names;  // v4 and v5: the variables the checks found
  std::unique_ptr<mat_t, detail::mat_close> m_mat;
};

/// \brief Reads a numeric or logical top-level variable as a row-major array with MATLAB's dims.
/// \throws io_error as mat_file and mat_value::array.
template <typename T>
requires std::is_arithmetic_v<T>
[[nodiscard]] xt::xarray<T> read_mat_array(const std::filesystem::path& path,
                                           const std::string& variable) {
  return mat_file(path).read(variable).array<T>();
}

/// A named array that write_mat() stores as a MATLAB variable of class double. `values` is
/// row-major with MATLAB's dims: values(i, j, k) becomes A(i+1, j+1, k+1), the reading rule of
/// mat_value::array(), so read_mat_array<double>(path, name) gives `values` back.
struct mat_variable {
  std::string name{};
  xt::xarray<double> values{};
};

/// Options of write_mat().
struct mat_write_options {
  /// zlib-compress each variable (MATLAB's default for -v7; scipy.io.loadmat and MATLAB read it).
  bool compress{true};
};

namespace detail {

/// MATLAB's identifier rule (isvarname) with namelengthmax 63: a letter, then letters, digits
/// or underscores.
[[nodiscard]] inline bool is_mat_variable_name(std::string_view name) noexcept {
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (name.empty() || name.size() > 63 || !letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9') || c == '_'; });
}

}  // namespace detail

/// \brief Writes numeric arrays as double variables of a MATLAB v5 .mat file (what scipy's
/// savemat and MATLAB's save -v7 write), atomically: a temporary next to `path` is renamed onto
/// it only once matio has written and closed it, so an error leaves no file (or the previous one).
///
/// Every array keeps its shape as MATLAB's dims (rank 2 or more; MATLAB has no 1-D arrays) and
/// is stored column-major as MATLAB expects, so read_mat_array<double>(path, name) and
/// scipy.io.loadmat(path)[name] both give the same array back. Variables are written in the
/// order given.
/// \throws invalid_argument, before anything is written, for a name that is not a MATLAB variable
/// name (a letter, then letters, digits or underscores, at most 63), a repeated name, an array of
/// rank below 2, or one of more than 2^31 − 1 bytes (the v5 format's limit per variable).
/// \throws io_error if the file cannot be created or written.
/// Complexity: one column-major copy of each array, written one variable at a time.
inline void write_mat(const std::filesystem::path& path, const std::vector<mat_variable>& variables,
                      const mat_write_options& options = {}) {
  constexpr const char* function = "write_mat";
  for (std::size_t v = 0; v < variables.size(); ++v) {
    const mat_variable& variable = variables[v];
    if (!detail::is_mat_variable_name(variable.name))
      dnn2brain::detail::throw_invalid_argument(
          function, detail::concat("expected a MATLAB variable name (a letter, then letters, "
                                   "digits or underscores, at most 63), got '",
                                   variable.name, "' for variable ", v));
    for (std::size_t w = 0; w < v; ++w)
      if (variables[w].name == variable.name)
        dnn2brain::detail::throw_invalid_argument(
            function, detail::concat("expected distinct variable names, got '", variable.name,
                                     "' twice (variables ", w, " and ", v, ")"));
    if (variable.values.dimension() < 2)
      dnn2brain::detail::throw_invalid_argument(
          function,
          detail::concat("expected an array of rank 2 or more for variable '", variable.name,
                         "' (MATLAB has no 1-D arrays), got rank ", variable.values.dimension()));
    constexpr std::size_t max_bytes = (std::size_t{1} << 31) - 1;
    if (variable.values.size() > max_bytes / sizeof(double))
      dnn2brain::detail::throw_invalid_argument(
          function,
          detail::concat("expected at most ", max_bytes,
                         " bytes per variable (the v5 format's limit), got ",
                         variable.values.size(), " doubles for variable '", variable.name, "'"));
  }
  atomic_file file(path);
  const std::string temporary = file.temporary_path().string();
  std::unique_ptr<mat_t, detail::mat_close> mat(
      Mat_CreateVer(temporary.c_str(), nullptr, MAT_FT_MAT5));
  if (!mat)
    detail::throw_io_error(function, detail::concat("matio cannot create the temporary '",
                                                    temporary, "' for '", path.string(), "'"));
  for (const mat_variable& variable : variables) {
    xt::xarray<double, xt::layout_type::column_major> column_major = variable.values;
    std::vector<std::size_t> dims(variable.values.shape().begin(), variable.values.shape().end());
    const std::unique_ptr<matvar_t, detail::mat_var_free> var(Mat_VarCreate(
        variable.name.c_str(), MAT_C_DOUBLE, MAT_T_DOUBLE, static_cast<int>(dims.size()),
        dims.data(), column_major.data(), MAT_F_DONT_COPY_DATA));
    if (!var)
      detail::throw_io_error(
          function, detail::concat("matio cannot create variable '", variable.name, "' for '",
                                   path.string(), "'"));
    if (Mat_VarWrite(mat.get(), var.get(),
                     options.compress ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE) != 0)
      detail::throw_io_error(function, detail::concat("writing variable '", variable.name, "' to '",
                                                      path.string(), "' failed (disk full?)"));
  }
  if (Mat_Close(mat.release()) != 0)
    detail::throw_io_error(function,
                           detail::concat("closing '", path.string(), "' failed (disk full?)"));
  file.commit();
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_MAT_HPP
