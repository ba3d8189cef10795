#ifndef DNN2BRAIN_IO_NPY_HPP
#define DNN2BRAIN_IO_NPY_HPP

// numpy's .npy format (versions 1.0, 2.0, 3.0); .npz archives of .npy entries are in npz.hpp.
// Facts used: the preamble is "\x93NUMPY", a major and minor version byte, and the
// little-endian header length (2 bytes in 1.0, 4 bytes in 2.0/3.0); the header is a Python dict
// literal with the keys 'descr', 'fortran_order' and 'shape'.

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <ios>
#include <limits>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/xtensor_compat.hpp>
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/detail/utf8.hpp>

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

/// The bytes of an .npy image: a file (read on demand) ...
class npy_file_bytes {
 public:
  npy_file_bytes(const std::filesystem::path& path, const file_origin& origin)
      : m_origin(origin),
        m_size(static_cast<std::size_t>(regular_file_size(path, origin))),
        m_in(open_for_reading(path, origin)) {}
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  void read(std::size_t offset, void* destination, std::size_t count) {
    read_at(m_in, offset, destination, count, m_origin);
  }
  /// Pointer to `count` bytes at `offset`, read into `scratch`.
  const unsigned char* bytes(std::size_t offset, std::size_t count,
                             std::vector<unsigned char>& scratch) {
    scratch.resize(count);
    read(offset, scratch.data(), count);
    return scratch.data();
  }

 private:
  const file_origin& m_origin;
  std::size_t m_size;  // before m_in: the path is checked before the file is opened
  std::ifstream m_in;
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
  npy_header_parser(std::string_view text, const file_origin& origin)
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
  const file_origin& m_origin;
  std::size_t m_pos = 0;
};

/// Reads and validates the preamble and header; checks that exactly data_bytes() follow.
template <typename Source>
[[nodiscard]] npy_header parse_npy_header(Source& source, const file_origin& origin) {
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
                            const file_origin& origin) {
  for (std::size_t k = 0; k < count; ++k)
    if (bytes[k] > 1)
      origin.fail("data: expected bool bytes 0 or 1, got ", int{bytes[k]}, " at element ", k,
                  " (storage order)");
}

/// The conversion rule of read_npy<T> (see there), checked before any data is read.
template <npy_element T>
void check_npy_conversion(const npy_header& h, const file_origin& origin,
                          const char* strings_hint) {
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

/// Reads the data of a validated header, whose conversion to T check_npy_conversion accepted, as
/// T in C order into out (h.size() elements).
template <npy_element T, typename Source>
void read_npy_values_into(Source& source, const npy_header& h, const file_origin& origin, T* out) {
  const bool swap = npy_needs_swap(h);
  const bool multi_axis_fortran = h.fortran_order && h.shape.size() > 1;
  if (npy_stores<T>(h) && !swap && !multi_axis_fortran) {  // the stored bytes are the answer
    source.read(h.data_offset, out, h.data_bytes());
    if constexpr (std::same_as<T, bool>)
      check_npy_bools(reinterpret_cast<const unsigned char*>(out), h.size(), origin);
    return;
  }
  std::vector<unsigned char> scratch;
  const unsigned char* bytes = source.bytes(h.data_offset, h.data_bytes(), scratch);
  if (h.kind == 'b') check_npy_bools(bytes, h.size(), origin);
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
}

/// Reads the data of a validated header as T, in C order.
template <npy_element T, typename Source>
[[nodiscard]] npy_array<T> read_npy_values(Source& source, const npy_header& h,
                                           const file_origin& origin, const char* strings_hint) {
  check_npy_conversion<T>(h, origin, strings_hint);  // before allocating
  npy_array<T> result(typename npy_array<T>::shape_type(h.shape.begin(), h.shape.end()));
  read_npy_values_into(source, h, origin, result.data());
  return result;
}

/// Reads the data of a validated string header ('S' bytes or 'U' UTF-32) as UTF-8, in C order;
/// trailing NULs are padding and removed, as numpy does.
template <typename Source>
[[nodiscard]] std::vector<std::string> read_npy_string_values(Source& source, const npy_header& h,
                                                              const file_origin& origin,
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
      if (!is_unicode_scalar_value(cp))
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

}  // namespace detail

/// \brief Reads and validates the header of an .npy file.
///
/// Checks the magic bytes, the version (1.0, 2.0 or 3.0), the header's dict syntax, the dtype,
/// the shape, and that the file holds exactly the data bytes the header announces.
/// \throws io_error naming the file and the field for anything else (object arrays included).
[[nodiscard]] inline npy_header read_npy_header(const std::filesystem::path& path) {
  const detail::file_origin origin{"read_npy_header", detail::quoted(path)};
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
  const detail::file_origin origin{"read_npy", detail::quoted(path)};
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
  const detail::file_origin origin{"read_npy_strings", detail::quoted(path)};
  detail::npy_file_bytes source(path, origin);
  const npy_header h = detail::parse_npy_header(source, origin);
  return detail::read_npy_string_values(source, h, origin, detail::read_numbers_hint);
}

/// \brief An .npy file open for reading in parts: the header is read and validated once (as
/// read_npy_header does), then each read_into() or read_slab() seeks to its elements and reads
/// only them, so a large array such as (subjects, searchlights, pairs) can be processed one
/// subject, or one block of rows, at a time without ever holding it whole.
///
/// Elements are numbered in C order (the last axis fastest), and convert to T by read_npy's rule.
/// Arrays of rank 2 or more must be stored in C order (numpy's default; Fortran-ordered data
/// would need a pass over the whole file for any part: read those with read_npy).
/// \code
/// io::npy_reader file("searchlight/rdms.npy");     // (subjects, centres, pairs)
/// const auto subject = file.read_slab<float>(3, 1);  // shape (1, centres, pairs)
/// \endcode
class npy_reader {
 public:
  /// \throws io_error naming the file and the field, as read_npy_header, and for Fortran-ordered
  /// data of rank 2 or more.
  explicit npy_reader(std::filesystem::path path)
      : m_path(std::move(path)),
        m_origin(std::make_unique<detail::file_origin>(
            detail::file_origin{"npy_reader", detail::quoted(m_path)})),
        m_source(m_path, *m_origin),
        m_header(detail::parse_npy_header(m_source, *m_origin)) {
    if (m_header.fortran_order && m_header.shape.size() > 1)
      m_origin->fail(
          "header field 'fortran_order': expected C order (False) for reading in parts, got True; "
          "read it whole with read_npy, or save it with numpy.ascontiguousarray");
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
  [[nodiscard]] const npy_header& header() const noexcept { return m_header; }
  /// The array's shape (empty for a 0-d array).
  [[nodiscard]] const std::vector<std::size_t>& shape() const noexcept { return m_header.shape; }

  /// \brief Reads elements [first, first + out.size()) of the C-order array into out.
  /// \throws io_error for a range beyond the array's size(), a conversion read_npy refuses, a
  /// value out of T's range (the message counts elements from `first`), or a failed read.
  template <npy_element T>
  void read_into(std::size_t first, std::span<T> out) {
    const std::size_t total = m_header.size();
    if (first > total || out.size() > total - first)
      m_origin->fail("expected elements within the array's ", total, " (shape ",
                     detail::shape_repr(m_header.shape), "), got [", first, ", ",
                     first + out.size(), ")");
    detail::check_npy_conversion<T>(m_header, *m_origin, "npy_reader reads numbers only");
    npy_header part = m_header;
    part.shape = {out.size()};
    part.data_offset = m_header.data_offset + first * m_header.item_size;
    detail::read_npy_values_into(m_source, part, *m_origin, out.data());
  }

  /// \brief Reads the slab [first, first + count) along the first axis: an array of shape
  /// (count, shape()[1], ...).
  /// \throws io_error for a 0-d array, a slab beyond the first axis, or as read_into().
  template <npy_element T>
  [[nodiscard]] npy_array<T> read_slab(std::size_t first, std::size_t count) {
    if (m_header.shape.empty() || first > m_header.shape[0] || count > m_header.shape[0] - first)
      m_origin->fail("expected a slab within the first axis of shape ",
                     detail::shape_repr(m_header.shape), ", got rows [", first, ", ", first + count,
                     ")");
    std::vector<std::size_t> shape = m_header.shape;
    shape[0] = count;
    npy_array<T> slab(typename npy_array<T>::shape_type(shape.begin(), shape.end()));
    const std::size_t row = m_header.shape[0] == 0 ? 0 : m_header.size() / m_header.shape[0];
    read_into(first * row, std::span<T>(slab.data(), slab.size()));
    return slab;
  }

 private:
  std::filesystem::path m_path;
  std::unique_ptr<detail::file_origin> m_origin;  // a stable address: m_source refers to it
  detail::npy_file_bytes m_source;
  npy_header m_header;
};

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

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_NPY_HPP
