#ifndef DNN2BRAIN_SIMULATE_DATASET_HPP
#define DNN2BRAIN_SIMULATE_DATASET_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dnn2brain/config.hpp>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/searchlight/geometry.hpp>
#include <dnn2brain/simulate/detail/random.hpp>
#include <dnn2brain/simulate/detail/smooth.hpp>
#include <dnn2brain/simulate/detail/xtensor_compat.hpp>
#include <dnn2brain/simulate/layout.hpp>
#include <dnn2brain/simulate/models.hpp>
#include <dnn2brain/simulate/options.hpp>

namespace dnn2brain::simulate {

/// The whole synthetic dataset: the layout (grid, mask, ROIs, truth), the 19 DNNs and every
/// subject's stimuli × voxels data.
struct dataset : layout {
  simulate::models models;
  /// Per subject: stimuli × mask voxels, column-major (brain_mask::apply's layout, which
  /// searchlight_rdms reads).
  std::vector<Eigen::MatrixXf> subject_data;

  /// The subject's 4-D series (x, y, z, stimuli), 0 outside the mask: mask.apply(betas(s)) gives
  /// subject_data[s] back; io::write_nifti(path, betas(s), geometry) writes it.
  /// \throws invalid_argument if the subject index is out of range.
  [[nodiscard]] xt::xtensor<float, 4> betas(index_t subject) const {
    const Eigen::MatrixXf& x = data_of(subject, "simulate::dataset::betas");
    const auto n = static_cast<std::size_t>(x.rows());
    xt::xtensor<float, 4> out =
        xt::zeros<float>({geometry.shape[0], geometry.shape[1], geometry.shape[2], n});
    const auto& voxels = mask.voxels();
    for (std::size_t c = 0; c < voxels.size(); ++c) {
      const ijk& v = voxels[c];
      for (std::size_t t = 0; t < n; ++t)
        out(std::size_t(v.i), std::size_t(v.j), std::size_t(v.k), t) = x(index_t(t), index_t(c));
    }
    return out;
  }

  /// Stimuli × voxels patterns of ROI r (roi_names[r]) for one subject, its voxels in mask
  /// column order. \throws invalid_argument if subject or r is out of range.
  [[nodiscard]] Eigen::MatrixXf roi_patterns(index_t subject, index_t r) const {
    const Eigen::MatrixXf& x = data_of(subject, "simulate::dataset::roi_patterns");
    const std::vector<index_t> columns = roi_columns(r);
    Eigen::MatrixXf out(x.rows(), index_t(columns.size()));
    for (std::size_t c = 0; c < columns.size(); ++c) out.col(index_t(c)) = x.col(columns[c]);
    return out;
  }

 private:
  [[nodiscard]] const Eigen::MatrixXf& data_of(index_t subject, const char* function) const {
    if (subject < 0 || subject >= index_t(subject_data.size()))
      dnn2brain::detail::throw_invalid_argument(
          function, dnn2brain::detail::concat("expected a subject index in [0, ",
                                              subject_data.size(), "), got ", subject));
    return subject_data[std::size_t(subject)];
  }
};

namespace detail {

// Gram matrix X Xᵀ by dot products (no Eigen GEMM threading: the same bits for any thread count).
[[nodiscard]] inline Eigen::MatrixXd gram(const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd xt = x.transpose();
  Eigen::MatrixXd g(x.rows(), x.rows());
  for (index_t j = 0; j < x.rows(); ++j)
    for (index_t i = j; i < x.rows(); ++i) g(i, j) = g(j, i) = xt.col(i).dot(xt.col(j));
  return g;
}

/// A planted region's source as a square root of its stimulus covariance. The source is
/// B = [√λ unit(A_block4), √(1 − λ) unit(A_encoder)] and a voxel reads out B w with
/// w ~ N(0, I): B w ~ N(0, B Bᵀ), so G z with G Gᵀ = B Bᵀ and z ~ N(0, I_stimuli) has the same
/// distribution and needs stimuli rather than 2 · units normal numbers per voxel.
[[nodiscard]] inline Eigen::MatrixXd source_root(const std::vector<Eigen::MatrixXf>& layers,
                                                 double block4_share) {
  const Eigen::MatrixXd cov = block4_share * gram(unit(layers[0].cast<double>())) +
                              (1.0 - block4_share) * gram(unit(layers[1].cast<double>()));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  return eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
}

}  // namespace detail

/// \brief The full synthetic dataset (synthetic.md §1): make_layout(o), make_models(o) and
/// o.subjects subjects.
///
/// Subject s, voxel v (a mask column), stimuli × 1:
///   x_v = signal · a_v · B_r w_v + noise · ε_v,  w_v ~ N(0, I) per subject, ε_v ~ N(0, I),
/// where r is the voxel's planted region (no first term outside the regions) and B_r its source
/// (see detail::source_root; the signal's variance over stimuli is 1 on average at a = 1).
/// The volume is 0 outside the mask, each stimulus volume is then smoothed by a Gaussian of
/// sigma options.smoothing voxels (separable, radius int(4 sigma + 0.5), zeros beyond the grid),
/// and the mask voxels are kept. Every voxel draws its numbers whatever signal and noise are, so
/// runs that differ only in those share their random numbers. Subjects are made in parallel,
/// each from its own random stream: the same values for every thread count.
/// \throws invalid_argument for invalid options (see options and make_layout).
/// \par Complexity
///   O(subjects · (grid voxels · stimuli · smoothing radius + mask voxels · stimuli²)); about a
///   second at the defaults on 2 cores, 90 MB of subject data.
[[nodiscard]] inline dataset make_dataset(const options& o = {}) {
  dataset out;
  static_cast<layout&>(out) = detail::build_layout(o, "simulate::make_dataset");
  out.models = make_models(o);
  const truth& t = out.truth;
  const index_t n = o.stimuli, voxels = out.mask.size();

  std::vector<Eigen::MatrixXd> roots(out.regions.size());
  for (std::size_t r = 0; r < out.regions.size(); ++r)
    if (!out.regions[r].planted.empty())
      roots[r] = detail::source_root(
          out.models.activations[std::size_t(out.models.index(out.regions[r].planted))],
          out.regions[r].block4_share);

  out.subject_data.resize(std::size_t(o.subjects));
  const index_t grid_voxels = out.geometry.voxel_count();
  dnn2brain::detail::parallel_error error;
  DNN2BRAIN_OMP(parallel)
  {
    Eigen::MatrixXf volume, scratch;  // stimuli × grid voxels, reused across subjects
    Eigen::VectorXd z(n);
    DNN2BRAIN_OMP(for schedule(dynamic))
    for (index_t s = 0; s < o.subjects; ++s)
      error.run(s, [&] {
        detail::normal_stream rng(o.seed, detail::subject_stream(s));
        volume.setZero(n, grid_voxels);
        for (index_t c = 0; c < voxels; ++c) {
          const index_t at = out.geometry.linear(out.mask.voxels()[std::size_t(c)]);
          float* x = volume.col(at).data();
          for (index_t i = 0; i < n; ++i) x[i] = static_cast<float>(o.noise * rng());
          if (t.model(c) < 0) continue;
          for (index_t i = 0; i < n; ++i) z(i) = rng();
          const double gain = o.signal * t.amplitude(c);
          const Eigen::VectorXd signal = roots[std::size_t(t.region(c))].lazyProduct(z);
          for (index_t i = 0; i < n; ++i) x[i] += static_cast<float>(gain * signal(i));
        }
        detail::smooth_volume(volume, scratch, o.grid, o.smoothing);
        Eigen::MatrixXf& data = out.subject_data[std::size_t(s)];
        data.resize(n, voxels);
        for (index_t c = 0; c < voxels; ++c)
          data.col(c) = volume.col(out.geometry.linear(out.mask.voxels()[std::size_t(c)]));
      });
  }
  error.rethrow();
  return out;
}

}  // namespace dnn2brain::simulate

#endif  // DNN2BRAIN_SIMULATE_DATASET_HPP
