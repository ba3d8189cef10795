#ifndef DNN2BRAIN_SIMULATE_DETAIL_SMOOTH_HPP
#define DNN2BRAIN_SIMULATE_DETAIL_SMOOTH_HPP
// IWYU pragma: private

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/core/condensed.hpp>

namespace dnn2brain::simulate::detail {

/// Normalised Gaussian taps w[0..r] (w[t] for offsets ±t) with scipy's radius
/// r = int(4 sigma + 0.5) (gaussian_filter's truncate = 4).
[[nodiscard]] inline std::vector<double> gaussian_taps(double sigma) {
  const auto radius = static_cast<index_t>(std::lround(4.0 * sigma));  // sigma > 0: half up
  std::vector<double> w(static_cast<std::size_t>(radius) + 1);
  double total = 0.0;
  for (index_t t = 0; t <= radius; ++t) {
    const double x = static_cast<double>(t) / sigma;
    w[std::size_t(t)] = std::exp(-0.5 * x * x);
    total += t == 0 ? w[0] : 2.0 * w[std::size_t(t)];
  }
  for (double& v : w) v /= total;
  return w;
}

/// 3-D Gaussian smoothing, separable, of a volume stored as conditions × voxels (column = voxel
/// in C order of (i, j, k), each column one voxel's values for all conditions), with zeros
/// beyond the grid. `scratch` is resized to the volume's shape and reused.
inline void smooth_volume(Eigen::MatrixXf& volume, Eigen::MatrixXf& scratch,
                          const std::array<std::size_t, 3>& shape, double sigma) {
  if (!(sigma > 0.0)) return;
  const std::vector<double> taps = gaussian_taps(sigma);
  std::vector<float> w(taps.size());
  for (std::size_t t = 0; t < taps.size(); ++t) w[t] = static_cast<float>(taps[t]);
  const auto radius = static_cast<index_t>(w.size()) - 1;
  const index_t n = volume.rows();
  const std::array<index_t, 3> dims{index_t(shape[0]), index_t(shape[1]), index_t(shape[2])};
  const std::array<index_t, 3> strides{dims[1] * dims[2], dims[2], 1};
  scratch.resize(volume.rows(), volume.cols());
  for (int axis = 0; axis < 3; ++axis) {
    const index_t length = dims[std::size_t(axis)];
    const index_t stride = strides[std::size_t(axis)];
    const float* in = volume.data();
    float* out = scratch.data();
    for (index_t v = 0; v < volume.cols(); ++v) {
      const index_t q = (v / stride) % length;  // position along the axis
      float* o = out + v * n;
      const float* centre = in + v * n;
      for (index_t c = 0; c < n; ++c) o[c] = w[0] * centre[c];
      const index_t reach = std::min(radius, std::max(q, length - 1 - q));
      for (index_t t = 1; t <= reach; ++t) {
        const float wt = w[std::size_t(t)];
        const float* before = q - t >= 0 ? centre - t * stride * n : nullptr;
        const float* after = q + t < length ? centre + t * stride * n : nullptr;
        if (before != nullptr && after != nullptr)
          for (index_t c = 0; c < n; ++c) o[c] += wt * (before[c] + after[c]);
        else if (before != nullptr || after != nullptr) {
          const float* src = before != nullptr ? before : after;
          for (index_t c = 0; c < n; ++c) o[c] += wt * src[c];
        }
      }
    }
    std::swap(volume, scratch);
  }
}

}  // namespace dnn2brain::simulate::detail

#endif  // DNN2BRAIN_SIMULATE_DETAIL_SMOOTH_HPP
