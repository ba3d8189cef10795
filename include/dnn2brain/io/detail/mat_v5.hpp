#ifndef DNN2BRAIN_IO_DETAIL_MAT_V5_HPP
#define DNN2BRAIN_IO_DETAIL_MAT_V5_HPP
// IWYU pragma: private

// The structure of MATLAB v4 and v5/v7 .mat files, checked before matio reads them. matio trusts
// the byte counts and dimensions it finds (short reads go unnoticed, a struct's dimensions decide
// an allocation), so mat_file walks the file's own tags first and hands matio only files in which
// every declared size is consistent with the bytes that are there:
//
// - v5: the 128-byte header, then every top-level element. An miMATRIX element is checked in
//   place; an miCOMPRESSED element is inflated (into a buffer that grows as the stream proves it
//   holds the bytes, up to the size its inner tag declares, at most 1032 times the compressed
//   size, deflate's largest ratio, and below 4 GiB) and must inflate to exactly that many bytes.
//   Inside: array flags, dimensions (non-negative, product without overflow), name, the real and
//   imaginary parts (byte count == numel x element size), char data, sparse indices and values,
//   struct field-name length and names, the children of cells, structs and function handles, and
//   the strings and object data of opaque (classdef) values, recursively to mat_max_depth levels.
//   Unnamed top-level elements (MATLAB's subsystem data, scipy's __function_workspace__) are
//   checked the same way but are not variables.
//
// Where matio 1.5.23 (src/mat5.c: Mat_VarReadNextInfo5, ReadNextCell, ReadNextStructField,
// ReadRankDims) reads a fixed-size block, only the form it expects there is accepted, so that the
// check and matio never read the same bytes differently:
// - an element's array flags (16 bytes), its dimensions tag (8 bytes, miINT32) and its name tag
//   (8 bytes) sit at fixed places; names are miINT8, in the small form or the long form (matio
//   skips a long-form name only when its type is exactly miINT8);
// - a struct field's name tag is read as exactly 8 bytes and never skipped, so fields have no name;
// - the field-name length is read as 8 bytes whose second word is the length: it must be the small
//   data element MATLAB writes ((4 << 16) | miINT32, then the value);
// - an opaque value (class 17) has no dimensions: flags, name, type-system name, class name, then
//   its object data as miMATRIX elements. matio reads its name tag where the dimensions would be
//   (a miINT32 tag there would be taken as dimensions), so that tag must be miINT8.
// - v4: every variable's 20-byte header, name and data size against the file.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>

namespace dnn2brain::io::detail {

/// The .mat flavours, told apart by the 128-byte header as matio does.
enum class mat_format { v4, v5, v73 };

/// Nesting of cells and structs that the checks follow before refusing a file.
inline constexpr int mat_max_depth = 32;
/// Longest variable or field name accepted (MATLAB's own limit is 63 characters).
inline constexpr std::uint64_t mat_max_name = 4096;

// MAT v5 data types (miINT8 ...), as the format documents them.
inline constexpr std::uint32_t mi_int8 = 1, mi_uint8 = 2, mi_int16 = 3, mi_uint16 = 4, mi_int32 = 5,
                               mi_uint32 = 6, mi_single = 7, mi_double = 9, mi_int64 = 12,
                               mi_uint64 = 13, mi_matrix = 14, mi_compressed = 15, mi_utf8 = 16,
                               mi_utf16 = 17, mi_utf32 = 18;

/// Bytes per element of a numeric miTYPE, 0 for the others.
[[nodiscard]] constexpr std::uint64_t mi_numeric_size(std::uint32_t type) noexcept {
  switch (type) {
    case mi_int8:
    case mi_uint8:
      return 1;
    case mi_int16:
    case mi_uint16:
      return 2;
    case mi_int32:
    case mi_uint32:
    case mi_single:
      return 4;
    case mi_double:
    case mi_int64:
    case mi_uint64:
      return 8;
    default:
      return 0;
  }
}

/// The 32-bit word at p in the file's byte order.
[[nodiscard]] inline std::uint32_t mat_u32(const unsigned char* p, bool big_endian) noexcept {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v = v << 8 | p[big_endian ? k : 3 - k];
  return v;
}

/// a * b, or false if it does not fit in 64 bits.
[[nodiscard]] constexpr bool mat_multiply(std::uint64_t a, std::uint64_t b,
                                          std::uint64_t& product) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  product = a * b;
  return true;
}

/// Bytes of the file, read at absolute offsets; every read has been checked against size().
class mat_file_bytes {
 public:
  mat_file_bytes(const std::filesystem::path& path, std::uint64_t size, const file_origin& origin)
      : m_in(open_for_reading(path, origin)), m_size(size), m_origin(&origin) {}
  [[nodiscard]] std::uint64_t size() const noexcept { return m_size; }
  void read(std::uint64_t offset, void* destination, std::size_t count) {
    read_at(m_in, offset, destination, count, *m_origin);
  }

 private:
  std::ifstream m_in;
  std::uint64_t m_size;
  const file_origin* m_origin;
};

/// An inflated miCOMPRESSED element.
class mat_memory_bytes {
 public:
  explicit mat_memory_bytes(const std::vector<unsigned char>& bytes) : m_bytes(&bytes) {}
  [[nodiscard]] std::uint64_t size() const noexcept { return m_bytes->size(); }
  void read(std::uint64_t offset, void* destination, std::size_t count) {
    DNN2BRAIN_ASSERT(offset <= m_bytes->size() && count <= m_bytes->size() - offset,
                     "mat_memory_bytes::read: the checks keep every read inside the buffer");
    std::memcpy(destination, m_bytes->data() + offset, count);
  }

 private:
  const std::vector<unsigned char>* m_bytes;
};

/// Checks one miMATRIX element (its contents between `begin` and `end` of a byte source).
template <typename Bytes>
class mat_v5_matrix_check {
 public:
  mat_v5_matrix_check(Bytes& bytes, bool big_endian, const file_origin& origin)
      : m_bytes(&bytes), m_big_endian(big_endian), m_origin(&origin) {}

  /// Checks a top-level element and returns its name: empty for MATLAB's unnamed subsystem data,
  /// which is no variable.
  std::string variable(std::uint64_t begin, std::uint64_t end, const std::string& where) {
    m_name.clear();
    matrix(begin, end, 0, where, role::variable);
    return m_name;
  }

 private:
  struct tag {
    std::uint32_t type;
    std::uint64_t bytes;  // of data
    std::uint64_t data;   // offset of the data
    std::uint64_t next;   // offset of the next element
  };

  // Messages name the variable and, inside it, the cell or field: "variable 'RDMs', RDMs(3).RDM:
  // real part: expected ..., got ...". Before the name is known, where is "element at byte N".
  template <typename... Parts>
  [[noreturn]] void fail(const std::string& where, const Parts&... parts) const {
    if (m_name.empty()) m_origin->fail(where, ": ", parts...);
    if (where == m_name) m_origin->fail("variable '", m_name, "': ", parts...);
    m_origin->fail("variable '", m_name, "', ", where, ": ", parts...);
  }

  std::uint32_t u32(const unsigned char* p) const { return mat_u32(p, m_big_endian); }

  tag read_tag(std::uint64_t at, std::uint64_t end, const std::string& where, const char* what) {
    if (at > end || end - at < 8)
      fail(where, what, ": expected an 8-byte data element tag at byte ", at, ", got ",
           at > end ? 0 : end - at, " bytes before the end of the enclosing element");
    unsigned char raw[8];
    m_bytes->read(at, raw, 8);
    const std::uint32_t first = u32(raw);
    if ((first >> 16) != 0) {  // small data element: 2-byte count, 2-byte type, 4 bytes of data
      const std::uint32_t count = first >> 16;
      if (count > 4)
        fail(where, what, ": expected a small data element of at most 4 bytes, got ", count);
      return {first & 0xffffU, count, at + 4, at + 8};
    }
    const std::uint64_t count = u32(raw + 4), data = at + 8;
    if (count > end - data)
      fail(where, what, ": expected ", count, " bytes of data as its tag declares, got only ",
           end - data, " bytes before the end of the enclosing element (truncated file?)");
    const std::uint64_t padded = (count + 7) / 8 * 8;
    return {first, count, data, std::min(data + padded, end)};
  }

  tag expect(std::uint64_t at, std::uint64_t end, const std::string& where, const char* what,
             std::uint32_t type) {
    const tag t = read_tag(at, end, where, what);
    if (t.type != type) fail(where, what, ": expected data type ", type, ", got ", t.type);
    return t;
  }

  std::string read_text(const tag& t) {
    std::string text(static_cast<std::size_t>(t.bytes), '\0');
    if (t.bytes > 0) m_bytes->read(t.data, text.data(), text.size());
    return text;
  }

  // A name: miINT8 text without NUL. matio takes a small-form name only when its type is miINT8,
  // and skips a long-form name's bytes only when its type is exactly miINT8.
  std::string read_name(const tag& t, const std::string& where, const char* what) {
    if (t.type != mi_int8) fail(where, what, ": expected a miINT8 text, got data type ", t.type);
    if (t.bytes > mat_max_name)
      fail(where, what, ": expected at most ", mat_max_name, " bytes, got ", t.bytes);
    std::string text = read_text(t);
    if (text.find('\0') != std::string::npos)
      fail(where, what, ": expected no NUL byte, got ", printable(text));
    return text;
  }

  // The real or imaginary part of a numeric array: numel elements of a numeric type.
  std::uint64_t numeric_part(std::uint64_t at, std::uint64_t end, std::uint64_t numel,
                             const std::string& where, const char* what) {
    const tag t = read_tag(at, end, where, what);
    const std::uint64_t size = mi_numeric_size(t.type);
    if (size == 0) fail(where, what, ": expected a numeric data type, got ", t.type);
    std::uint64_t bytes = 0;
    if (!mat_multiply(numel, size, bytes) || bytes != t.bytes)
      fail(where, what, ": expected ", numel, " elements of ", size, " bytes as the dimensions say",
           ", got ", t.bytes, " bytes");
    return t.next;
  }

  // What holds an element decides how matio reads its name tag.
  enum class role {
    variable,  // top level: the name, or none for MATLAB's subsystem data
    cell,      // a cell's element: a name is skipped when it is miINT8
    field,     // a struct field: the name tag is read as exactly 8 bytes, never skipped
    handle,    // a function handle's element: read by matio as a top-level element
    object     // an opaque value's object data
  };

  void children(std::uint64_t at, std::uint64_t end, std::uint64_t count, int depth,
                const std::string& where, const std::vector<std::string>& fields) {
    const std::uint64_t per_element = fields.empty() ? 1 : fields.size();
    std::uint64_t total = 0;
    if (!mat_multiply(count, per_element, total) || total > (end - std::min(at, end)) / 8)
      fail(where, "expected ", count, " x ", per_element,
           " element(s) of at least 8 bytes each as the dimensions say, got ",
           end - std::min(at, end), " bytes");
    for (std::uint64_t k = 0; k < count; ++k)
      for (std::uint64_t f = 0; f < per_element; ++f) {
        const std::string child =
            fields.empty() ? dnn2brain::detail::concat(where, "{", k + 1, "}")
                           : dnn2brain::detail::concat(where, "(", k + 1, ").",
                                                       fields[static_cast<std::size_t>(f)]);
        const tag t = expect(at, end, child, "element", mi_matrix);
        matrix(t.data, t.data + t.bytes, depth + 1, child,
               fields.empty() ? role::cell : role::field);
        at = t.next;
      }
  }

  // miMATRIX elements from at to end (a function handle's or an opaque value's data); returns
  // their number. matio reads a function handle's elements as top-level ones: none may be empty.
  std::uint64_t elements(std::uint64_t at, std::uint64_t end, int depth, const std::string& where,
                         role kind) {
    std::uint64_t count = 0;
    while (at < end) {
      const std::string child = dnn2brain::detail::concat(where, "{", count + 1, "}");
      const tag t = expect(at, end, child, "element", mi_matrix);
      if (t.bytes == 0) fail(child, "element: expected an array, got an empty miMATRIX element");
      matrix(t.data, t.data + t.bytes, depth + 1, child, kind);
      at = t.next;
      ++count;
    }
    return count;
  }

  std::uint64_t struct_fields(std::uint64_t at, std::uint64_t end, std::uint64_t numel, int depth,
                              const std::string& here) {
    // matio reads 8 bytes and takes the second word as the length: only the small data element
    // (4 bytes of miINT32) says that; a long-form tag would give its byte count instead.
    if (at > end || end - at < 8)
      fail(here, "field name length: expected an 8-byte small data element, got ",
           at > end ? 0 : end - at, " bytes");
    unsigned char raw[8];
    m_bytes->read(at, raw, 8);
    if (u32(raw) != (4U << 16 | mi_int32))
      fail(here, "field name length: expected a small data element of 4 bytes of miINT32 (",
           4U << 16 | mi_int32, "), got a tag ", u32(raw));
    const std::uint32_t width = u32(raw + 4);
    if (width < 1 || width > mat_max_name)
      fail(here, "field name length: expected 1 to ", mat_max_name, ", got ", width);
    const tag names = expect(at + 8, end, here, "field names", mi_int8);
    if (names.bytes % width != 0)
      fail(here, "field names: expected a multiple of ", width, " bytes, got ", names.bytes);
    const std::string text = read_text(names);
    std::vector<std::string> fields;
    for (std::size_t f = 0; f < text.size(); f += width) {
      const std::size_t nul = text.find('\0', f);
      if (nul == std::string::npos || nul >= f + width)
        fail(here, "field names: expected names of at most ", width - 1,
             " bytes, each ending in NUL, got ", printable(text.substr(f, width)));
      fields.push_back(text.substr(f, nul - f));
    }
    if (!fields.empty()) children(names.next, end, numel, depth, here, fields);
    return fields.size();
  }

  void sparse(std::uint64_t at, std::uint64_t end, const std::vector<std::uint64_t>& dims,
              std::uint32_t nzmax, bool complex, const std::string& here,
              const std::string& shape) {
    // matio keeps ir, jc and the values as counted by their own tags, and reads the imaginary
    // values with the real part's count and type: all must agree.
    if (dims.size() != 2) fail(here, "dimensions: expected 2 for a sparse array, got ", shape);
    const tag ir = expect(at, end, here, "sparse row indices", mi_int32);
    const tag jc = expect(ir.next, end, here, "sparse column starts", mi_int32);
    if (ir.bytes % 4 != 0 || jc.bytes != (dims[1] + 1) * 4)
      fail(here, "sparse indices: expected ", dims[1] + 1, " column starts, got ", jc.bytes,
           " bytes");
    const std::uint64_t rows = ir.bytes / 4;
    if (rows > nzmax)
      fail(here, "sparse row indices: expected at most nzmax = ", nzmax, ", got ", rows);
    const tag values = read_tag(jc.next, end, here, "sparse values");
    const std::uint64_t size = mi_numeric_size(values.type);
    if (size == 0 || values.bytes != rows * size)
      fail(here, "sparse values: expected ", rows, " numeric values (one per row index), got type ",
           values.type, " with ", values.bytes, " bytes");
    if (complex) {
      const tag imag = read_tag(values.next, end, here, "sparse imaginary values");
      if (imag.type != values.type || imag.bytes != values.bytes)
        fail(here, "sparse imaginary values: expected ", values.bytes,
             " bytes of the real values' type ", values.type, ", got ", imag.bytes,
             " bytes of type ", imag.type);
    }
  }

  void matrix(std::uint64_t begin, std::uint64_t end, int depth, const std::string& where,
              role kind) {
    const bool top = kind == role::variable;
    if (depth > mat_max_depth)
      fail(where, "expected cells and structs nested at most ", mat_max_depth, " deep, got deeper");
    if (begin == end) {  // an empty miMATRIX: matio's empty value, allowed inside cells/structs
      if (top) fail(where, "expected an array, got an empty miMATRIX element");
      return;
    }
    const tag flags = expect(begin, end, where, "array flags", mi_uint32);
    if (flags.bytes != 8) fail(where, "array flags: expected 8 bytes, got ", flags.bytes);
    unsigned char raw[8];
    m_bytes->read(flags.data, raw, 8);
    const std::uint32_t word = u32(raw);
    const std::uint32_t class_type = word & 0xffU;
    const bool complex = (word & 0x800U) != 0;
    if (class_type < 1 || class_type > 17)
      fail(where, "array flags: expected a class from 1 to 17, got ", class_type);

    if (class_type == 17) {  // opaque: no dimensions (scipy's _mio5_utils.pyx, read_header)
      opaque(flags.next, end, depth, where, kind);
      return;
    }

    const tag dims_tag = expect(flags.next, end, where, "dimensions", mi_int32);
    if (dims_tag.bytes % 4 != 0 || dims_tag.bytes < 8)
      fail(where, "dimensions: expected at least 2 int32 values, got ", dims_tag.bytes, " bytes");
    std::vector<unsigned char> dims_raw(static_cast<std::size_t>(dims_tag.bytes));
    m_bytes->read(dims_tag.data, dims_raw.data(), dims_raw.size());
    std::vector<std::uint64_t> dims;
    std::uint64_t numel = 1;
    bool overflow = false, zero = false;
    for (std::size_t d = 0; d < dims_raw.size(); d += 4) {
      const auto value = static_cast<std::int32_t>(u32(dims_raw.data() + d));
      if (value < 0) fail(where, "dimensions: expected non-negative sizes, got ", value);
      dims.push_back(static_cast<std::uint64_t>(value));
      zero = zero || value == 0;
      overflow = overflow || !mat_multiply(numel, dims.back(), numel);
    }
    std::string shape;
    for (const auto d : dims) shape.append(shape.empty() ? "" : "x").append(std::to_string(d));
    if (zero) numel = 0;
    if (overflow && !zero)
      fail(where, "dimensions: expected a number of elements that fits in 64 bits, got ", shape);

    const tag name_tag = read_tag(dims_tag.next, end, where, "name");
    std::string name = read_name(name_tag, where, "name");
    if (kind == role::field && !name.empty())
      fail(where, "name: expected none for a struct field (matio reads its tag as 8 bytes), got ",
           printable(name));
    if (top) m_name = name;
    const std::string& here = top && !name.empty() ? m_name : where;
    std::uint64_t at = name_tag.next;

    switch (class_type) {
      case 1:  // cell
        children(at, end, numel, depth, here, {});
        break;
      case 2:  // struct
        struct_fields(at, end, numel, depth, here);
        break;
      case 3:  // object: a class name, then as a struct
        struct_fields(read_tag(at, end, here, "class name").next, end, numel, depth, here);
        break;
      case 4: {  // char
        if (complex) fail(here, "array flags: expected a real char array, got a complex one");
        const tag t = read_tag(at, end, here, "characters");
        std::uint64_t bytes = 0;
        if (t.type == mi_utf8) {
          // 1 to 3 UTF-8 bytes per UTF-16 code unit that MATLAB counts
          if (t.bytes < numel || !mat_multiply(numel, 3, bytes) || t.bytes > bytes)
            fail(here, "characters: expected ", numel, " to ", 3 * numel, " bytes of UTF-8 for ",
                 shape, " characters, got ", t.bytes);
          break;
        }
        std::uint64_t size = mi_numeric_size(t.type);
        if (t.type == mi_utf16) size = 2;
        if (t.type == mi_utf32) size = 4;
        if (size == 0 || t.type == mi_single || t.type == mi_double)
          fail(here, "characters: expected an integer or UTF data type, got ", t.type);
        if (!mat_multiply(numel, size, bytes) || bytes != t.bytes)
          fail(here, "characters: expected ", numel, " characters of ", size, " bytes (", shape,
               "), got ", t.bytes, " bytes");
        break;
      }
      case 5:  // sparse: row indices, column starts, values (and imaginary values)
        sparse(at, end, dims, u32(raw + 4), complex, here, shape);
        break;
      case 16: {  // function handle: numel miMATRIX elements, which matio reads as top-level ones
        // matio allocates a pointer per element first: the count must be the elements present.
        const std::uint64_t count = elements(at, end, depth, here, role::handle);
        if (count != numel)
          fail(here, "expected as many elements as the dimensions say (", shape, "), got ", count);
        break;
      }
      default: {  // numeric and logical
        at = numeric_part(at, end, numel, here, "real part");
        if (complex) numeric_part(at, end, numel, here, "imaginary part");
        break;
      }
    }
  }

  // An opaque value (MATLAB classdef objects: string, datetime, table, function handle
  // workspaces): after the array flags, three miINT8 strings (name, type-system name such as
  // "MCOS", class name) and the object data as miMATRIX elements; see scipy's
  // _mio5_utils.pyx, VarReader5.read_header and read_opaque.
  void opaque(std::uint64_t at, std::uint64_t end, int depth, const std::string& where, role kind) {
    const tag name_tag = read_tag(at, end, where, "name");
    const std::string name = read_name(name_tag, where, "name");
    if (kind == role::field && !name.empty())
      fail(where, "name: expected none for a struct field (matio reads its tag as 8 bytes), got ",
           printable(name));
    if (kind == role::variable) m_name = name;
    const std::string& here = kind == role::variable && !name.empty() ? m_name : where;
    const tag system = read_tag(name_tag.next, end, here, "type-system name");
    (void)read_name(system, here, "type-system name");
    const tag class_name = read_tag(system.next, end, here, "class name");
    (void)read_name(class_name, here, "class name");
    if (elements(class_name.next, end, depth, here, role::object) == 0)
      fail(here, "expected the object data of an opaque value, got none");
  }

  Bytes* m_bytes;
  bool m_big_endian;
  const file_origin* m_origin;
  std::string m_name;
};

/// Inflates a zlib stream that must hold exactly one miMATRIX element (tag included).
/// \throws io_error for a corrupt stream, another element type, or a size other than declared.
inline std::vector<unsigned char> mat_inflate_element(const std::vector<unsigned char>& in,
                                                      bool big_endian, const std::string& where,
                                                      const file_origin& origin) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) origin.fail(where, ": zlib: inflateInit failed");
  struct end_guard {
    z_stream* z;
    ~end_guard() { inflateEnd(z); }
  } guard{&z};
  z.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(in.size());  // below 4 GiB: a 32-bit byte count
  const auto fail_stream = [&](int status) {
    origin.fail(where, ": expected a zlib stream, got corrupt compressed data (zlib: ",
                z.msg != nullptr ? z.msg : (status == Z_BUF_ERROR ? "stream ends early" : "error"),
                ")");
  };
  const auto step = [&](unsigned char* out, std::size_t size) {
    z.next_out = out;
    z.avail_out = static_cast<uInt>(size);
    const int status = inflate(&z, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) fail_stream(status);
    return status;
  };
  unsigned char head[8];
  std::size_t have = 0;
  int status = Z_OK;
  while (have < 8 && status != Z_STREAM_END) {
    const uLong before = z.total_out;
    status = step(head + have, 8 - have);
    have += static_cast<std::size_t>(z.total_out - before);
    if (z.total_out == before && status != Z_STREAM_END && z.avail_in == 0)
      fail_stream(Z_BUF_ERROR);
  }
  if (have < 8)
    origin.fail(where, ": expected a compressed miMATRIX element, got ", have,
                " bytes after inflating");
  if (mat_u32(head, big_endian) != mi_matrix)
    origin.fail(where, ": expected a compressed miMATRIX (14) element, got data type ",
                mat_u32(head, big_endian));
  const std::uint64_t declared = mat_u32(head + 4, big_endian);
  std::uint64_t limit = 0;
  if (!mat_multiply(in.size(), deflate_max_ratio, limit) || declared + 8 > limit)
    origin.fail(where, ": expected at most ", deflate_max_ratio, " times the compressed size (",
                in.size(), " bytes) after inflating, the element ", "declares ", declared + 8);
  // The buffer grows (1 MiB, then doubling) only as the stream delivers bytes, so that a small
  // file declaring a huge element commits no more memory than it really inflates to.
  const std::size_t total = static_cast<std::size_t>(declared + 8);
  std::vector<unsigned char> out(std::min<std::size_t>(total, std::size_t{1} << 20));
  std::memcpy(out.data(), head, 8);
  std::size_t filled = 8;
  while (filled < total && status != Z_STREAM_END) {
    if (filled == out.size()) out.resize(std::min(total, 2 * out.size()));
    const uLong before = z.total_out;
    status = step(out.data() + filled, std::min<std::size_t>(out.size() - filled, 1U << 30));
    filled += static_cast<std::size_t>(z.total_out - before);
    if (z.total_out == before && status != Z_STREAM_END && z.avail_in == 0)
      fail_stream(Z_BUF_ERROR);
  }
  if (filled < total)
    origin.fail(where, ": expected ", total, " bytes after inflating as the element declares",
                ", got ", filled, " (truncated or corrupt compressed data)");
  if (status != Z_STREAM_END) {  // the output is full: the stream must end here
    unsigned char extra = 0;
    const uLong before = z.total_out;
    status = step(&extra, 1);
    if (z.total_out != before || status != Z_STREAM_END)
      origin.fail(where, ": expected ", total,
                  " bytes after inflating as the element declares, got more or a stream that does "
                  "not end (truncated file?)");
  }
  return out;
}

/// Reads the .mat header and checks a v4 or v5 file's structure; returns the format and, for v4
/// and v5, the names of the variables in file order.
/// \throws io_error naming the file, the element and what was expected.
inline mat_format check_mat_structure(const std::filesystem::path& path,
                                      std::vector<std::string>& names) {
  const file_origin origin{"mat_file", quoted(path)};
  const std::uint64_t size = regular_file_size(path, origin);
  if (size == 0) origin.fail("expected a MATLAB .mat file, got an empty file");
  mat_file_bytes bytes(path, size, origin);
  names.clear();

  unsigned char header[128];
  if (size >= 128) {
    bytes.read(0, header, 128);
    const bool little = header[126] == 'I' && header[127] == 'M';
    const bool big = header[126] == 'M' && header[127] == 'I';
    const unsigned version = little ? (header[124] | header[125] << 8U)
                                    : static_cast<unsigned>(header[124] << 8U | header[125]);
    if ((little || big) && version == 0x0200) return mat_format::v73;
    if ((little || big) && version == 0x0100) {
      mat_v5_matrix_check<mat_file_bytes> file_check(bytes, big, origin);
      std::uint64_t at = 128;
      while (at < size) {
        const std::string where = dnn2brain::detail::concat("at byte ", at);
        if (size - at < 8)
          origin.fail("element ", where, ": expected an 8-byte tag, got ", size - at,
                      " bytes at the end of the file (truncated file?)");
        unsigned char raw[8];
        bytes.read(at, raw, 8);
        const std::uint32_t type = mat_u32(raw, big);
        const std::uint64_t count = mat_u32(raw + 4, big), data = at + 8;
        if (count > size - data)
          origin.fail("element ", where, ": expected ", count,
                      " bytes of data as its tag declares, got only ", size - data,
                      " bytes before the end of the file (truncated file?)");
        if (type == mi_matrix) {
          if (count % 8 != 0)
            origin.fail("element ", where, ": expected a multiple of 8 bytes, got ", count);
          std::string name = file_check.variable(data, data + count, "element " + where);
          if (!name.empty()) names.push_back(std::move(name));
        } else if (type == mi_compressed) {
          std::vector<unsigned char> compressed(static_cast<std::size_t>(count));
          if (count > 0) bytes.read(data, compressed.data(), compressed.size());
          const std::vector<unsigned char> inflated =
              mat_inflate_element(compressed, big, "element " + where, origin);
          compressed = {};
          mat_memory_bytes memory(inflated);
          mat_v5_matrix_check<mat_memory_bytes> memory_check(memory, big, origin);
          std::string name = memory_check.variable(8, inflated.size(), "element " + where);
          if (!name.empty()) names.push_back(std::move(name));
        } else {
          origin.fail("element ", where, ": expected a miMATRIX (14) or miCOMPRESSED (15) ",
                      "element, got data type ", type);
        }
        at = data + count;
      }
      return mat_format::v5;
    }
  }

  if (size < 128 && size >= 6 && [&] {
        char start[6];
        bytes.read(0, start, 6);
        return std::memcmp(start, "MATLAB", 6) == 0;
      }())
    origin.fail("expected the 128-byte header of a MATLAB v5/v7.3 file, got ", size,
                " bytes (truncated file?)");

  // v4: a sequence of 20-byte headers (type, rows, columns, imaginary flag, name length), name,
  // data. The type's thousands digit says the byte order (0 little-endian, 1 big-endian).
  for (std::uint64_t at = 0; at < size;) {
    const std::string where = dnn2brain::detail::concat("v4 variable at byte ", at);
    if (size - at < 20)
      origin.fail("expected a MATLAB .mat file (v4, v5/v7 or v7.3): ", where,
                  ": expected a 20-byte header, got ", size - at, " bytes");
    unsigned char raw[20];
    bytes.read(at, raw, 20);
    const auto field = [&](std::size_t k, bool big) { return mat_u32(raw + 4 * k, big); };
    const bool big = field(0, false) > 9999;
    const std::uint32_t type = field(0, big);
    const std::uint32_t order = type / 1000, zero = type / 100 % 10, precision = type / 10 % 10,
                        kind = type % 10;
    if (type > 9999 || order != (big ? 1U : 0U) || zero != 0 || precision > 5 || kind > 2)
      origin.fail("expected a MATLAB .mat file (v4, v5/v7 or v7.3): ", where,
                  ": expected a type MOPT with M 0 or 1, O 0, P 0-5, T 0-2, got ", type);
    const std::uint64_t rows = field(1, big), columns = field(2, big), imaginary = field(3, big),
                        name_length = field(4, big);
    if (rows > 0x7fffffffU || columns > 0x7fffffffU || imaginary > 1 || name_length < 2 ||
        name_length > mat_max_name)
      origin.fail(where, ": expected rows and columns below 2^31, an imaginary flag 0 or 1 and ",
                  "a name of 2 to ", mat_max_name, " bytes, got ", rows, ", ", columns, ", ",
                  imaginary, ", ", name_length);
    constexpr std::uint64_t element_size[] = {8, 4, 4, 2, 2, 1};
    std::uint64_t data = 0;
    if (!mat_multiply(rows, columns, data) || !mat_multiply(data, element_size[precision], data) ||
        !mat_multiply(data, imaginary + 1, data) || name_length > size - at - 20 ||
        data > size - at - 20 - name_length)
      origin.fail(where, ": expected ", rows, "x", columns, " values of ", element_size[precision],
                  " bytes", imaginary ? " (complex)" : "", " and a name of ", name_length,
                  " bytes, got ", size - at - 20,
                  " bytes before the end of the file (truncated file?)");
    std::string name(static_cast<std::size_t>(name_length), '\0');
    bytes.read(at + 20, name.data(), name.size());
    if (name.back() != '\0' || name.find('\0') != name.size() - 1 || name.front() == '\0')
      origin.fail(where, ": expected a NUL-terminated name, got ", printable(name));
    name.pop_back();
    names.push_back(name);
    at += 20 + name_length + data;
  }
  return mat_format::v4;
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_MAT_V5_HPP
