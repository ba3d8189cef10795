// libFuzzer harness of load_neighbor_table. The file ends in a CRC-32 of everything before it; the
// harness recomputes it over each input so that mutations reach the structural checks (counts,
// offsets, members, geometry) rather than stopping at the checksum. Loaded tables are walked.
#include <dnn2brain/io/neighbor_table.hpp>

#include <cstring>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnn2brain;
  std::vector<std::uint8_t> file(data, data + size);
  if (file.size() >= 4) {
    const std::uint32_t crc = fuzz::crc32_of({file.data(), file.size() - 4});
    std::memcpy(file.data() + file.size() - 4, &crc, 4);
  }
  const auto path = fuzz::write_input(file, "input.d2bnt");
  fuzz::expect_success_or_io_error([&] {
    const neighbor_table table = io::load_neighbor_table(path);
    const auto voxels = static_cast<std::int64_t>(table.mask_voxels());
    for (index_t c = 0; c < table.size(); ++c)
      for (const std::int32_t member : table[c].members)
        if (member < 0 || member >= voxels) std::abort();  // a loaded table must be consistent
  });
  return 0;
}
