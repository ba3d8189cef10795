// .npy / .npz reading and writing: round trips for every dtype and order, files written by numpy
// itself (bytes in tests/reference/io_values.txt), hand-made and corrupted files, and the real
// data in ../shared/data (skipped visibly when absent).
#include <dnn2brain/io/npy.hpp>
#include <dnn2brain/io/npz.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <numbers>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include <catch2/catch.hpp>

#include "support/io_support.hpp"

namespace fs = std::filesystem;
namespace io = dnn2brain::io;
using Catch::Contains;

namespace {

using dnn2brain::test::count_entries;
using dnn2brain::test::data_file;
using dnn2brain::test::data_present;
using dnn2brain::test::io_reference;
using dnn2brain::test::io_reference_shape;
using dnn2brain::test::io_reference_strings;
using dnn2brain::test::read_file;
using dnn2brain::test::scratch_dir;
using dnn2brain::test::shape_of;
using dnn2brain::test::write_file;

std::size_t ref_size(const std::string& name) {
  return static_cast<std::size_t>(io_reference(name)(0, 0));
}

// A file numpy wrote, stored byte by byte in the reference file.
std::string ref_bytes(const std::string& name) {
  const auto& a = io_reference(name);
  std::string bytes;
  for (Eigen::Index k = 0; k < a.size(); ++k) bytes += static_cast<char>(a.data()[k]);
  return bytes;
}

// The message of the dnn2brain::io_error f throws (any other exception escapes to Catch).
template <typename F>
std::string io_error_message(F&& f) {
  try {
    f();
  } catch (const dnn2brain::io_error& e) {
    return e.what();
  }
  return "(no dnn2brain::io_error thrown)";
}

// Concatenation by appending (GCC 12 warns falsely about "literal" + temporary string).
template <typename... Parts>
std::string join(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

// Raw bytes of values in the given byte order.
template <typename T>
std::string raw_bytes(std::initializer_list<T> values, bool big_endian = false) {
  std::string out;
  for (const T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big_endian != (std::endian::native == std::endian::big)) std::reverse(b, b + sizeof(T));
    out.append(b, sizeof(T));
  }
  return out;
}

// An .npy image made by hand: preamble of `version`, `dict` padded to 64 bytes, then `data`.
std::string npy_image(std::string_view dict, std::string_view data, int version = 1) {
  const std::size_t preamble = version == 1 ? 10 : 12;
  std::string header(dict);
  header.append((64 - (preamble + dict.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  for (std::size_t k = 0; k < preamble - 8; ++k)
    out += static_cast<char>((header.size() >> (8 * k)) & 0xFF);
  return out.append(header).append(data);
}

std::string dict(std::string_view descr, std::string_view shape, bool fortran = false) {
  std::string out = "{'descr': '";
  out.append(descr).append("', 'fortran_order': ").append(fortran ? "True" : "False");
  return out.append(", 'shape': ").append(shape).append(", }");
}

// --- a zip builder independent of dnn2brain's writer
// ----------------------------------------------

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out += static_cast<char>(v >> (8 * k) & 0xFF);
}

std::uint32_t crc_of(std::string_view data) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// Raw deflate via zlib's compress2: its zlib stream minus the 2-byte header and Adler-32 trailer.
std::string raw_deflate(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                    reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()),
                    Z_BEST_COMPRESSION) == Z_OK);
  return out.substr(2, size - 6);
}

struct zip_member {
  std::string name;
  std::string packed;  // the bytes as stored in the archive
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;
  std::uint64_t size = 0;  // uncompressed
  bool zip64 = false;      // sizes and offset in a zip64 extra field of the central directory
  std::string local_name;  // defaults to name
};

zip_member member(std::string name, const std::string& data, bool deflate = false) {
  zip_member m;
  m.name = std::move(name);
  m.packed = deflate ? raw_deflate(data) : data;
  m.method = deflate ? 8 : 0;
  m.crc = crc_of(data);
  m.size = data.size();
  return m;
}

std::string build_zip(const std::vector<zip_member>& members, bool zip64_end = false) {
  std::string out, directory;
  for (const auto& m : members) {
    const std::uint64_t offset = out.size();
    const std::string local_name = m.local_name.empty() ? m.name : m.local_name;
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);
    put_le(out, m.flags, 2);
    put_le(out, m.method, 2);
    put_le(out, 0, 4);
    put_le(out, m.crc, 4);
    put_le(out, m.packed.size(), 4);
    put_le(out, m.size, 4);
    put_le(out, local_name.size(), 2);
    put_le(out, 0, 2);
    out += local_name + m.packed;

    std::string extra;
    if (m.zip64) {
      put_le(extra, 1, 2);
      put_le(extra, 24, 2);
      put_le(extra, m.size, 8);
      put_le(extra, m.packed.size(), 8);
      put_le(extra, offset, 8);
    }
    const std::uint64_t saturated = 0xFFFFFFFF;
    put_le(directory, 0x02014b50, 4);
    put_le(directory, 45, 2);
    put_le(directory, 45, 2);
    put_le(directory, m.flags, 2);
    put_le(directory, m.method, 2);
    put_le(directory, 0, 4);
    put_le(directory, m.crc, 4);
    put_le(directory, m.zip64 ? saturated : m.packed.size(), 4);
    put_le(directory, m.zip64 ? saturated : m.size, 4);
    put_le(directory, m.name.size(), 2);
    put_le(directory, extra.size(), 2);
    put_le(directory, 0, 6);  // comment length, disk, internal attributes
    put_le(directory, 0, 4);  // external attributes
    put_le(directory, m.zip64 ? saturated : offset, 4);
    directory += m.name + extra;
  }
  const std::uint64_t directory_offset = out.size();
  out += directory;
  if (zip64_end) {
    const std::uint64_t record = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 8);
    put_le(out, members.size(), 8);
    put_le(out, members.size(), 8);
    put_le(out, directory.size(), 8);
    put_le(out, directory_offset, 8);
    put_le(out, 0x07064b50, 4);
    put_le(out, 0, 4);
    put_le(out, record, 8);
    put_le(out, 1, 4);
  }
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, zip64_end ? 0xFFFF : members.size(), 2);
  put_le(out, zip64_end ? 0xFFFF : members.size(), 2);
  put_le(out, zip64_end ? 0xFFFFFFFF : directory.size(), 4);
  put_le(out, zip64_end ? 0xFFFFFFFF : directory_offset, 4);
  put_le(out, 0, 2);
  return out;
}

// --- values for round trips
// -----------------------------------------------------------------------

template <typename T>
std::vector<T> test_values(std::size_t n) {
  std::vector<T> v(n);
  std::mt19937_64 rng(42);
  for (std::size_t k = 0; k < n; ++k) {
    if constexpr (std::same_as<T, bool>) {
      v[k] = (rng() & 1U) != 0;
    } else if constexpr (std::floating_point<T>) {
      v[k] = static_cast<T>(std::ldexp(static_cast<double>(rng() >> 11), -40) - 4096.0);
    } else {
      v[k] = static_cast<T>(rng());  // wraps into the full range of T
    }
  }
  if constexpr (std::floating_point<T>) {
    const T specials[] = {std::numeric_limits<T>::infinity(),   -std::numeric_limits<T>::infinity(),
                          std::numeric_limits<T>::quiet_NaN(),  T(-0.0),
                          std::numeric_limits<T>::denorm_min(), std::numeric_limits<T>::max()};
    for (std::size_t k = 0; k < std::size(specials) && k < n; ++k) v[k] = specials[k];
  } else if constexpr (!std::same_as<T, bool>) {
    if (n > 1) {
      v[0] = std::numeric_limits<T>::min();
      v[1] = std::numeric_limits<T>::max();
    }
  }
  return v;
}

template <typename T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(T)) == 0;
}

}  // namespace

TEMPLATE_TEST_CASE("write_npy and read_npy round-trip every dtype and shape", "[io][npy]", float,
                   double, std::int8_t, std::int16_t, std::int32_t, std::int64_t, std::uint8_t,
                   std::uint16_t, std::uint32_t, std::uint64_t, bool) {
  using T = TestType;
  const scratch_dir dir("npy-roundtrip");
  const fs::path file = dir.path / "a.npy";
  for (const auto& shape : std::vector<std::vector<std::size_t>>{
           {}, {0}, {7}, {3, 4}, {2, 3, 5}, {2, 0, 3}, {1, 1, 1, 1, 3}}) {
    INFO("shape " << dnn2brain::io::detail::shape_repr(shape));
    io::npy_array<T> a(typename io::npy_array<T>::shape_type(shape.begin(), shape.end()));
    const auto values = test_values<T>(a.size());
    std::copy(values.begin(), values.end(), a.begin());
    io::write_npy(file, a);

    const io::npy_header h = io::read_npy_header(file);
    CHECK(h.descr == io::detail::npy_descr<T>());
    CHECK(h.shape == shape);
    CHECK_FALSE(h.fortran_order);
    CHECK(h.version == 1);
    CHECK(h.data_offset % 64 == 0);
    CHECK(fs::file_size(file) == h.data_offset + a.size() * sizeof(T));

    const auto b = io::read_npy<T>(file);
    REQUIRE(shape_of(b) == shape);
    CHECK(same_bits(a.data(), b.data(), a.size()));
    if constexpr (!std::same_as<T, bool>) {  // every numeric dtype reads as double
      const auto d = io::read_npy<double>(file);
      bool equal = true;
      for (std::size_t k = 0; k < a.size(); ++k) {
        const double expected = static_cast<double>(a.data()[k]);
        equal =
            equal && (d.data()[k] == expected || (std::isnan(expected) && std::isnan(d.data()[k])));
      }
      CHECK(equal);
    }
  }
}

TEST_CASE("write_npy evaluates expressions and column-major arrays in C order", "[io][npy]") {
  const scratch_dir dir("npy-layout");
  auto f = xt::xarray<double, xt::layout_type::column_major>::from_shape({2, 3});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) f(i, j) = static_cast<double>(10 * i + j);
  io::write_npy(dir.path / "f.npy", f);
  io::write_npy(dir.path / "e.npy", f + f);
  const auto a = io::read_npy<double>(dir.path / "f.npy");
  const auto b = io::read_npy<double>(dir.path / "e.npy");
  CHECK_FALSE(io::read_npy_header(dir.path / "f.npy").fortran_order);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(a(i, j) == f(i, j));
      CHECK(b(i, j) == 2 * f(i, j));
    }
  // The exact bytes numpy writes for np.save(f, np.arange(3.0)).
  io::write_npy(dir.path / "r.npy", xt::xarray<double>{0.0, 1.0, 2.0});
  CHECK(read_file(dir.path / "r.npy") ==
        npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                  raw_bytes<double>({0.0, 1.0, 2.0})));
}

TEST_CASE("read_npy handles Fortran order, big-endian data and format versions 2.0 and 3.0",
          "[io][npy]") {
  const scratch_dir dir("npy-orders");
  // A 2 x 3 int32 matrix [[1, 2, 3], [4, 5, 6]] stored column by column, big-endian.
  const fs::path fortran = write_file(
      dir.path / "fortran.npy",
      npy_image(dict(">i4", "(2, 3)", true), raw_bytes<std::int32_t>({1, 4, 2, 5, 3, 6}, true)));
  const auto a = io::read_npy<std::int32_t>(fortran);
  REQUIRE(shape_of(a) == std::vector<std::size_t>{2, 3});
  CHECK(std::vector<std::int32_t>(a.begin(), a.end()) ==
        std::vector<std::int32_t>{1, 2, 3, 4, 5, 6});
  const auto h = io::read_npy_header(fortran);
  CHECK(h.fortran_order);
  CHECK(h.big_endian);
  CHECK(h.kind == 'i');
  CHECK(h.item_size == 4);
  const auto as_double = io::read_npy<double>(fortran);
  CHECK(std::vector<double>(as_double.begin(), as_double.end()) ==
        std::vector<double>{1, 2, 3, 4, 5, 6});

  // Three axes in Fortran order: element (i, j, k) sits at i + 2 j + 6 k.
  std::string data;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) data += raw_bytes<double>({100.0 * i + 10.0 * j + k});
  const auto c = io::read_npy<double>(
      write_file(dir.path / "f3.npy", npy_image(dict("<f8", "(2, 3, 4)", true), data)));
  bool ok = true;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k)
        ok = ok && c(i, j, k) == static_cast<double>(100 * i + 10 * j + k);
  CHECK(ok);

  for (const int version : {2, 3}) {
    INFO("version " << version);
    const fs::path file = write_file(
        dir.path / "v.npy",
        npy_image(dict("<u2", "(3,)"), raw_bytes<std::uint16_t>({7, 8, 65535}), version));
    CHECK(io::read_npy_header(file).version == version);
    const auto v = io::read_npy<std::uint16_t>(file);
    CHECK(std::vector<std::uint16_t>(v.begin(), v.end()) ==
          std::vector<std::uint16_t>{7, 8, 65535});
  }
  // Older and hand-written headers: double quotes, Python 2 longs, no trailing comma.
  const fs::path py2 =
      write_file(dir.path / "py2.npy",
                 npy_image("{\"descr\": \"<i8\", \"shape\": (2L, 1L), \"fortran_order\": False}",
                           raw_bytes<std::int64_t>({-5, 9})));
  CHECK(shape_of(io::read_npy<std::int64_t>(py2)) == std::vector<std::size_t>{2, 1});
}

TEST_CASE("The version 2.0 header dnn2brain writes when a header outgrows 64 KiB reads back",
          "[io][npy]") {
  const scratch_dir dir("npy-v2");
  const std::vector<std::size_t> shape(25000, 1);  // numpy itself allows at most 32 or 64 axes
  const std::string header = io::detail::npy_header_block("<f8", shape);
  CHECK(header[6] == 2);
  CHECK(header.size() % 64 == 0);
  const fs::path file = write_file(dir.path / "v2.npy", join(header, raw_bytes<double>({2.5})));
  const auto h = io::read_npy_header(file);
  CHECK(h.version == 2);
  CHECK(h.shape == shape);
  CHECK(io::read_npy<double>(file).data()[0] == 2.5);
}

TEST_CASE("read_npy converts numeric types by a lossless-kind rule", "[io][npy]") {
  const scratch_dir dir("npy-convert");
  const auto file = [&](const std::string& name, std::string_view descr, std::string_view data,
                        std::string_view shape) {
    return write_file(dir.path / name, npy_image(dict(descr, shape), data));
  };
  const fs::path f4 = file("f4.npy", "<f4", raw_bytes<float>({1.5f, -2.0f}), "(2,)");
  const fs::path i8 = file("i8.npy", "<i8", raw_bytes<std::int64_t>({300, -1}), "(2,)");
  const fs::path u1 = file("u1.npy", "|u1", "\x05\x7f", "(2,)");
  const fs::path b1 = file("b1.npy", "|b1", std::string("\x01\x00", 2), "(2,)");
  const fs::path u9 = file("u9.npy", "<U1", raw_bytes<std::uint32_t>({'a', 'b'}), "(2,)");

  CHECK(io::read_npy<double>(f4)(1) == -2.0);       // float32 -> double: exact
  CHECK(io::read_npy<float>(i8)(0) == 300.0f);      // integers -> float
  CHECK(io::read_npy<std::int8_t>(u1)(1) == 127);   // values fit: allowed
  CHECK(io::read_npy<std::int16_t>(i8)(0) == 300);  // values fit: allowed
  CHECK(io::read_npy<std::uint8_t>(b1)(0) == 1);    // bool -> integer
  CHECK(io::read_npy<double>(b1)(1) == 0.0);        // bool -> float
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<std::int32_t>(f4); }),
             Contains("dnn2brain::read_npy") && Contains(f4.string()) &&
                 Contains("header field 'descr'") && Contains("would lose information"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<std::int8_t>(i8); }),
             Contains(i8.string()) && Contains("value 300") && Contains("int8"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<std::uint32_t>(i8); }),
             Contains("value -1") && Contains("uint32"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<bool>(u1); }),
             Contains("header field 'descr'") && Contains("bool"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<double>(u9); }),
             Contains("holds strings") && Contains("read_npy_strings"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy_strings(f4); }),
             Contains("dnn2brain::read_npy_strings") && Contains("expected a string dtype"));
  CHECK(io::read_npy_strings(u9) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("Malformed .npy files give io_error naming the function, the file and the field",
          "[io][npy]") {
  const scratch_dir dir("npy-bad");
  const std::string good_data = raw_bytes<double>({1.0, 2.0, 3.0, 4.0, 5.0, 6.0});
  const std::string good = npy_image(dict("<f8", "(2, 3)"), good_data);
  struct bad_file {
    std::string name, bytes, field;
  };
  std::string wrong_version = good;
  wrong_version[6] = 4;
  std::string huge_header_len = good;
  huge_header_len[8] = '\xff';
  huge_header_len[9] = '\xff';
  std::string bad_bool = npy_image(dict("|b1", "(2,)"), std::string("\x01\x02", 2));
  const std::vector<bad_file> cases{
      {"empty.npy", "", "magic"},
      {"magic.npy", join("\x93NUMPZ", good.substr(6)), "magic"},
      {"text.npy", "descr,fortran_order,shape\n1,2,3\n", "magic"},
      {"version.npy", wrong_version, "version"},
      {"header_len.npy", huge_header_len, "header length"},
      {"cut_header.npy", good.substr(0, 40), "header length"},
      {"preamble.npy", good.substr(0, 9), "magic"},
      {"cut_data.npy", good.substr(0, good.size() - 1), "truncated"},
      {"trailing.npy", good + "x", "trailing bytes"},
      {"syntax.npy",
       npy_image("{'descr' '<f8', 'fortran_order': False, 'shape': (6,), }", good_data),
       "header: expected ':'"},
      {"unclosed.npy",
       npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)", good_data),
       "header: expected ',' or '}'"},
      {"after.npy", npy_image(dict("<f8", "(6,)") + "x", good_data), "padding"},
      {"descr_c16.npy", npy_image(dict("<c16", "(3,)"), good_data), "header field 'descr'"},
      {"descr_f2.npy", npy_image(dict("<f2", "(24,)"), good_data), "header field 'descr'"},
      {"descr_order.npy", npy_image(dict("|f8", "(6,)"), good_data), "byte order"},
      {"descr_junk.npy", npy_image(dict("float64", "(6,)"), good_data), "header field 'descr'"},
      {"descr_object.npy", npy_image(dict("|O", "(6,)"), good_data), "pickled"},
      {"structured.npy",
       npy_image("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,), }", good_data),
       "structured"},
      {"missing.npy", npy_image("{'descr': '<f8', 'shape': (6,), }", good_data),
       "header field 'fortran_order' is missing"},
      {"unknown.npy",
       npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}", good_data),
       "header field 'x'"},
      {"twice.npy",
       npy_image("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (6,)}",
                 good_data),
       "appears twice"},
      {"order.npy", npy_image("{'descr': '<f8', 'fortran_order': 0, 'shape': (6,)}", good_data),
       "header field 'fortran_order'"},
      {"negative.npy", npy_image(dict("<f8", "(-2, 3)"), good_data), "non-negative"},
      {"not_tuple.npy", npy_image(dict("<f8", "(6)"), good_data), "trailing comma"},
      {"shape_text.npy", npy_image(dict("<f8", "(2, x)"), good_data), "header field 'shape'"},
      {"overflow.npy", npy_image(dict("<f8", "(99999999999999999999,)"), good_data), "overflows"},
      {"product.npy", npy_image(dict("<f8", "(4294967296, 4294967296)"), good_data),
       "than 64 bits can count"},
      {"bytes.npy", npy_image(dict("<f8", "(2305843009213693952,)"), good_data),
       "needs more bytes"},
      {"wrong_shape.npy", npy_image(dict("<f8", "(7,)"), good_data), "truncated"},
      {"bad_bool.npy", bad_bool, "bool bytes 0 or 1"},
  };
  for (const auto& c : cases) {
    const fs::path file = write_file(dir.path / c.name, c.bytes);
    INFO(c.name);
    CHECK_THAT(io_error_message([&] { (void)io::read_npy<double>(file); }),
               Contains(join("dnn2brain::read_npy: '", file.string(), "': ")) && Contains(c.field));
  }
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<double>(dir.path / "absent.npy"); }),
             Contains("absent.npy") && Contains("no such file"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<double>(dir.path); }),
             Contains("not a regular file"));
}

TEST_CASE("read_npy never crashes on truncated or mutated files", "[io][npy]") {
  const scratch_dir dir("npy-fuzz");
  const std::string good =
      npy_image(dict(">i2", "(3, 4)", true),
                raw_bytes<std::int16_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, true));
  const fs::path file = dir.path / "f.npy";
  for (std::size_t n = 0; n < good.size(); ++n) {  // every truncation is an error
    write_file(file, good.substr(0, n));
    CHECK_THROWS_AS(io::read_npy<std::int32_t>(file), dnn2brain::io_error);
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {  // mutations: valid or io_error, nothing else
    std::string bytes = good;
    for (int m = 0; m < 1 + trial % 3; ++m)
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    write_file(file, bytes);
    try {
      (void)io::read_npy<std::int64_t>(file);
    } catch (const dnn2brain::io_error&) {
    }
    try {
      (void)io::read_npy_strings(file);
    } catch (const dnn2brain::io_error&) {
    }
  }
}

TEST_CASE("read_npy_strings decodes unicode and byte strings", "[io][npy]") {
  const scratch_dir dir("npy-strings");
  // "é€" (2 code points) and "😀" padded to U2, little- and big-endian.
  for (const bool big : {false, true}) {
    const fs::path file = write_file(
        dir.path / "u.npy", npy_image(dict(big ? ">U2" : "<U2", "(2,)"),
                                      raw_bytes<std::uint32_t>({0xE9, 0x20AC, 0x1F600, 0}, big)));
    CHECK(io::read_npy_strings(file) ==
          std::vector<std::string>{"\xC3\xA9\xE2\x82\xAC", "\xF0\x9F\x98\x80"});
  }
  const fs::path bytes =
      write_file(dir.path / "s.npy", npy_image(dict("|S3", "(2,)"), std::string("ab\0c\0\0", 6)));
  CHECK(io::read_npy_strings(bytes) == std::vector<std::string>{"ab", std::string("c", 1)});
  const fs::path surrogate = write_file(
      dir.path / "bad.npy", npy_image(dict("<U1", "(1,)"), raw_bytes<std::uint32_t>({0xD800})));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy_strings(surrogate); }),
             Contains("not a Unicode scalar value"));
}

TEST_CASE("Files written by numpy read back as numpy wrote them", "[io][npy][npz]") {
  const scratch_dir dir("npy-numpy");
  const auto fixture = [&](const std::string& name) {
    return write_file(dir.path / name, ref_bytes(name));
  };
  // Big-endian float64 in Fortran order.
  const auto be = io::read_npy<double>(fixture("file_be_fortran_npy"));
  CHECK(shape_of(be) == std::vector<std::size_t>{2, 3, 4});
  CHECK(io::read_npy_header(dir.path / "file_be_fortran_npy").fortran_order);
  CHECK(Eigen::Map<const Eigen::RowVectorXd>(be.data(), 24) ==
        io_reference("file_be_fortran_npy_values").row(0));
  // Format versions 2.0 (uint16) and 3.0 (bool).
  const auto v2 = io::read_npy<std::uint16_t>(fixture("file_v2_npy"));
  CHECK(io::read_npy_header(dir.path / "file_v2_npy").version == 2);
  for (std::size_t k = 0; k < v2.size(); ++k)
    CHECK(v2(k) == io_reference("file_v2_npy_values")(0, static_cast<Eigen::Index>(k)));
  const auto v3 = io::read_npy<bool>(fixture("file_v3_npy"));
  CHECK(io::read_npy_header(dir.path / "file_v3_npy").version == 3);
  CHECK(shape_of(v3) == std::vector<std::size_t>{2, 3});
  for (std::size_t k = 0; k < v3.size(); ++k)
    CHECK(v3.data()[k] ==
          (io_reference("file_v3_npy_values")(0, static_cast<Eigen::Index>(k)) != 0));
  // Strings: |S5 with an inner NUL, and 2-D big-endian unicode with astral code points.
  CHECK(io::read_npy_strings(fixture("file_bytes_npy")) ==
        io_reference_strings("file_bytes_npy_values", true));
  CHECK(io::read_npy_strings(fixture("file_unicode_be_npy")) ==
        io_reference_strings("file_unicode_be_npy_values"));

  // numpy.savez_compressed: deflated entries, zip64 extra fields in the local headers.
  const io::npz_archive z(fixture("file_compressed_npz"));
  CHECK(z.names() == std::vector<std::string>{"a", "b", "labels"});
  const auto a = z.read<double>("a");
  CHECK(Eigen::Map<const dnn2brain::test::row_matrix>(a.data(), 3, 4) ==
        io_reference("file_compressed_npz_a"));
  const auto b = z.read<std::int64_t>("b.npy");
  CHECK(shape_of(b) == std::vector<std::size_t>{2, 3, 4});
  CHECK(z.header("b").fortran_order);
  CHECK(z.header("b").descr == ">i4");
  for (std::size_t k = 0; k < b.size(); ++k)
    CHECK(static_cast<double>(b.data()[k]) ==
          io_reference("file_compressed_npz_b")(0, static_cast<Eigen::Index>(k)));
  CHECK(z.read_strings("labels") == io_reference_strings("file_compressed_npz_labels"));

  // numpy.savez of every dtype at its extremes.
  const io::npz_archive d(fixture("file_dtypes_npz"));
  CHECK(d.names() == io_reference_strings("file_dtypes_npz_names"));
  const auto integers = [&]<typename T>(const char* name, T) {
    INFO(name);
    const auto v = d.read<T>(name);
    CHECK(std::vector<T>(v.begin(), v.end()) ==
          std::vector<T>{std::numeric_limits<T>::min(), 0, 1, std::numeric_limits<T>::max()});
    CHECK(d.header(name).descr == io::detail::npy_descr<T>());
  };
  integers("int8", std::int8_t{});
  integers("int16", std::int16_t{});
  integers("int32", std::int32_t{});
  integers("int64", std::int64_t{});
  integers("uint8", std::uint8_t{});
  integers("uint16", std::uint16_t{});
  integers("uint32", std::uint32_t{});
  integers("uint64", std::uint64_t{});
  const auto floats = [&]<typename T>(const char* name, T) {
    INFO(name);
    const auto v = d.read<T>(name);
    REQUIRE(v.size() == 5);
    CHECK(v(0) == T(-1.5));
    CHECK(v(1) == T(0));
    CHECK(v(2) == static_cast<T>(std::numbers::pi));
    CHECK(v(3) == std::numeric_limits<T>::infinity());
    CHECK(std::isnan(v(4)));
  };
  floats("float32", float{});
  floats("float64", double{});
  const auto flags = d.read<bool>("bool");
  CHECK(std::vector<bool>(flags.begin(), flags.end()) == std::vector<bool>{true, false});
  // The range rule on real extremes: uint64 max does not fit int64, int8 min not uint8.
  CHECK_THAT(io_error_message([&] { (void)d.read<std::int64_t>("uint64"); }),
             Contains("dnn2brain::npz_archive::read") && Contains("entry 'uint64.npy'") &&
                 Contains("does not fit in int64"));
  CHECK_THAT(io_error_message([&] { (void)d.read<std::uint8_t>("int8"); }),
             Contains("does not fit in uint8"));
  CHECK(d.read<std::int64_t>("uint32")(3) == 4294967295);
}

TEST_CASE("npz_writer and write_npz round-trip stored, deflated and zip64 archives", "[io][npz]") {
  const scratch_dir dir("npz-roundtrip");
  xt::xarray<double> a = {{1.0, -2.5, 3.0}, {4.0, 5.0, std::nan("")}};
  xt::xarray<std::int16_t> b = {-32768, 0, 32767};
  auto c = xt::xarray<bool>::from_shape({2, 1});
  c(0, 0) = true;
  c(1, 0) = false;
  for (const io::npz_options options :
       {io::npz_options{}, io::npz_options{.compressed = true}, io::npz_options{.zip64 = true},
        io::npz_options{.compressed = true, .zip64 = true}}) {
    INFO("compressed " << options.compressed << ", zip64 " << options.zip64);
    const fs::path file = dir.path / "x.npz";
    fs::remove(file);
    {
      io::npz_writer writer(file, options);
      writer.add("a", a);
      writer.add("b.npy", b);
      writer.add("c", c);
      CHECK_FALSE(fs::exists(file));  // appears only on commit
      writer.commit();
    }
    const io::npz_archive z(file);
    CHECK(z.names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(z.contains("a"));
    CHECK(z.contains("a.npy"));
    CHECK_FALSE(z.contains("d"));
    const auto a2 = z.read<double>("a");
    CHECK(same_bits(a.data(), a2.data(), a.size()));
    CHECK(shape_of(a2) == std::vector<std::size_t>{2, 3});
    const auto b2 = z.read<std::int16_t>("b");
    CHECK(std::vector<std::int16_t>(b2.begin(), b2.end()) ==
          std::vector<std::int16_t>(b.begin(), b.end()));
    CHECK((z.read<bool>("c.npy") == c));
    CHECK(z.header("c").shape == std::vector<std::size_t>{2, 1});
    // The entries are exactly what write_npy writes.
    io::write_npy(dir.path / "a.npy", a);
    const auto h = z.header("a");
    CHECK(h.data_offset == io::read_npy_header(dir.path / "a.npy").data_offset);
  }
  const std::map<std::string, xt::xarray<float>> arrays{{"x", xt::xarray<float>{1.f, 2.f}},
                                                        {"y", xt::xarray<float>{3.f, 4.f}}};
  io::write_npz(dir.path / "m.npz", arrays);
  CHECK((io::read_npz<float>(dir.path / "m.npz", "y") == arrays.at("y")));
  CHECK(io::npz_archive(dir.path / "m.npz").names() == std::vector<std::string>{"x", "y"});

  // A writer destroyed without commit leaves nothing behind; misuse is invalid_argument.
  {
    io::npz_writer writer(dir.path / "never.npz");
    writer.add("a", a);
    CHECK_THROWS_AS(writer.add("a", a), dnn2brain::invalid_argument);
    CHECK_THROWS_AS(writer.add("", a), dnn2brain::invalid_argument);
  }
  CHECK_FALSE(fs::exists(dir.path / "never.npz"));
  CHECK(count_entries(dir.path) == 3);
}

TEST_CASE("npz_archive reads zips made independently with zlib, zip64 extra fields included",
          "[io][npz]") {
  const scratch_dir dir("npz-zlib");
  std::string data;
  for (int k = 0; k < 500; ++k) data += raw_bytes<double>({k % 7 * 0.5});
  const std::string image = npy_image(dict("<f8", "(500,)"), data);
  const std::string labels =
      npy_image(dict("<U3", "(2,)"), raw_bytes<std::uint32_t>({'a', 'b', 'c', 'x', 0, 0}));
  auto deflated = member("v.npy", image, true);
  auto stored64 = member("labels.npy", labels);
  stored64.zip64 = true;
  auto deflated64 = member("w.npy", image, true);
  deflated64.zip64 = true;
  REQUIRE(deflated.packed.size() < image.size() / 4);
  for (const bool zip64_end : {false, true}) {
    const fs::path file =
        write_file(dir.path / "z.npz", build_zip({deflated, stored64, deflated64}, zip64_end));
    const io::npz_archive z(file);
    CHECK(z.names() == std::vector<std::string>{"v", "labels", "w"});
    for (const char* name : {"v", "w"}) {
      const auto v = z.read<double>(name);
      REQUIRE(v.size() == 500);
      CHECK(v(499) == 499 % 7 * 0.5);
    }
    CHECK(z.read_strings("labels") == std::vector<std::string>{"abc", "x"});
  }
}

TEST_CASE("Corrupt .npz files give io_error naming the archive, the entry and the field",
          "[io][npz]") {
  const scratch_dir dir("npz-bad");
  const std::string image = npy_image(dict("<f8", "(3,)"), raw_bytes<double>({1.0, 2.0, 3.0}));
  const auto zip = [&](auto&& change) {
    auto m = member("a.npy", image, true);
    change(m);
    return build_zip({m});
  };
  struct bad_file {
    std::string name, bytes, field;
  };
  const std::string good = zip([](zip_member&) {});
  std::string bad_deflate = good;
  bad_deflate[40] = static_cast<char>(bad_deflate[40] ^ 0x55);  // inside the deflate stream
  const std::vector<bad_file> cases{
      {"crc.npz", zip([](zip_member& m) { m.crc ^= 1; }), "CRC-32"},
      {"size_short.npz", zip([](zip_member& m) { m.size -= 1; }), "inflates to more than"},
      {"size_long.npz", zip([](zip_member& m) { m.size += 1; }), "the central directory declares"},
      {"bomb.npz", zip([](zip_member& m) { m.size = 0xFFFFFFF0; }), "beyond what deflate"},
      {"method.npz", zip([](zip_member& m) { m.method = 12; }), "compression method 12"},
      {"encrypted.npz", zip([](zip_member& m) { m.flags = 1; }), "encrypted"},
      {"stored_sizes.npz", zip([](zip_member& m) { m.method = 0; }), "sizes differ"},
      {"local_name.npz", zip([](zip_member& m) { m.local_name = "b.npy"; }), "local header"},
      {"deflate.npz", bad_deflate, "data"},
      {"truncated.npz", good.substr(0, good.size() - 10), "end of central directory"},
      {"empty.npz", "", "end of central directory"},
      {"not_zip.npz", image, "end of central directory"},
      {"middle.npz", join(good.substr(0, 50), good.substr(60)), "central directory"},
  };
  for (const auto& c : cases) {
    const fs::path file = write_file(dir.path / c.name, c.bytes);
    INFO(c.name);
    CHECK_THAT(io_error_message([&] { (void)io::npz_archive(file).read<double>("a"); }),
               Contains("dnn2brain::npz_archive") && Contains(join("'", file.string(), "'")) &&
                   Contains(c.field));
  }
  // A readable archive whose entry is a bad .npy: the message names the entry and the field.
  const fs::path inner = write_file(
      dir.path / "inner.npz",
      build_zip({member("a.npy", npy_image(dict("<f8", "(4,)"), raw_bytes<double>({1.0})))}));
  CHECK_THAT(
      io_error_message([&] { (void)io::npz_archive(inner).read<double>("a"); }),
      Contains(join("dnn2brain::npz_archive::read: '", inner.string(), "' entry 'a.npy': data")));
  CHECK_THAT(io_error_message([&] { (void)io::npz_archive(inner).read<double>("b"); }),
             Contains("entry 'b'") && Contains("no such entry") && Contains("holds: a"));
  const fs::path pickled =
      write_file(dir.path / "pickled.npz",
                 build_zip({member("meta.npy", npy_image(dict("|O", "()"), "\x80\x04N."))}));
  const io::npz_archive p(pickled);
  CHECK(p.names() == std::vector<std::string>{"meta"});
  CHECK_THAT(io_error_message([&] { (void)p.header("meta"); }),
             Contains("entry 'meta.npy': header field 'descr'") && Contains("pickled"));
  const fs::path twice = write_file(dir.path / "twice.npz",
                                    build_zip({member("a.npy", image), member("a.npy", image)}));
  CHECK_THAT(io_error_message([&] { (void)io::npz_archive{twice}; }), Contains("appears twice"));
}

TEST_CASE("npz_archive never crashes on truncated or mutated archives", "[io][npz]") {
  const scratch_dir dir("npz-fuzz");
  std::string data;
  for (int k = 0; k < 40; ++k) data += raw_bytes<float>({static_cast<float>(k)});
  const std::string image = npy_image(dict("<f4", "(40,)"), data);
  const fs::path file = dir.path / "f.npz";
  for (const bool zip64 : {false, true}) {
    auto stored = member("s.npy", image);
    auto packed = member("d.npy", image, true);
    stored.zip64 = packed.zip64 = zip64;
    const std::string good = build_zip({stored, packed}, zip64);
    const auto read_all = [&] {
      const io::npz_archive z(file);
      for (const auto& name : z.names()) (void)z.read<double>(name);
    };
    for (std::size_t n = 0; n < good.size(); ++n) {
      write_file(file, good.substr(0, n));
      CHECK_THROWS_AS(read_all(), dnn2brain::io_error);
    }
    std::mt19937 rng(11);
    for (int trial = 0; trial < 3000; ++trial) {
      std::string bytes = good;
      for (int m = 0; m < 1 + trial % 3; ++m)
        bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
      write_file(file, bytes);
      try {
        read_all();
      } catch (const dnn2brain::io_error&) {
      }
    }
  }
}

TEST_CASE("Real .npy files: n2b78 activations and the rsa118 RDM and labels",
          "[io][npy][real_data]") {
  if (!data_present("n2b78") || !data_present("rsa118")) return;
  const auto check = [](const std::string& tag, const auto& a) {
    INFO(tag);
    REQUIRE(shape_of(a) == io_reference_shape(tag + "_shape"));
    const std::size_t stride = ref_size(tag + "_stride");
    const auto& sample = io_reference(tag + "_sample");
    REQUIRE(static_cast<std::size_t>(sample.size()) == (a.size() + stride - 1) / stride);
    bool exact = true;
    double sum = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      sum += static_cast<double>(a.data()[k]);
      if (k % stride == 0)
        exact = exact && static_cast<double>(a.data()[k]) ==
                             sample(0, static_cast<Eigen::Index>(k / stride));
    }
    CHECK(exact);
    // Recursive summation errs by at most (n - 1) u sum|x|; the reference sum is exact (fsum).
    const double bound =
        static_cast<double>(a.size()) * std::numeric_limits<double>::epsilon() / 2 *
            io_reference(tag + "_abs_sum")(0, 0) +
        std::abs(io_reference(tag + "_sum")(0, 0)) * std::numeric_limits<double>::epsilon();
    INFO("sum " << sum << ", numpy " << io_reference(tag + "_sum")(0, 0) << ", bound " << bound);
    CHECK(std::abs(sum - io_reference(tag + "_sum")(0, 0)) <= bound);
  };
  const fs::path features = data_file("n2b78/case3_ResNet18_layer4_features_78x25088_f32.npy");
  const auto h = io::read_npy_header(features);
  CHECK(h.descr == "<f4");
  CHECK(h.data_offset == 128);
  check("npy_features", io::read_npy<float>(features));  // read in place, no conversion
  check("npy_features", io::read_npy<double>(features));
  check("npy_rsa118_rdm", io::read_npy<double>(data_file("rsa118/118_animate_RDM.npy")));
  const fs::path labels = data_file("rsa118/118_animate_labels.npy");
  CHECK(io::read_npy_header(labels).descr == "<U9");
  CHECK(io::read_npy_strings(labels) == io_reference_strings("npy_rsa118_labels"));
  CHECK_THAT(io_error_message([&] { (void)io::read_npy<double>(labels); }),
             Contains(labels.string()) && Contains("'<U9' holds strings"));
}

TEST_CASE("Real .npz files: n2b78 DNN and fMRI RDMs and Net2Brain results",
          "[io][npz][real_data]") {
  if (!data_present("n2b78")) return;
  for (const auto& [tag, file] :
       {std::pair{"case1", "case1_ResNet18_rdm_layer4.1.bn2.npz"},
        std::pair{"case2", "case2_RN50_rdm_visual.layer4.npz"},
        std::pair{"fmri_it", "fmri_IT_RDMs.npz"}, std::pair{"fmri_evc", "fmri_EVC_RDMs.npz"}}) {
    const std::string name = std::string("npz_") + tag;
    INFO(file);
    const io::npz_archive z(data_file(std::string("n2b78/") + file));
    CHECK(z.names() == std::vector<std::string>{"arr_0"});
    CHECK(z.header("arr_0").fortran_order == (io_reference(name + "_fortran")(0, 0) != 0));
    const auto a = z.read<double>("arr_0.npy");
    REQUIRE(shape_of(a) == io_reference_shape(name + "_shape"));
    const std::size_t stride = ref_size(name + "_stride");
    bool exact = true;
    for (std::size_t k = 0; k < a.size(); k += stride)
      exact = exact && a.data()[k] ==
                           io_reference(name + "_sample")(0, static_cast<Eigen::Index>(k / stride));
    CHECK(exact);
    CHECK((io::read_npz<double>(data_file(std::string("n2b78/") + file), "arr_0") == a));
  }
  const fs::path path = data_file("n2b78/case3_ResNet18_rdm_pearson_layer4.npz");
  const io::npz_archive z(path);
  CHECK(z.names() == io_reference_strings("npz_case3_names"));
  const auto rdm = z.read<float>("rdm");
  REQUIRE(shape_of(rdm) == io_reference_shape("npz_case3_rdm_shape"));
  for (std::size_t k = 0; k < rdm.size(); k += 7)
    CHECK(rdm(k) == io_reference("npz_case3_rdm_sample")(0, static_cast<Eigen::Index>(k / 7)));
  CHECK(z.read_strings("stimuli_name") == io_reference_strings("npz_case3_stimuli_name"));
  CHECK(z.read_strings("layer_name") == io_reference_strings("npz_case3_layer_name"));
  CHECK(z.header("layer_name").shape.empty());
  CHECK_THAT(
      io_error_message([&] { (void)z.read<double>("meta"); }),
      Contains(join("dnn2brain::npz_archive::read: '", path.string(), "' entry 'meta.npy'")) &&
          Contains("pickled"));
  CHECK_THAT(io_error_message([&] { (void)z.read<std::int32_t>("rdm"); }),
             Contains("entry 'rdm.npy': header field 'descr'"));
}
