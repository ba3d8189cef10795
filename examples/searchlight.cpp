// A whole-brain searchlight map: which model explains each neighborhood of the brain best?
//
// The searchlight analysis of Dwivedi et al. (2021, Fig 1) on a small synthetic brain with planted
// truth: 40 stimuli described by two feature spaces ("shape" and "category"); a left region of the
// brain encodes shape, a right region encodes category, the rest is noise. The program writes the
// 4-D beta series as NIfTI, reads it back with the mask, builds the neighbor table of 6 mm
// spheres (saved and reloaded, as a study would share it across subjects), streams every
// searchlight's RDM into a regression on each model RDM, and paints the best model and the
// adjusted R² of both models into NIfTI maps. It then checks that the planted regions are found.
//
// Usage: searchlight [output folder]   (default: a folder in the system's temporary directory)
#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/io.hpp>

#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

namespace {

std::mt19937_64 engine(2021);

Eigen::MatrixXf gaussian(Eigen::Index rows, Eigen::Index cols) {
  std::normal_distribution<float> normal;
  Eigen::MatrixXf m(rows, cols);
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(engine);
  return m;
}

double squared_distance(const dnn2brain::ijk& v, double i, double j, double k) {
  return (v.i - i) * (v.i - i) + (v.j - j) * (v.j - j) + (v.k - k) * (v.k - k);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path out =
      argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "dnn2brain-searchlight-example";
  fs::create_directories(out);

  // A 3 mm brain: an ellipsoid in a 30 × 36 × 26 grid, with two planted spherical regions.
  dnn2brain::volume_geometry geometry;
  geometry.shape = {30, 36, 26};
  geometry.affine << 3, 0, 0, -45,  //
      0, 3, 0, -60,                 //
      0, 0, 3, -36,                 //
      0, 0, 0, 1;
  xt::xarray<std::uint8_t> mask_volume = xt::zeros<std::uint8_t>({30, 36, 26});
  for (int i = 0; i < 30; ++i)
    for (int j = 0; j < 36; ++j)
      for (int k = 0; k < 26; ++k) {
        const double x = (i - 14.5) / 13.0, y = (j - 17.5) / 16.0, z = (k - 12.5) / 11.0;
        mask_volume(i, j, k) = x * x + y * y + z * z <= 1.0;
      }
  const dnn2brain::ijk shape_center{8, 18, 12}, category_center{21, 18, 12};
  const double region_radius = 4.0;  // voxels

  // Stimuli and the two model RDMs.
  constexpr std::size_t stimuli = 40;
  constexpr Eigen::Index features = 12;
  const Eigen::MatrixXf shape = gaussian(Eigen::Index(stimuli), features);
  Eigen::MatrixXf category = 0.3f * gaussian(Eigen::Index(stimuli), features);
  for (Eigen::Index s = 0; s < category.rows(); ++s) category(s, s % 4) += 3.0f;
  const auto shape_rdm = dnn2brain::compute_rdm(shape);
  const auto category_rdm = dnn2brain::compute_rdm(category);

  // Betas: every voxel a random mix of its region's features, plus noise; one volume per stimulus.
  xt::xarray<float> betas = xt::zeros<float>(std::vector<std::size_t>{30, 36, 26, stimuli});
  for (int i = 0; i < 30; ++i)
    for (int j = 0; j < 36; ++j)
      for (int k = 0; k < 26; ++k) {
        if (!mask_volume(i, j, k)) continue;
        const dnn2brain::ijk v{i, j, k};
        Eigen::VectorXf pattern = 1.5f * gaussian(Eigen::Index(stimuli), 1);
        const double r2 = region_radius * region_radius;
        if (squared_distance(v, shape_center.i, shape_center.j, shape_center.k) <= r2)
          pattern += shape * gaussian(features, 1);
        if (squared_distance(v, category_center.i, category_center.j, category_center.k) <= r2)
          pattern += category * gaussian(features, 1);
        for (std::size_t s = 0; s < stimuli; ++s) betas(i, j, k, s) = pattern[Eigen::Index(s)];
      }
  dnn2brain::io::write_nifti(out / "mask.nii.gz", mask_volume, geometry);
  dnn2brain::io::write_nifti(out / "betas.nii.gz", betas, geometry);

  // The analysis, as it would run on real files.
  const auto mask_image = dnn2brain::io::read_nifti_volume<std::uint8_t>(out / "mask.nii.gz");
  const dnn2brain::brain_mask mask(mask_image.data, mask_image.geometry);
  const auto series = dnn2brain::io::read_nifti_series<float>(out / "betas.nii.gz");
  const Eigen::MatrixXf x = mask.apply(series.data);

  const dnn2brain::neighborhood::sphere sphere{6.0, dnn2brain::neighborhood::unit::mm};
  dnn2brain::io::save_neighbor_table(out / "spheres_6mm.d2bnt",
                                     dnn2brain::make_neighbor_table(mask, sphere));
  const auto table = dnn2brain::io::load_neighbor_table(out / "spheres_6mm.d2bnt");

  const dnn2brain::design_set<float> models(std::vector<dnn2brain::design>{
      dnn2brain::design(shape_rdm.values()), dnn2brain::design(category_rdm.values())});
  // Models × searchlights, the layout of the fit and of paint().
  Eigen::MatrixXd adjusted_r2(models.size(), table.size());
  const auto summary = dnn2brain::searchlight_rdms(
      x, table, [&](dnn2brain::index_t first, const dnn2brain::rdm_stack<float>& chunk) {
        adjusted_r2.middleCols(first, chunk.size()) =
            dnn2brain::fit(models, chunk.values()).adjusted_r_squared;
      });

  // Best model per searchlight (1 shape, 2 category) where it explains anything at all.
  Eigen::RowVectorXd best(adjusted_r2.cols());
  for (dnn2brain::index_t c = 0; c < best.size(); ++c) {
    Eigen::Index which = 0;
    const double top = adjusted_r2.col(c).maxCoeff(&which);
    best[c] = top > 0.05 ? double(which + 1) : 0.0;
  }
  dnn2brain::io::write_nifti(out / "best_model.nii.gz",
                             xt::cast<float>(dnn2brain::paint(mask, table, best)), geometry);
  dnn2brain::io::write_nifti(out / "adjusted_r2.nii.gz",
                             xt::cast<float>(dnn2brain::paint(mask, table, adjusted_r2)), geometry);

  // How well the map recovers the planted regions (their cores, 2 voxels in).
  long hits[2] = {0, 0}, cores[2] = {0, 0}, elsewhere = 0, outside = 0;
  for (dnn2brain::index_t c = 0; c < table.size(); ++c) {
    const auto& v = table[c].center;
    const bool in_shape = squared_distance(v, shape_center.i, shape_center.j, shape_center.k) <= 4;
    const bool in_category =
        squared_distance(v, category_center.i, category_center.j, category_center.k) <= 4;
    const double far = (region_radius + 3) * (region_radius + 3);
    if (in_shape || in_category) {
      const int r = in_shape ? 0 : 1;
      ++cores[r];
      hits[r] += best[c] == r + 1 ? 1 : 0;
    } else if (squared_distance(v, shape_center.i, shape_center.j, shape_center.k) > far &&
               squared_distance(v, category_center.i, category_center.j, category_center.k) > far) {
      ++outside;
      elsewhere += best[c] != 0 ? 1 : 0;
    }
  }
  std::printf(
      "%ld searchlights of 6 mm (%ld voxels at most), %ld RDMs of %zu stimuli in %ld "
      "chunk(s)\n",
      long(table.size()), long(table.max_members()), long(summary.searchlights), stimuli,
      long(summary.chunks));
  std::printf("shape region core:    %ld of %ld searchlights pick the shape model\n", hits[0],
              cores[0]);
  std::printf("category region core: %ld of %ld pick the category model\n", hits[1], cores[1]);
  std::printf("far from both:        %ld of %ld pick any model (adjusted R2 > 0.05)\n", elsewhere,
              outside);
  std::printf("maps written to %s\n", out.string().c_str());
  const bool recovered = hits[0] == cores[0] && hits[1] == cores[1] && elsewhere * 100 < outside;
  std::printf("planted regions recovered: %s\n", recovered ? "yes" : "no");
  return recovered ? 0 : 1;
}
