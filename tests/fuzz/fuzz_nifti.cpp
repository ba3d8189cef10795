// libFuzzer harness of the NIfTI reader (NIfTI-1 and -2), built twice:
//   fuzz_nifti     the input is a .nii file;
//   fuzz_nifti_gz  (FUZZ_NIFTI_GZ) the first byte chooses: 0, the input is a .nii.gz file as on
//                  disk (gzip framing, CRC, length); otherwise the harness gzips the rest, so
//                  mutations of the header and data reach the reader through the gzip layer.
#include <dnn2brain/io/nifti.hpp>

#include "fuzz_input.hpp"

namespace {

[[maybe_unused]] std::vector<std::uint8_t> gzip(fuzz::bytes raw) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(raw.size())) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnn2brain::io;
#ifdef FUZZ_NIFTI_GZ
  if (size == 0) return 0;
  const fuzz::bytes rest(data + 1, size - 1);
  const auto path = data[0] == 0 ? fuzz::write_input(rest, "input.nii.gz")
                                 : fuzz::write_input(gzip(rest), "input.nii.gz");
#else
  const auto path = fuzz::write_input({data, size}, "input.nii");
#endif
  fuzz::expect_success_or_io_error([&] { (void)read_nifti_header(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_nifti<float>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_nifti_volume<std::uint8_t>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_nifti_series<double>(path); });
  return 0;
}
