#ifndef DNN2BRAIN_IO_NPY_HPP
#define DNN2BRAIN_IO_NPY_HPP

// numpy's .npy format (versions 1.0, 2.0, 3.0) and .npz archives (zip files of .npy entries,
// stored or deflated, zip64 included). Facts used: the .npy preamble is "\x93NUMPY", a major and
// minor version byte, and the little-endian header length (2 bytes in 1.0, 4 bytes in 2.0/3.0);
// the header is a Python dict literal with the keys 'descr', 'fortran_order' and 'shape'. Zip
// archives are read through their end-of-central-directory record and central directory.

#include <algorithm>
#include <bit>
#include <climits>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <zlib.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/io/atomic_file.hpp>

namespace dnn2brain::io {

/// Element types that .npy files are read into and written from: float, double, bool and the
/// signed and unsigned integers of 8, 16, 32 and 64 bits (character types excluded).
template <typename T>
concept npy_element = std::same_as<T, bool> || std::same_as<T, float> || std::same_as<T, double> ||
    (std::integral<T> && !std::same_as<T, char> && !std::same_as<T, wchar_t> &&
     !std::same_as<T, char8_t> && !std::same_as<T, char16_t> && !std::same_as<T, char32_t> &&
     (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8));

/// The arrays read_npy() returns: row-major whatever XTENSOR_DEFAULT_LAYOUT says.
template <typename T>
using npy_array = xt::xarray<T, xt::layout_type::row_major>;

/// What the header of an .npy image says, validated: a supported dtype, a shape whose byte size
/// fits in memory, and exactly that many data bytes after the header.
struct npy_header {
  std::string descr;               ///< numpy's dtype string as stored, e.g. "<f4", "|b1", "<U9"
  char kind = 'f';                 ///< 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'S', 'U'
  std::size_t item_size = 0;       ///< bytes per element (4 per character for 'U')
  bool big_endian = false;         ///< byte order of multi-byte elements ('>')
  bool fortran_order = false;      ///< data stored column-major (first axis fastest)
  std::vector<std::size_t> shape;  ///< empty for a 0-d array (one element)
  std::size_t data_offset = 0;     ///< bytes from the start of the image to the data
  int version = 1;                 ///< format major version: 1, 2 or 3 (minor is always 0)

  /// Number of elements: the product of shape (1 for a 0-d array).
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 1;
    for (const std::size_t d : shape) n *= d;
    return n;
  }
  /// Bytes of data after the header.
  [[nodiscard]] std::size_t data_bytes() const noexcept { return size() * item_size; }
};

namespace detail {

/// Where an .npy image comes from, so that every error names the function and the file
/// ("dnn2brain::read_npy: '/x/y.npy': header field 'descr' ...").
struct npy_origin {
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

/// A shape as Python writes the tuple: "()", "(5,)", "(3, 4)".
inline std::string shape_repr(std::span<const std::size_t> shape) {
  std::string out = "(";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k > 0) out += ", ";
    out += std::to_string(shape[k]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

template <typename T>
[[nodiscard]] constexpr const char* npy_type_name() {
  if constexpr (std::same_as<T, bool>)
    return "bool";
  else if constexpr (std::same_as<T, float>)
    return "float32";
  else if constexpr (std::same_as<T, double>)
    return "float64";
  else if constexpr (std::signed_integral<T>)
    return sizeof(T) == 1 ? "int8" : sizeof(T) == 2 ? "int16" : sizeof(T) == 4 ? "int32" : "int64";
  else
    return sizeof(T) == 1   ? "uint8"
           : sizeof(T) == 2 ? "uint16"
           : sizeof(T) == 4 ? "uint32"
                            : "uint64";
}

/// numpy's type code of T: 'b' bool, 'f' floating, 'i' signed, 'u' unsigned.
template <npy_element T>
[[nodiscard]] constexpr char npy_kind() noexcept {
  if constexpr (std::same_as<T, bool>)
    return 'b';
  else if constexpr (std::floating_point<T>)
    return 'f';
  else if constexpr (std::signed_integral<T>)
    return 'i';
  else
    return 'u';
}

/// The descr numpy writes for T in little-endian order ("<f8", "|u1", "|b1").
template <npy_element T>
[[nodiscard]] std::string npy_descr() {
  std::string descr(sizeof(T) == 1 ? "|" : "<");
  descr += npy_kind<T>();
  descr += std::to_string(sizeof(T));
  return descr;
}

template <npy_element T>
[[nodiscard]] bool npy_stores(const npy_header& h) noexcept {
  return h.kind == npy_kind<T>() && h.item_size == sizeof(T);
}

[[nodiscard]] inline bool npy_needs_swap(const npy_header& h) noexcept {
  return h.item_size > 1 && h.kind != 'S' &&
         h.big_endian != (std::endian::native == std::endian::big);
}

inline std::uint64_t load_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = v << 8 | p[k];
  return v;
}

inline void store_le(std::string& out, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out += static_cast<char>((v >> (8 * k)) & 0xffU);
}

/// The bytes of an .npy image: a file (read on demand) ...
class npy_file_bytes {
 public:
  npy_file_bytes(const std::filesystem::path& path, const npy_origin& origin) : m_origin(origin) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
      origin.fail(std::filesystem::exists(path, error) ? "not a regular file" : "no such file");
    m_size = static_cast<std::size_t>(std::filesystem::file_size(path, error));
    if (error) origin.fail("cannot determine the file size: ", error.message());
    m_in.open(path, std::ios::binary);
    if (!m_in) origin.fail("cannot open the file for reading");
  }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  void read(std::size_t offset, void* destination, std::size_t count) {
    m_in.seekg(static_cast<std::streamoff>(offset));
    m_in.read(static_cast<char*>(destination), static_cast<std::streamsize>(count));
    if (!m_in)
      m_origin.fail("reading ", count, " bytes at offset ", offset,
                    " failed (file shrank or I/O error)");
  }
  /// Pointer to `count` bytes at `offset`, read into `scratch`.
  const unsigned char* bytes(std::size_t offset, std::size_t count,
                             std::vector<unsigned char>& scratch) {
    scratch.resize(count);
    read(offset, scratch.data(), count);
    return scratch.data();
  }

 private:
  const npy_origin& m_origin;
  std::ifstream m_in;
  std::size_t m_size = 0;
};

/// ... or a buffer (an extracted .npz entry).
class npy_memory_bytes {
 public:
  explicit npy_memory_bytes(std::span<const unsigned char> data) : m_data(data) {}
  [[nodiscard]] std::size_t size() const noexcept { return m_data.size(); }
  void read(std::size_t offset, void* destination, std::size_t count) const {
    if (count > 0) std::memcpy(destination, m_data.data() + offset, count);
  }
  const unsigned char* bytes(std::size_t offset, std::size_t, std::vector<unsigned char>&) const {
    return m_data.data() + offset;
  }

 private:
  std::span<const unsigned char> m_data;
};

/// Parser of the header dict, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (78,
/// 25088), }" padded with spaces and a newline. Accepts exactly the literal syntax numpy writes
/// (either quote character, optional trailing commas, Python 2 "3L" integers).
class npy_header_parser {
 public:
  npy_header_parser(std::string_view text, const npy_origin& origin)
      : m_text(text), m_origin(origin) {}

  void parse(npy_header& h) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key(string_literal("a key"));
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        once(seen_descr, key);
        if (peek() == '[')
          m_origin.fail(
              "header field 'descr': structured dtypes (a list of fields) are not "
              "supported; expected a plain dtype such as '<f8'");
        parse_descr(std::string(string_literal("a string for 'descr'")), h);
      } else if (key == "fortran_order") {
        once(seen_order, key);
        h.fortran_order = boolean_literal();
      } else if (key == "shape") {
        once(seen_shape, key);
        h.shape = shape_tuple();
      } else {
        m_origin.fail("header field ", printable(key),
                      ": expected only 'descr', 'fortran_order' and 'shape'");
      }
      skip_space();
      if (peek() == ',') {
        ++m_pos;
        continue;
      }
      if (peek() != '}') unexpected("',' or '}'");
    }
    ++m_pos;
    skip_space();
    if (m_pos != m_text.size())
      m_origin.fail("header: expected only padding after the closing '}', got ",
                    printable(m_text.substr(m_pos)), " at byte ", m_pos);
    for (const auto& [seen, name] :
         {std::pair{seen_descr, "descr"}, std::pair{seen_order, "fortran_order"},
          std::pair{seen_shape, "shape"}})
      if (!seen) m_origin.fail(std::string("header field '") + name + "' is missing");
    check_size(h);
  }

 private:
  [[nodiscard]] char peek() const noexcept { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }

  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                     m_text[m_pos] == '\n' || m_text[m_pos] == '\r'))
      ++m_pos;
  }

  [[noreturn]] void unexpected(const char* expected) const {
    m_origin.fail(
        "header: expected ", expected, " at byte ", m_pos, ", got ",
        m_pos < m_text.size() ? printable(m_text.substr(m_pos), 16) : "the end of the header",
        " in ", printable(m_text, 120));
  }

  void expect(char c) {
    if (peek() != c) {
      const char expected[] = {'\'', c, '\'', '\0'};
      unexpected(expected);
    }
    ++m_pos;
  }

  void once(bool& seen, const std::string& key) const {
    if (seen) m_origin.fail("header field '" + key + "' appears twice");
    seen = true;
  }

  std::string_view string_literal(const char* what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') unexpected(what);
    const std::size_t end = m_text.find(quote, m_pos + 1);
    if (end == std::string_view::npos) unexpected("a closing quote");
    const std::string_view value = m_text.substr(m_pos + 1, end - m_pos - 1);
    if (value.find('\\') != std::string_view::npos) unexpected("a string without escapes");
    m_pos = end + 1;
    return value;
  }

  bool boolean_literal() {
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}})
      if (m_text.substr(m_pos, word.size()) == word) {
        m_pos += word.size();
        return value;
      }
    m_origin.fail("header field 'fortran_order': expected True or False, got ",
                  printable(m_text.substr(m_pos), 16));
  }

  std::vector<std::size_t> shape_tuple() {
    if (peek() != '(')
      m_origin.fail("header field 'shape': expected a tuple such as (3, 4), got ",
                    printable(m_text.substr(m_pos), 16));
    ++m_pos;
    std::vector<std::size_t> shape;
    bool trailing_comma = false;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (peek() == '-')
        m_origin.fail("header field 'shape': expected non-negative dimensions, got ",
                      printable(m_text.substr(m_pos), 16));
      if (peek() < '0' || peek() > '9')
        m_origin.fail("header field 'shape': expected an integer, got ",
                      printable(m_text.substr(m_pos), 16));
      std::size_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        const auto digit = static_cast<std::size_t>(peek() - '0');
        if (d > (std::numeric_limits<std::size_t>::max() - digit) / 10)
          m_origin.fail("header field 'shape': a dimension overflows 64 bits");
        d = d * 10 + digit;
        ++m_pos;
      }
      if (peek() == 'L') ++m_pos;  // Python 2 long
      shape.push_back(d);
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++m_pos;
      } else if (peek() != ')') {
        m_origin.fail("header field 'shape': expected ',' or ')', got ",
                      printable(m_text.substr(m_pos), 16));
      }
    }
    ++m_pos;
    if (shape.size() == 1 && !trailing_comma)
      m_origin.fail("header field 'shape': expected a tuple, got the integer (", shape[0],
                    ") without a trailing comma");
    return shape;
  }

  void parse_descr(const std::string& descr, npy_header& h) const {
    h.descr = descr;
    const auto fail = [&](const std::string& problem) {
      m_origin.fail("header field 'descr': ", problem, ", got ", printable(descr));
    };
    if (descr.size() < 2 || std::string_view("<>|=").find(descr[0]) == std::string_view::npos)
      fail("expected a byte order '<', '>' or '|' followed by a type code such as 'f8'");
    h.kind = descr[1];
    if (h.kind == 'O')
      fail(
          "expected a numeric, bool or string dtype; object arrays hold pickled Python objects, "
          "which dnn2brain does not read (numpy itself needs allow_pickle=True)");
    std::size_t n = 0;
    if (descr.size() == 2 || descr.find_first_not_of("0123456789", 2) != std::string::npos ||
        descr.size() > 12)
      fail("expected a type code and an item size such as 'f8' or 'U9'");
    for (std::size_t k = 2; k < descr.size(); ++k)
      n = n * 10 + static_cast<std::size_t>(descr[k] - '0');
    const auto one_of = [&](std::initializer_list<std::size_t> sizes) {
      return std::find(sizes.begin(), sizes.end(), n) != sizes.end();
    };
    switch (h.kind) {
      case 'f':
        if (!one_of({4, 8}))
          fail(
              "expected float32 or float64 ('f4' or 'f8'; float16 and long double are not "
              "supported)");
        break;
      case 'i':
      case 'u':
        if (!one_of({1, 2, 4, 8})) fail("expected an integer of 1, 2, 4 or 8 bytes");
        break;
      case 'b':
        if (n != 1) fail("expected the bool dtype 'b1'");
        break;
      case 'S':
        if (n == 0) fail("expected a byte-string length of at least 1");
        break;
      case 'U':
        if (n == 0) fail("expected a string length of at least 1");
        n *= 4;  // UTF-32 code units
        break;
      default:
        fail("expected one of the dtypes f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 S<n> U<n>");
    }
    if (n > 1 && h.kind != 'S' && descr[0] == '|')
      fail("expected a byte order '<' or '>' for a multi-byte type");
    h.item_size = n;
    h.big_endian = descr[0] == '>' || (descr[0] == '=' && std::endian::native == std::endian::big);
  }

  void check_size(const npy_header& h) const {
    constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
    std::size_t count = 1;
    for (const std::size_t d : h.shape) {
      if (d != 0 && count > max / d)
        m_origin.fail("header field 'shape': ", shape_repr(h.shape),
                      " has more elements than 64 bits can count");
      count *= d;
    }
    if (h.item_size != 0 && count > max / h.item_size)
      m_origin.fail("header field 'shape': ", shape_repr(h.shape), " of ", h.descr,
                    " needs more bytes than 64 bits can count");
  }

  std::string_view m_text;
  const npy_origin& m_origin;
  std::size_t m_pos = 0;
};

/// Reads and validates the preamble and header; checks that exactly data_bytes() follow.
template <typename Source>
[[nodiscard]] npy_header parse_npy_header(Source& source, const npy_origin& origin) {
  const std::size_t size = source.size();
  unsigned char preamble[12] = {};
  if (size < 10) origin.fail("magic: expected an .npy image of at least 10 bytes, got ", size);
  source.read(0, preamble, 10);
  if (std::memcmp(preamble, "\x93NUMPY", 6) != 0)
    origin.fail("magic: expected the bytes '\\x93NUMPY' of an .npy image, got ",
                printable(std::string_view(reinterpret_cast<const char*>(preamble), 6)));
  const int major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3 || minor != 0)
    origin.fail("version: expected 1.0, 2.0 or 3.0, got ", major, ".", minor);
  const std::size_t preamble_size = major == 1 ? 10 : 12;
  if (size < preamble_size) origin.fail("header length: the file ends after ", size, " bytes");
  if (major > 1) source.read(10, preamble + 10, 2);
  const auto header_len = static_cast<std::size_t>(load_le(preamble + 8, major == 1 ? 2 : 4));
  if (header_len > size - preamble_size)
    origin.fail("header length: expected at most the ", size - preamble_size,
                " bytes that follow the preamble, got ", header_len, " (truncated file?)");
  std::string text(header_len, '\0');
  source.read(preamble_size, text.data(), header_len);

  npy_header h;
  npy_header_parser(text, origin).parse(h);
  h.version = major;
  h.data_offset = preamble_size + header_len;
  const std::size_t available = size - h.data_offset;
  if (available != h.data_bytes())
    origin.fail("data: expected ", h.data_bytes(), " bytes for shape ", shape_repr(h.shape),
                " of '", h.descr, "' after the ", h.data_offset, "-byte header, got ", available,
                available < h.data_bytes()
                    ? " (truncated file?)"
                    : " (trailing bytes: is the header's shape or dtype wrong?)");
  return h;
}

/// Calls visit(k, c) for every element: k its position in storage order, c its position in C
/// order (they differ for Fortran-ordered data, whose first axis runs fastest).
template <typename Visit>
void for_each_npy_position(const npy_header& h, Visit&& visit) {
  const std::size_t count = h.size();
  if (!h.fortran_order || h.shape.size() < 2) {
    for (std::size_t k = 0; k < count; ++k) visit(k, k);
    return;
  }
  const std::size_t rank = h.shape.size();
  std::vector<std::size_t> c_stride(rank, 1), index(rank, 0);
  for (std::size_t a = rank - 1; a > 0; --a) c_stride[a - 1] = c_stride[a] * h.shape[a];
  std::size_t c = 0;
  for (std::size_t k = 0; k < count; ++k) {
    visit(k, c);
    for (std::size_t a = 0; a < rank; ++a) {  // odometer, first axis fastest
      c += c_stride[a];
      if (++index[a] < h.shape[a]) break;
      c -= c_stride[a] * h.shape[a];
      index[a] = 0;
    }
  }
}

template <typename T>
struct type_tag {
  using type = T;
};

/// Calls f(type_tag<S>{}) with S the C++ type of the stored numeric dtype.
template <typename F>
void visit_npy_numeric(const npy_header& h, F&& f) {
  switch (h.kind) {
    case 'f':
      return h.item_size == 4 ? f(type_tag<float>{}) : f(type_tag<double>{});
    case 'b':
      return f(type_tag<bool>{});
    case 'i':
      switch (h.item_size) {
        case 1:
          return f(type_tag<std::int8_t>{});
        case 2:
          return f(type_tag<std::int16_t>{});
        case 4:
          return f(type_tag<std::int32_t>{});
        default:
          return f(type_tag<std::int64_t>{});
      }
    default:
      switch (h.item_size) {
        case 1:
          return f(type_tag<std::uint8_t>{});
        case 2:
          return f(type_tag<std::uint16_t>{});
        case 4:
          return f(type_tag<std::uint32_t>{});
        default:
          return f(type_tag<std::uint64_t>{});
      }
  }
}

template <typename S>
[[nodiscard]] S load_element(const unsigned char* p, bool swap) noexcept {
  unsigned char b[sizeof(S)];
  std::memcpy(b, p, sizeof(S));
  if (swap) std::reverse(b, b + sizeof(S));
  S s;
  std::memcpy(&s, b, sizeof(S));
  return s;
}

/// Checks that the stored bools are 0 or 1 (any other byte is not a bool numpy writes).
inline void check_npy_bools(const unsigned char* bytes, std::size_t count,
                            const npy_origin& origin) {
  for (std::size_t k = 0; k < count; ++k)
    if (bytes[k] > 1)
      origin.fail("data: expected bool bytes 0 or 1, got ", int{bytes[k]}, " at element ", k,
                  " (storage order)");
}

/// The conversion rule of read_npy<T> (see there), checked before any data is read.
template <npy_element T>
void check_npy_conversion(const npy_header& h, const npy_origin& origin, const char* strings_hint) {
  if (h.kind == 'S' || h.kind == 'U')
    origin.fail("header field 'descr': '", h.descr, "' holds strings, not numbers; ", strings_hint);
  if constexpr (std::same_as<T, bool>) {
    if (h.kind != 'b')
      origin.fail("header field 'descr': '", h.descr,
                  "' cannot be read as bool; only the bool dtype 'b1' can");
  } else if constexpr (std::integral<T>) {
    if (h.kind == 'f')
      origin.fail("header field 'descr': '", h.descr,
                  "' holds floating-point values; reading them as ", npy_type_name<T>(),
                  " would lose information (read as float or double instead)");
  }
}

/// Reads the data of a validated header as T, in C order.
template <npy_element T, typename Source>
[[nodiscard]] npy_array<T> read_npy_values(Source& source, const npy_header& h,
                                           const npy_origin& origin, const char* strings_hint) {
  check_npy_conversion<T>(h, origin, strings_hint);
  npy_array<T> result(typename npy_array<T>::shape_type(h.shape.begin(), h.shape.end()));
  const bool swap = npy_needs_swap(h);
  const bool multi_axis_fortran = h.fortran_order && h.shape.size() > 1;
  if (npy_stores<T>(h) && !swap && !multi_axis_fortran) {  // the stored bytes are the answer
    source.read(h.data_offset, result.data(), h.data_bytes());
    if constexpr (std::same_as<T, bool>)
      check_npy_bools(reinterpret_cast<const unsigned char*>(result.data()), result.size(), origin);
    return result;
  }
  std::vector<unsigned char> scratch;
  const unsigned char* bytes = source.bytes(h.data_offset, h.data_bytes(), scratch);
  if (h.kind == 'b') check_npy_bools(bytes, h.size(), origin);
  T* out = result.data();
  visit_npy_numeric(h, [&](auto tag) {
    using S = typename decltype(tag)::type;
    if constexpr (std::same_as<S, bool> || std::same_as<T, S>) {
      for_each_npy_position(h, [&](std::size_t k, std::size_t c) {
        if constexpr (std::same_as<S, bool>)
          out[c] = static_cast<T>(bytes[k]);
        else
          out[c] = load_element<S>(bytes + k * sizeof(S), swap);
      });
    } else if constexpr (std::floating_point<T>) {
      for_each_npy_position(h, [&](std::size_t k, std::size_t c) {
        out[c] = static_cast<T>(load_element<S>(bytes + k * sizeof(S), swap));
      });
    } else if constexpr (std::integral<S> && std::integral<T> && !std::same_as<T, bool>) {
      for_each_npy_position(h, [&](std::size_t k, std::size_t c) {
        const S s = load_element<S>(bytes + k * sizeof(S), swap);
        if (!std::in_range<T>(s))
          origin.fail("data: value ", +s, " at element ", k, " (storage order) of '", h.descr,
                      "' does not fit in ", npy_type_name<T>());
        out[c] = static_cast<T>(s);  // NOLINT(bugprone-signed-char-misuse): int8 sign-extends
      });
    }
    // Other pairs (float -> integer, non-bool -> bool) were rejected by check_npy_conversion.
  });
  return result;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Reads the data of a validated string header ('S' bytes or 'U' UTF-32) as UTF-8, in C order;
/// trailing NULs are padding and removed, as numpy does.
template <typename Source>
[[nodiscard]] std::vector<std::string> read_npy_string_values(Source& source, const npy_header& h,
                                                              const npy_origin& origin,
                                                              const char* numbers_hint) {
  if (h.kind != 'S' && h.kind != 'U')
    origin.fail("header field 'descr': expected a string dtype ('<U<n>' or '|S<n>'), got '",
                h.descr, "'; ", numbers_hint);
  std::vector<unsigned char> scratch;
  const unsigned char* bytes = source.bytes(h.data_offset, h.data_bytes(), scratch);
  const bool swap = npy_needs_swap(h);
  std::vector<std::string> result(h.size());
  for_each_npy_position(h, [&](std::size_t k, std::size_t c) {
    const unsigned char* item = bytes + k * h.item_size;
    std::string& text = result[c];
    if (h.kind == 'S') {
      std::size_t n = h.item_size;
      while (n > 0 && item[n - 1] == 0) --n;
      text.assign(reinterpret_cast<const char*>(item), n);
      return;
    }
    std::size_t n = h.item_size / 4;
    while (n > 0 && load_element<std::uint32_t>(item + 4 * (n - 1), swap) == 0) --n;
    for (std::size_t u = 0; u < n; ++u) {
      const auto cp = load_element<std::uint32_t>(item + 4 * u, swap);
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        origin.fail("data: element ", k, " (storage order) holds 0x", std::hex, cp,
                    ", which is not a Unicode scalar value");
      append_utf8(text, cp);
    }
  });
  return result;
}

inline constexpr const char* read_strings_hint = "read it with read_npy_strings";
inline constexpr const char* read_numbers_hint = "read it with read_npy<T>";

/// The header block numpy writes (format 1.0, or 2.0 when the header needs more than 65535
/// bytes): preamble, dict, spaces and a newline, padded so that the data start at a multiple of
/// 64 bytes.
[[nodiscard]] inline std::string npy_header_block(std::string_view descr,
                                                  std::span<const std::size_t> shape) {
  std::string dict = "{'descr': '";
  dict += descr;
  dict += "', 'fortran_order': False, 'shape': ";
  dict += shape_repr(shape);
  dict += ", }";
  const auto padded = [&](std::size_t preamble) {
    return (preamble + dict.size() + 1 + 63) / 64 * 64;
  };
  const bool v1 = padded(10) - 10 <= 0xFFFF;
  const std::size_t preamble = v1 ? 10 : 12;
  const std::size_t total = padded(preamble);
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  store_le(out, total - preamble, v1 ? 2 : 4);
  out += dict;
  out.append(total - preamble - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

/// Calls emit(const char*, size) with the bytes of a complete .npy image of the expression.
template <typename E, typename Emit>
void serialize_npy(const xt::xexpression<E>& expression, Emit&& emit) {
  using T = std::remove_cv_t<typename E::value_type>;
  static_assert(npy_element<T>,
                "write_npy: expected float, double, bool or integer elements of 8 to 64 bits");
  static_assert(sizeof(bool) == 1, "write_npy: needs a one-byte bool");
  const E& e = expression.derived_cast();
  const auto write = [&](const T* data, std::size_t count) {
    const std::vector<std::size_t> shape(e.shape().begin(), e.shape().end());
    const std::string header = npy_header_block(npy_descr<T>(), shape);
    emit(header.data(), header.size());
    if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
      emit(reinterpret_cast<const char*>(data), count * sizeof(T));
    } else {  // big-endian machines write little-endian elements, in chunks
      std::vector<char> chunk;
      for (std::size_t start = 0; start < count; start += 4096) {
        const std::size_t n = std::min<std::size_t>(4096, count - start);
        chunk.resize(n * sizeof(T));
        for (std::size_t k = 0; k < n; ++k) {
          std::memcpy(chunk.data() + k * sizeof(T), data + start + k, sizeof(T));
          std::reverse(chunk.data() + k * sizeof(T), chunk.data() + (k + 1) * sizeof(T));
        }
        emit(chunk.data(), chunk.size());
      }
    }
  };
  constexpr bool row_major_container = [] {
    if constexpr (std::is_base_of_v<xt::xcontainer<E>, E>)
      return E::static_layout == xt::layout_type::row_major;
    else
      return false;
  }();
  if constexpr (row_major_container) {
    write(e.data(), e.size());
  } else {
    const npy_array<T> copy(e);  // evaluates views, expressions and column-major storage
    write(copy.data(), copy.size());
  }
}

// --- zip
// ------------------------------------------------------------------------------------------

inline constexpr std::uint32_t zip_local_signature = 0x04034b50;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::uint32_t zip_saturated = 0xFFFFFFFF;
// zlib counts in uInt; larger buffers go through in pieces.
inline constexpr std::size_t zlib_chunk = std::size_t{1} << 30;
// The best ratio deflate achieves is about 1032:1; an entry that claims more is corrupt, and
// refusing it up front avoids allocating what a forged size asks for.
inline constexpr std::uint64_t deflate_max_ratio = 1032;

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
                        std::size_t out_size, const npy_origin& origin) {
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
[[nodiscard]] inline std::string deflate_raw(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    dnn2brain::detail::throw_io_error("npz_writer", "zlib: deflateInit2 failed");
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

}  // namespace detail

/// \brief Reads and validates the header of an .npy file.
///
/// Checks the magic bytes, the version (1.0, 2.0 or 3.0), the header's dict syntax, the dtype,
/// the shape, and that the file holds exactly the data bytes the header announces.
/// \throws io_error naming the file and the field for anything else (object arrays included).
[[nodiscard]] inline npy_header read_npy_header(const std::filesystem::path& path) {
  const detail::npy_origin origin{"read_npy_header", detail::quoted(path)};
  detail::npy_file_bytes source(path, origin);
  return detail::parse_npy_header(source, origin);
}

/// \brief Reads a numeric or bool .npy file into a row-major array of the file's shape.
///
/// Supported dtypes: float32/64, int8..int64, uint8..uint64 and bool ('b1'), little- or
/// big-endian, C or Fortran order (Fortran data are reordered), format versions 1.0 to 3.0.
///
/// Conversion rule: reading may round (to a narrower float) but never changes the kind of number.
///  - T floating (float, double): any numeric or bool dtype; values are converted as by
///    static_cast (float64 read as float rounds, as do int64 values beyond 2^53 read as double).
///  - T integer: integer or bool dtypes only, and every value must fit in T (checked per value);
///    float dtypes are always refused, even when the values happen to be whole numbers.
///  - T bool: the bool dtype only.
/// Stored bools must be the bytes 0 or 1.
///
/// \throws io_error naming the file and the field: a malformed or truncated file, an unsupported
///         or string dtype, a conversion the rule refuses, a value out of T's range.
/// Complexity: one pass over the data; a file whose dtype is T in native byte order and C order
/// is read straight into the result.
template <npy_element T>
[[nodiscard]] npy_array<T> read_npy(const std::filesystem::path& path) {
  const detail::npy_origin origin{"read_npy", detail::quoted(path)};
  detail::npy_file_bytes source(path, origin);
  const npy_header h = detail::parse_npy_header(source, origin);
  return detail::read_npy_values<T>(source, h, origin, detail::read_strings_hint);
}

/// \brief Reads a string .npy file ('<U<n>' or '>U<n>' UTF-32, '|S<n>' bytes), flattened in C
/// order (the shape is in read_npy_header()). Unicode strings come back as UTF-8; byte strings
/// unchanged. Trailing NUL padding is removed, as numpy does.
/// \throws io_error naming the file and the field, also for a numeric dtype or an invalid code
///         point.
[[nodiscard]] inline std::vector<std::string> read_npy_strings(const std::filesystem::path& path) {
  const detail::npy_origin origin{"read_npy_strings", detail::quoted(path)};
  detail::npy_file_bytes source(path, origin);
  const npy_header h = detail::parse_npy_header(source, origin);
  return detail::read_npy_string_values(source, h, origin, detail::read_numbers_hint);
}

/// \brief Writes an xtensor expression of float, double, bool or integer elements as an .npy
/// file that numpy.load reads: little-endian, C order, format 1.0 (2.0 for headers beyond 64 KiB),
/// the header padded so that the data start at a multiple of 64 bytes.
///
/// The file appears complete or not at all (written to a temporary, then renamed).
/// \throws io_error if the file cannot be written.
template <typename E>
requires npy_element<std::remove_cv_t<typename E::value_type>>
void write_npy(const std::filesystem::path& path, const xt::xexpression<E>& array) {
  write_atomically(path, [&](std::ostream& out) {
    detail::serialize_npy(array, [&](const char* data, std::size_t size) {
      out.write(data, static_cast<std::streamsize>(size));
    });
  });
}

/// \brief The arrays of an .npz file (numpy.savez / savez_compressed), read on demand.
///
/// Opening reads the zip's end-of-central-directory record (zip64 too) and its central directory;
/// entry sizes and CRCs come from there, never from the local headers alone. Entries may be
/// stored or deflated. Each read extracts one entry, checks its size and CRC-32, and parses it as
/// an .npy image with the checks of read_npy. Names are accepted with or without ".npy"
/// ("arr_0" or "arr_0.npy"). Const member functions open the file anew, so one archive may be
/// read from several threads.
class npz_archive {
 public:
  /// \throws io_error naming the file and the field if it is not a readable zip archive.
  explicit npz_archive(std::filesystem::path path) : m_path(std::move(path)) {
    const detail::npy_origin origin{"npz_archive", detail::quoted(m_path)};
    read_directory(origin);
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

  /// Entry names as numpy.load(...).files lists them: ".npy" removed, in archive order.
  /// Entries that cannot be read (pickled objects) are listed too.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : m_entries)
      out.push_back(e.name.ends_with(".npy") ? e.name.substr(0, e.name.size() - 4) : e.name);
    return out;
  }

  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return find(name) != nullptr;
  }

  /// The validated .npy header of an entry (extracts the entry to check it completely).
  [[nodiscard]] npy_header header(std::string_view name) const {
    const detail::npy_origin origin = origin_of("npz_archive::header", name);
    const auto bytes = extract(entry(name, origin), origin);
    detail::npy_memory_bytes source(bytes);
    return detail::parse_npy_header(source, origin);
  }

  /// An entry as an array of T, under the conversion rule of read_npy.
  template <npy_element T>
  [[nodiscard]] npy_array<T> read(std::string_view name) const {
    const detail::npy_origin origin = origin_of("npz_archive::read", name);
    const auto bytes = extract(entry(name, origin), origin);
    detail::npy_memory_bytes source(bytes);
    const npy_header h = detail::parse_npy_header(source, origin);
    return detail::read_npy_values<T>(source, h, origin, "read it with read_strings");
  }

  /// A string entry ('U' or 'S'), flattened in C order, as read_npy_strings does.
  [[nodiscard]] std::vector<std::string> read_strings(std::string_view name) const {
    const detail::npy_origin origin = origin_of("npz_archive::read_strings", name);
    const auto bytes = extract(entry(name, origin), origin);
    detail::npy_memory_bytes source(bytes);
    const npy_header h = detail::parse_npy_header(source, origin);
    return detail::read_npy_string_values(source, h, origin, "read it with read<T>");
  }

 private:
  [[nodiscard]] const detail::zip_entry* find(std::string_view name) const noexcept {
    for (const auto& e : m_entries)
      if (e.name == name) return &e;
    for (const auto& e : m_entries)
      if (e.name.size() == name.size() + 4 && e.name.starts_with(name) && e.name.ends_with(".npy"))
        return &e;
    return nullptr;
  }

  [[nodiscard]] detail::npy_origin origin_of(const char* function, std::string_view name) const {
    const detail::zip_entry* e = find(name);
    std::string label = detail::quoted(m_path);
    label += " entry '";
    label += e != nullptr ? std::string_view(e->name) : name;
    label += '\'';
    return {function, std::move(label)};
  }

  const detail::zip_entry& entry(std::string_view name, const detail::npy_origin& origin) const {
    if (const detail::zip_entry* e = find(name)) return *e;
    std::string known;
    for (const auto& n : names()) {
      if (!known.empty()) known += ", ";
      known += n;
    }
    origin.fail("no such entry; the archive holds: ", known.empty() ? "nothing" : known.c_str());
  }

  static void read_at(std::ifstream& in, std::uint64_t offset, void* destination, std::size_t count,
                      const detail::npy_origin& origin) {
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(static_cast<char*>(destination), static_cast<std::streamsize>(count));
    if (!in)
      origin.fail("reading ", count, " bytes at offset ", offset,
                  " failed (file shrank or I/O error)");
  }

  [[nodiscard]] std::ifstream open(const detail::npy_origin& origin) const {
    std::ifstream in(m_path, std::ios::binary);
    if (!in) origin.fail("cannot open the file for reading");
    return in;
  }

  void read_directory(const detail::npy_origin& origin) {
    using detail::load_le;
    std::error_code error;
    if (!std::filesystem::is_regular_file(m_path, error))
      origin.fail(std::filesystem::exists(m_path, error) ? "not a regular file" : "no such file");
    const std::uint64_t size = std::filesystem::file_size(m_path, error);
    if (error) origin.fail("cannot determine the file size: ", error.message());
    std::ifstream in = open(origin);

    // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
    const auto tail_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, 22 + 65535 + 20));
    std::vector<unsigned char> tail(tail_size);
    read_at(in, size - tail_size, tail.data(), tail_size, origin);
    std::size_t end = tail_size;  // position of the record within tail
    for (std::size_t p = tail_size >= 22 ? tail_size - 22 + 1 : 0; p-- > 0;)
      if (load_le(&tail[p], 4) == detail::zip_end_signature &&
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

    if (end >= 20 && load_le(&tail[end - 20], 4) == detail::zip64_locator_signature) {
      const unsigned char* locator = &tail[end - 20];
      const std::uint64_t record = load_le(locator + 8, 8);
      if (record > end_offset - 20 || end_offset - 20 - record < 56)
        origin.fail("zip64 end of central directory: offset ", record, " lies outside the archive");
      unsigned char z64[56];
      read_at(in, record, z64, sizeof(z64), origin);
      if (load_le(z64, 4) != detail::zip64_end_signature)
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
      if (directory.size() - p < 46 || load_le(&directory[p], 4) != detail::zip_central_signature)
        fail("bad signature or truncated (corrupt archive)");
      const unsigned char* c = &directory[p];
      detail::zip_entry e;
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
            if (*field == detail::zip_saturated) {
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
      if (e.method == 8 && e.uncompressed / detail::deflate_max_ratio > e.compressed + 64)
        fail("'", e.name, "' claims to inflate ", e.compressed, " bytes to ", e.uncompressed,
             ", beyond what deflate can do");
      if (e.local_offset >= directory_offset || e.compressed > directory_offset - e.local_offset)
        fail("'", e.name, "' lies outside the archive's data (offset ", e.local_offset, ", size ",
             e.compressed, ")");
      if (find(e.name) != nullptr && find(e.name)->name == e.name)
        fail("'" + e.name + "' appears twice");
      m_entries.push_back(std::move(e));
      p += 46 + name_len + extra_len + comment_len;
    }
    m_data_end = directory_offset;
  }

  [[nodiscard]] std::vector<unsigned char> extract(const detail::zip_entry& e,
                                                   const detail::npy_origin& origin) const {
    using detail::load_le;
    std::ifstream in = open(origin);
    unsigned char local[30];
    if (m_data_end - e.local_offset < 30)
      origin.fail("local header: runs into the central directory (corrupt archive)");
    read_at(in, e.local_offset, local, sizeof(local), origin);
    if (load_le(local, 4) != detail::zip_local_signature)
      origin.fail("local header: bad signature at offset ", e.local_offset, " (corrupt archive)");
    const std::uint64_t name_len = load_le(local + 26, 2), extra_len = load_le(local + 28, 2);
    const std::uint64_t data = e.local_offset + 30 + name_len + extra_len;
    if (data > m_data_end || e.compressed > m_data_end - data)
      origin.fail("data: ", e.compressed, " bytes at offset ", data,
                  " run into the central directory (truncated or corrupt archive)");
    std::string local_name(static_cast<std::size_t>(name_len), '\0');
    read_at(in, e.local_offset + 30, local_name.data(), local_name.size(), origin);
    if (local_name != e.name)
      origin.fail("local header: names the entry ", detail::printable(local_name),
                  " (corrupt archive)");

    std::vector<unsigned char> out(static_cast<std::size_t>(e.uncompressed));
    if (e.method == 0) {
      read_at(in, data, out.data(), out.size(), origin);
    } else {
      std::vector<unsigned char> packed(static_cast<std::size_t>(e.compressed));
      read_at(in, data, packed.data(), packed.size(), origin);
      detail::inflate_raw(packed.data(), packed.size(), out.data(), out.size(), origin);
    }
    const std::uint32_t crc = detail::crc32_of(out.data(), out.size());
    if (crc != e.crc)
      origin.fail("data: CRC-32 is 0x", std::hex, crc, ", the central directory says 0x", e.crc,
                  " (corrupt archive)");
    return out;
  }

  std::filesystem::path m_path;
  std::vector<detail::zip_entry> m_entries;
  std::uint64_t m_data_end = 0;  // where the central directory starts
};

/// One entry of an .npz file as an array of T (an npz_archive opened for one read).
template <npy_element T>
[[nodiscard]] npy_array<T> read_npz(const std::filesystem::path& path, std::string_view name) {
  return npz_archive(path).read<T>(name);
}

/// How npz_writer stores its entries.
struct npz_options {
  /// Deflate the entries (numpy.savez_compressed); otherwise store them (numpy.savez).
  bool compressed = false;
  /// Write zip64 records even when no size or offset needs them (Python's force_zip64). They
  /// are written automatically for entries or archives beyond 4 GiB.
  bool zip64 = false;
};

/// \brief Writes an .npz archive that numpy.load reads, entry by entry.
///
/// Each add() serialises one array as an .npy image (as write_npy) and appends it to a temporary
/// file; commit() writes the central directory and renames the temporary onto the target.
/// Destroyed without commit(), the writer leaves no file behind. Memory: one entry at a time.
class npz_writer {
 public:
  explicit npz_writer(std::filesystem::path path, npz_options options = {})
      : m_file(std::move(path)), m_options(options) {}

  /// Appends `array` as entry `name` (".npy" is appended unless present, as numpy.savez does).
  /// \throws invalid_argument for an empty or repeated name or after commit(); io_error if
  ///         writing fails.
  template <typename E>
  requires npy_element<std::remove_cv_t<typename E::value_type>>
  void add(std::string name, const xt::xexpression<E>& array) {
    if (!name.ends_with(".npy")) name += ".npy";
    if (m_committed)
      dnn2brain::detail::throw_invalid_argument("npz_writer::add",
                                                "expected a writer not yet committed, got one "
                                                "committed before adding '" +
                                                    name + "'");
    if (name == ".npy" || name.size() > 0xFFFF)
      dnn2brain::detail::throw_invalid_argument(
          "npz_writer::add",
          "expected a non-empty entry name shorter than 64 KiB, got '" + name.substr(0, 64) + "'");
    for (const auto& e : m_entries)
      if (e.name == name)
        dnn2brain::detail::throw_invalid_argument(
            "npz_writer::add", "expected a new entry name, got '" + name + "' a second time");
    std::string image;
    detail::serialize_npy(array,
                          [&](const char* data, std::size_t size) { image.append(data, size); });
    append(std::move(name), image);
  }

  /// Writes the central directory and makes the file appear. \throws io_error if writing fails.
  void commit() {
    if (m_committed) return;
    std::ostream& out = m_file.stream();
    const std::uint64_t directory_offset = m_offset;
    for (const auto& e : m_entries) {
      const bool big_size = m_options.zip64 || e.compressed >= detail::zip_saturated ||
                            e.uncompressed >= detail::zip_saturated;
      const bool big_offset = m_options.zip64 || e.local_offset >= detail::zip_saturated;
      std::string extra;
      if (big_size || big_offset) {
        detail::store_le(extra, 1, 2);
        detail::store_le(extra, (big_size ? 16 : 0) + (big_offset ? 8 : 0), 2);
        if (big_size) {
          detail::store_le(extra, e.uncompressed, 8);
          detail::store_le(extra, e.compressed, 8);
        }
        if (big_offset) detail::store_le(extra, e.local_offset, 8);
      }
      std::string record;
      detail::store_le(record, detail::zip_central_signature, 4);
      detail::store_le(record, (3U << 8) | version_needed(big_size || big_offset), 2);  // made by
      detail::store_le(record, version_needed(big_size || big_offset), 2);
      detail::store_le(record, 0, 2);  // flags
      detail::store_le(record, e.method, 2);
      detail::store_le(record, 0, 2);       // time 00:00
      detail::store_le(record, 0x0021, 2);  // date 1980-01-01: reproducible archives
      detail::store_le(record, e.crc, 4);
      detail::store_le(record, big_size ? detail::zip_saturated : e.compressed, 4);
      detail::store_le(record, big_size ? detail::zip_saturated : e.uncompressed, 4);
      detail::store_le(record, e.name.size(), 2);
      detail::store_le(record, extra.size(), 2);
      detail::store_le(record, 0, 2);               // comment
      detail::store_le(record, 0, 2);               // disk
      detail::store_le(record, 0, 2);               // internal attributes
      detail::store_le(record, 0100644U << 16, 4);  // regular file, rw-r--r--
      detail::store_le(record, big_offset ? detail::zip_saturated : e.local_offset, 4);
      record += e.name;
      record += extra;
      write(out, record);
    }
    const std::uint64_t directory_size = m_offset - directory_offset;
    const bool zip64 = m_options.zip64 || m_entries.size() >= 0xFFFF ||
                       directory_offset >= detail::zip_saturated ||
                       directory_size >= detail::zip_saturated;
    std::string tail;
    if (zip64) {
      const std::uint64_t record = m_offset;
      detail::store_le(tail, detail::zip64_end_signature, 4);
      detail::store_le(tail, 44, 8);  // size of the rest of this record
      detail::store_le(tail, (3U << 8) | 45U, 2);
      detail::store_le(tail, 45, 2);
      detail::store_le(tail, 0, 4);
      detail::store_le(tail, 0, 4);
      detail::store_le(tail, m_entries.size(), 8);
      detail::store_le(tail, m_entries.size(), 8);
      detail::store_le(tail, directory_size, 8);
      detail::store_le(tail, directory_offset, 8);
      detail::store_le(tail, detail::zip64_locator_signature, 4);
      detail::store_le(tail, 0, 4);
      detail::store_le(tail, record, 8);
      detail::store_le(tail, 1, 4);
    }
    detail::store_le(tail, detail::zip_end_signature, 4);
    detail::store_le(tail, 0, 4);  // disk numbers
    for (int twice = 0; twice < 2; ++twice)
      detail::store_le(tail, zip64 ? 0xFFFF : m_entries.size(), 2);
    detail::store_le(tail, zip64 ? detail::zip_saturated : directory_size, 4);
    detail::store_le(tail, zip64 ? detail::zip_saturated : directory_offset, 4);
    detail::store_le(tail, 0, 2);  // comment
    write(out, tail);
    m_file.commit();
    m_committed = true;
  }

 private:
  struct entry {
    std::string name;
    std::uint16_t method;
    std::uint32_t crc;
    std::uint64_t compressed, uncompressed, local_offset;
  };

  static std::uint32_t version_needed(bool zip64) { return zip64 ? 45 : 20; }

  void write(std::ostream& out, std::string_view bytes) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    m_offset += bytes.size();
  }

  void append(std::string name, const std::string& image) {
    entry e{std::move(name),
            static_cast<std::uint16_t>(m_options.compressed ? 8 : 0),
            detail::crc32_of(reinterpret_cast<const unsigned char*>(image.data()), image.size()),
            0,
            image.size(),
            m_offset};
    std::string packed;
    if (m_options.compressed) packed = detail::deflate_raw(image);
    const std::string_view data = m_options.compressed ? std::string_view(packed) : image;
    e.compressed = data.size();
    // The local header repeats the sizes (zip64 extra field when they, or an option, need it).
    const bool big = m_options.zip64 || e.compressed >= detail::zip_saturated ||
                     e.uncompressed >= detail::zip_saturated;
    std::string header;
    detail::store_le(header, detail::zip_local_signature, 4);
    detail::store_le(header, version_needed(big || e.local_offset >= detail::zip_saturated), 2);
    detail::store_le(header, 0, 2);  // flags
    detail::store_le(header, e.method, 2);
    detail::store_le(header, 0, 2);
    detail::store_le(header, 0x0021, 2);
    detail::store_le(header, e.crc, 4);
    detail::store_le(header, big ? detail::zip_saturated : e.compressed, 4);
    detail::store_le(header, big ? detail::zip_saturated : e.uncompressed, 4);
    detail::store_le(header, e.name.size(), 2);
    detail::store_le(header, big ? 20 : 0, 2);
    header += e.name;
    if (big) {
      detail::store_le(header, 1, 2);
      detail::store_le(header, 16, 2);
      detail::store_le(header, e.uncompressed, 8);
      detail::store_le(header, e.compressed, 8);
    }
    std::ostream& out = m_file.stream();
    write(out, header);
    write(out, data);
    m_entries.push_back(std::move(e));
  }

  atomic_file m_file;
  npz_options m_options;
  std::vector<entry> m_entries;
  std::uint64_t m_offset = 0;
  bool m_committed = false;
};

/// \brief Writes arrays of one element type as an .npz file (numpy.savez, or savez_compressed
/// with options.compressed), atomically. Keys become entry names ("rdm" -> "rdm.npy").
template <npy_element T, typename Compare, typename Allocator>
void write_npz(const std::filesystem::path& path,
               const std::map<std::string, xt::xarray<T>, Compare, Allocator>& arrays,
               npz_options options = {}) {
  npz_writer writer(path, options);
  for (const auto& [name, array] : arrays) writer.add(name, array);
  writer.commit();
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_NPY_HPP
