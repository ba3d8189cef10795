// libFuzzer harness of the .npz reader. The first byte chooses what the rest is:
//   0: a whole archive, as on disk (the zip parser: directory, local headers, sizes, CRCs);
//   1, 2: one .npy image that the harness stores (1) or deflates (2) as entry "a.npy" of a valid
//         archive with a correct CRC, so that mutations reach the entry's .npy parser and the
//         inflate bounds instead of stopping at the checksum.
#include <dnn2brain/io/npz.hpp>

#include "fuzz_input.hpp"

namespace {

std::vector<std::uint8_t> wrap_in_zip(fuzz::bytes npy, bool compress) {
  const std::vector<std::uint8_t> stored =
      compress ? fuzz::deflate_bytes(npy, -15) : std::vector<std::uint8_t>(npy.begin(), npy.end());
  const std::string name = "a.npy";
  const std::uint32_t crc = fuzz::crc32_of(npy);
  const auto header = [&](std::vector<std::uint8_t>& out, bool central) {
    fuzz::append_le(out, central ? 0x02014b50 : 0x04034b50, 4);
    if (central) fuzz::append_le(out, 20, 2);   // version made by
    fuzz::append_le(out, 20, 2);                // version needed
    fuzz::append_le(out, 0, 2);                 // flags
    fuzz::append_le(out, compress ? 8 : 0, 2);  // method
    fuzz::append_le(out, 0, 4);                 // time and date
    fuzz::append_le(out, crc, 4);
    fuzz::append_le(out, stored.size(), 4);
    fuzz::append_le(out, npy.size(), 4);
    fuzz::append_le(out, name.size(), 2);
    fuzz::append_le(out, 0, 2);  // extra
    if (central) {
      fuzz::append_le(out, 0, 2);  // comment
      fuzz::append_le(out, 0, 2);  // disk
      fuzz::append_le(out, 0, 2);  // internal attributes
      fuzz::append_le(out, 0, 4);  // external attributes
      fuzz::append_le(out, 0, 4);  // local header offset
    }
    out.insert(out.end(), name.begin(), name.end());
  };
  std::vector<std::uint8_t> zip;
  header(zip, false);
  zip.insert(zip.end(), stored.begin(), stored.end());
  const std::size_t directory = zip.size();
  header(zip, true);
  const std::size_t directory_size = zip.size() - directory;
  fuzz::append_le(zip, 0x06054b50, 4);
  fuzz::append_le(zip, 0, 4);  // disk numbers
  fuzz::append_le(zip, 1, 2);
  fuzz::append_le(zip, 1, 2);
  fuzz::append_le(zip, directory_size, 4);
  fuzz::append_le(zip, directory, 4);
  fuzz::append_le(zip, 0, 2);
  return zip;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnn2brain::io;
  if (size == 0 || size > (1u << 20)) return 0;
  const fuzz::bytes rest(data + 1, size - 1);
  const std::vector<std::uint8_t> archive =
      data[0] % 3 == 0 ? std::vector<std::uint8_t>(rest.begin(), rest.end())
                       : wrap_in_zip(rest, data[0] % 3 == 2);
  const auto path = fuzz::write_input(archive, "input.npz");
  fuzz::expect_success_or_io_error([&] {
    const npz_archive npz(path);
    for (const std::string& name : npz.names()) {
      fuzz::expect_success_or_io_error([&] {
        const npy_header h = npz.header(name);
        if (h.kind == 'U' || h.kind == 'S')
          (void)npz.read_strings(name);
        else
          (void)npz.read<double>(name);
      });
    }
  });
  return 0;
}
