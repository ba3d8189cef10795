// libFuzzer harness of the .npy reader: the file path (read_npy_header, read_npy<T> for several T,
// read_npy_strings) and the in-memory path that .npz entries take.
#include <dnn2brain/io/npy.hpp>

#include "fuzz_input.hpp"

namespace {

template <typename Source>
void read_all(Source& source, const dnn2brain::io::detail::file_origin& origin) {
  namespace d = dnn2brain::io::detail;
  const dnn2brain::io::npy_header h = d::parse_npy_header(source, origin);
  if (h.kind == 'U' || h.kind == 'S')
    (void)d::read_npy_string_values(source, h, origin, "");
  else
    (void)d::read_npy_values<double>(source, h, origin, "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnn2brain::io;
  const auto path = fuzz::write_input({data, size}, "input.npy");
  fuzz::expect_success_or_io_error([&] { (void)read_npy_header(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_npy<double>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_npy<float>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_npy<std::int64_t>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_npy<std::uint8_t>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_npy<bool>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_npy_strings(path); });
  fuzz::expect_success_or_io_error([&] {
    const detail::file_origin origin{"fuzz", "memory"};
    detail::npy_memory_bytes source({data, size});
    read_all(source, origin);
  });
  return 0;
}
