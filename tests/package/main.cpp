#include <dnn2brain/dnn2brain.hpp>

#include <cstdio>

#ifdef CONSUMER_WITH_IO
#include <dnn2brain/io.hpp>

#include <filesystem>

#include <xtensor/xarray.hpp>
#endif

int main() {
  Eigen::MatrixXd patterns(4, 3);
  patterns << 1, 2, 3,  //
      3, 2, 1,          //
      1, 3, 2,          //
      2, 2, 5;
  const auto r = dnn2brain::compute_rdm(patterns);
  std::printf("consumer: correlation RDM of %ld conditions, %ld pairs\n", long(r.conditions()),
              long(r.pairs()));

#ifdef CONSUMER_WITH_IO
  // The I/O component: a NIfTI mask written and read back through nifti_clib and zlib.
  const auto path = std::filesystem::temp_directory_path() / "dnn2brain-consumer-mask.nii.gz";
  xt::xarray<std::uint8_t> mask = xt::zeros<std::uint8_t>({3, 3, 3});
  mask(1, 1, 1) = 1;
  dnn2brain::io::write_nifti(path, mask, dnn2brain::volume_geometry{{3, 3, 3}});
  const auto read = dnn2brain::io::read_nifti_volume<std::uint8_t>(path);
  std::filesystem::remove(path);
  const dnn2brain::brain_mask brain(read.data, read.geometry);
  std::printf("consumer: mask of %lld voxel(s)\n", static_cast<long long>(brain.size()));
  if (brain.size() != 1) return 1;
#endif
  return r(0, 1) == 2.0 ? 0 : 1;
}
