// libFuzzer harness of the NIfTI reader (NIfTI-1 and -2), built twice:
//   fuzz_nifti     the input is a .nii file;
//   fuzz_nifti_gz  (FUZZ_NIFTI_GZ) the first byte chooses: 0, the input is a .nii.gz file as on
//                  disk (gzip framing, CRC, length); otherwise the harness gzips the rest, so
//                  mutations of the header and data reach the reader through the gzip layer.
#include <dnn2brain/io/nifti.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnn2brain::io;
#ifdef FUZZ_NIFTI_GZ
  if (size == 0) return 0;
  const fuzz::bytes rest(data + 1, size - 1);
  const auto path = data[0] == 0
                        ? fuzz::write_input(rest, "input.nii.gz")
                        : fuzz::write_input(fuzz::deflate_bytes(rest, 15 + 16), "input.nii.gz");
#else
  const auto path = fuzz::write_input({data, size}, "input.nii");
#endif
  fuzz::expect_success_or_io_error([&] { (void)read_nifti_header(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_nifti<float>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_nifti_volume<std::uint8_t>(path); });
  fuzz::expect_success_or_io_error([&] { (void)read_nifti_series<double>(path); });
  return 0;
}
