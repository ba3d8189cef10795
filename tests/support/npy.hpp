// Minimal readers of .npy and stored (uncompressed) .npz files for tests on ../shared/data.
// Test support only: little-endian float32/float64, C order. The library's I/O module will replace
// it with full, validated readers.
#ifndef DNN2BRAIN_TESTS_SUPPORT_NPY_HPP
#define DNN2BRAIN_TESTS_SUPPORT_NPY_HPP

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace dnn2brain::test {

struct npy_array {
  std::vector<std::size_t> shape;
  std::vector<double> values;  // C order, converted to double
};

// Parses one .npy image starting at bytes[offset]; returns the offset just past its data.
inline std::size_t parse_npy(const std::string& bytes, std::size_t offset, npy_array& out,
                             const std::string& what) {
  if (bytes.compare(offset, 6, "\x93NUMPY") != 0)
    throw std::runtime_error(what + ": not an npy image");
  const auto major = static_cast<unsigned char>(bytes[offset + 6]);
  std::size_t header_len = 0, pos = offset + 8;
  if (major == 1) {
    header_len = std::size_t(static_cast<unsigned char>(bytes[pos])) |
                 std::size_t(static_cast<unsigned char>(bytes[pos + 1])) << 8;
    pos += 2;
  } else {
    for (int k = 3; k >= 0; --k)
      header_len = header_len << 8 | static_cast<unsigned char>(bytes[pos + std::size_t(k)]);
    pos += 4;
  }
  const std::string header = bytes.substr(pos, header_len);
  pos += header_len;
  const bool fortran = header.find("'fortran_order': True") != std::string::npos;
  const bool f4 = header.find("'<f4'") != std::string::npos;
  const bool f8 = header.find("'<f8'") != std::string::npos;
  if (!f4 && !f8) throw std::runtime_error(what + ": only <f4 and <f8 are supported: " + header);
  out.shape.clear();
  const auto open = header.find('(', header.find("'shape'"));
  const auto close = header.find(')', open);
  std::string dims = header.substr(open + 1, close - open - 1);
  std::size_t count = 1;
  for (std::size_t start = 0; start < dims.size();) {
    const auto comma = dims.find(',', start);
    const std::string token =
        dims.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (token.find_first_of("0123456789") != std::string::npos) {
      out.shape.push_back(std::stoul(token));
      count *= out.shape.back();
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const std::size_t item = f4 ? 4 : 8;
  if (pos + count * item > bytes.size()) throw std::runtime_error(what + ": truncated data");
  out.values.resize(count);
  std::vector<std::size_t> index(out.shape.size(), 0);  // multi-index of storage position k
  for (std::size_t k = 0; k < count; ++k) {
    double v;
    if (f4) {
      float f;
      std::memcpy(&f, bytes.data() + pos + k * 4, 4);
      v = f;
    } else {
      std::memcpy(&v, bytes.data() + pos + k * 8, 8);
    }
    std::size_t c = k;
    if (fortran) {  // storage runs over the first axis fastest; store in C order
      c = 0;
      for (std::size_t d = 0; d < index.size(); ++d) c = c * out.shape[d] + index[d];
      for (std::size_t d = 0; d < index.size() && ++index[d] == out.shape[d]; ++d) index[d] = 0;
    }
    out.values[c] = v;
  }
  return pos + count * item;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline npy_array read_npy(const std::string& path) {
  npy_array a;
  parse_npy(read_bytes(path), 0, a, path);
  return a;
}

// Reads member `name` (e.g. "rdm.npy") of an .npz written by numpy.savez (entries stored, sizes
// in the local header or its zip64 extra field, as numpy writes them).
inline npy_array read_npz(const std::string& path, const std::string& name) {
  const std::string bytes = read_bytes(path);
  auto le = [&](std::size_t p, int n) {
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k)
      v = v << 8 | static_cast<unsigned char>(bytes[p + std::size_t(k)]);
    return static_cast<std::size_t>(v);
  };
  std::size_t pos = 0;
  while (pos + 30 <= bytes.size() && bytes.compare(pos, 4, "PK\x03\x04") == 0) {
    if (le(pos + 8, 2) != 0)
      throw std::runtime_error(path + ": compressed npz members are not supported here");
    const std::size_t name_len = le(pos + 26, 2), extra_len = le(pos + 28, 2);
    const std::string member = bytes.substr(pos + 30, name_len);
    const std::size_t data = pos + 30 + name_len + extra_len;
    std::size_t size = le(pos + 18, 4);
    if (size ==
        0xFFFFFFFFu)  // zip64: the extra field 0x0001 holds uncompressed then compressed size
      for (std::size_t e = pos + 30 + name_len; e + 4 <= data; e += 4 + le(e + 2, 2))
        if (le(e, 2) == 1) size = le(e + 12, 8);
    if (member == name) {
      npy_array a;
      parse_npy(bytes, data, a, path + ":" + member);
      return a;
    }
    pos = data + size;
  }
  throw std::runtime_error(path + ": no member " + name);
}

}  // namespace dnn2brain::test

#endif
