// libFuzzer harness of the MATLAB reader (v4, v5/v7 and v7.3 go through the same mat_file; the
// two fuzz targets differ only in their seed corpora). Every variable is walked as a user of
// mat_value would: kinds, dimensions, fields, cells, arrays and strings, to a bounded depth.
#include <dnn2brain/io/mat.hpp>

#include "fuzz_input.hpp"

namespace {

void walk(const dnn2brain::io::mat_value& value, int depth, int& budget) {
  using dnn2brain::io::mat_kind;
  if (depth > 6 || --budget < 0) return;
  (void)value.class_name();
  (void)value.dims();
  switch (value.kind()) {
    case mat_kind::numeric:
    case mat_kind::logical:
      fuzz::expect_success_or_io_error([&] { (void)value.array<double>(); });
      fuzz::expect_success_or_io_error([&] { (void)value.array<std::int32_t>(); });
      break;
    case mat_kind::character:
      fuzz::expect_success_or_io_error([&] { (void)value.string(); });
      break;
    case mat_kind::structure:
      for (const std::string& name : value.field_names())
        for (std::size_t k = 0; k < std::min<std::size_t>(value.numel(), 4); ++k)
          fuzz::expect_success_or_io_error([&] { walk(value.field(name, k), depth + 1, budget); });
      break;
    case mat_kind::cell:
      for (std::size_t k = 0; k < std::min<std::size_t>(value.numel(), 8); ++k)
        fuzz::expect_success_or_io_error([&] { walk(value.cell(k), depth + 1, budget); });
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnn2brain::io;
  const auto path = fuzz::write_input({data, size}, "input.mat");
  fuzz::expect_success_or_io_error([&] {
    mat_file file(path);
    int budget = 64;
    for (const std::string& name : file.variables())
      fuzz::expect_success_or_io_error([&] { walk(file.read(name), 0, budget); });
  });
  return 0;
}
