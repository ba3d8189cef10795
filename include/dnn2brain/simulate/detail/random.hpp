#ifndef DNN2BRAIN_SIMULATE_DETAIL_RANDOM_HPP
#define DNN2BRAIN_SIMULATE_DETAIL_RANDOM_HPP
// IWYU pragma: private

#include <cmath>
#include <cstdint>

#include <Eigen/Core>
#include <Eigen/QR>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/stats/random.hpp>

namespace dnn2brain::simulate::detail {

// One Philox stream per purpose, so that each part can be drawn on any thread, in any order. The
// streams sit in the upper half of the stream numbers: permutation and bootstrap sample b use
// random_stream(seed, b) with small b, so an analysis seeded like its data never reuses the
// data's random bits.
inline constexpr std::uint64_t reserved_streams = std::uint64_t{1} << 63;
inline constexpr std::uint64_t stimuli_stream = reserved_streams | 1u;
[[nodiscard]] constexpr std::uint64_t dnn_stream(index_t dnn) noexcept {
  return reserved_streams | (0x100u + static_cast<std::uint64_t>(dnn));
}
[[nodiscard]] constexpr std::uint64_t subject_stream(index_t subject) noexcept {
  return reserved_streams | ((std::uint64_t{1} << 32) + static_cast<std::uint64_t>(subject));
}

/// Standard normal numbers by Marsaglia's polar method on a random_stream: the same values on
/// every platform (std::normal_distribution's algorithm is implementation-defined).
class normal_stream {
 public:
  normal_stream(std::uint64_t seed, std::uint64_t stream) noexcept : m_bits(seed, stream) {}

  double operator()() noexcept {
    if (m_has_spare) {
      m_has_spare = false;
      return m_spare;
    }
    // u and v uniform in [-1, 1) with 32 bits each, both from one 64-bit draw.
    double u = 0.0, v = 0.0, s = 0.0;
    do {
      const std::uint64_t bits = m_bits();
      u = static_cast<double>(static_cast<std::int32_t>(bits >> 32)) * 0x1.0p-31;
      v = static_cast<double>(static_cast<std::int32_t>(bits & 0xFFFFFFFFu)) * 0x1.0p-31;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    m_spare = v * f;
    m_has_spare = true;
    return u * f;
  }

  /// rows × cols standard normal, filled column by column.
  [[nodiscard]] Eigen::MatrixXd matrix(index_t rows, index_t cols) {
    Eigen::MatrixXd x(rows, cols);
    for (index_t k = 0; k < x.size(); ++k) x.data()[k] = (*this)();
    return x;
  }

  /// A Haar-distributed random rotation (orthogonal matrix) of size n: QR of a Gaussian matrix
  /// with the signs of R's diagonal moved into Q (Mezzadri 2007).
  [[nodiscard]] Eigen::MatrixXd rotation(index_t n) {
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(matrix(n, n));
    Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(n, n);
    const Eigen::MatrixXd& r = qr.matrixQR();
    for (index_t j = 0; j < n; ++j)
      if (r(j, j) < 0.0) q.col(j) = -q.col(j);
    return q;
  }

 private:
  random_stream m_bits;
  double m_spare = 0.0;
  bool m_has_spare = false;
};

/// synthetic.md's unit(): centre each column over the rows (stimuli), then scale the block so
/// that its mean squared row norm is 1. An all-constant block stays zero.
[[nodiscard]] inline Eigen::MatrixXd unit(Eigen::MatrixXd x) {
  x.rowwise() -= x.colwise().mean();
  const double mean_square = x.squaredNorm() / static_cast<double>(x.rows());
  if (mean_square > 0.0) x /= std::sqrt(mean_square);
  return x;
}

}  // namespace dnn2brain::simulate::detail

#endif  // DNN2BRAIN_SIMULATE_DETAIL_RANDOM_HPP
