#ifndef DNN2BRAIN_STATS_RANDOM_HPP
#define DNN2BRAIN_STATS_RANDOM_HPP

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>

namespace dnn2brain {

/// \brief Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as
/// 1, 2, 3"): 128 random bits as a pure function of a 128-bit counter and a 64-bit key.
[[nodiscard]] constexpr std::array<std::uint32_t, 4> philox4x32(
    std::array<std::uint32_t, 4> counter, std::array<std::uint32_t, 2> key) noexcept {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{m0} * counter[0];
    const std::uint64_t p1 = std::uint64_t{m1} * counter[2];
    counter = {
        static_cast<std::uint32_t>(p1 >> 32) ^ counter[1] ^ key[0], static_cast<std::uint32_t>(p1),
        static_cast<std::uint32_t>(p0 >> 32) ^ counter[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key = {key[0] + w0, key[1] + w1};
  }
  return counter;
}

/// \brief The random stream of sample `stream` (a permutation, a bootstrap resample, ...) of a
/// procedure seeded with `seed`.
///
/// Counter-based: the k-th value is Philox4x32-10 of the counter (k, stream) under the key seed,
/// so any sample can be drawn first, on any thread, and a procedure gives bit-identical results
/// for every thread count and chunking. A UniformRandomBitGenerator of 64-bit values.
class random_stream {
 public:
  using result_type = std::uint64_t;

  random_stream(std::uint64_t seed, std::uint64_t stream) noexcept
      : m_key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        m_stream(stream) {}

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  /// The next 64 random bits.
  result_type operator()() noexcept {
    if (m_available == 0) {
      m_block = philox4x32(
          {static_cast<std::uint32_t>(m_position), static_cast<std::uint32_t>(m_position >> 32),
           static_cast<std::uint32_t>(m_stream), static_cast<std::uint32_t>(m_stream >> 32)},
          m_key);
      ++m_position;
      m_available = 2;
    }
    const std::size_t at = m_available-- == 2 ? 0 : 2;
    return (std::uint64_t{m_block[at]} << 32) | m_block[at + 1];
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), n ≥ 1, without bias: the smallest all-ones mask covering n − 1,
  /// and draws outside [0, n) rejected (fewer than 2 draws on average).
  std::uint64_t below(std::uint64_t n) noexcept {
    std::uint64_t mask = n - 1;
    for (int shift = 1; shift < 64; shift *= 2) mask |= mask >> shift;
    std::uint64_t x = (*this)() & mask;
    while (x >= n) x = (*this)() & mask;
    return x;
  }

 private:
  std::array<std::uint32_t, 2> m_key;
  std::uint64_t m_stream;
  std::uint64_t m_position = 0;
  std::array<std::uint32_t, 4> m_block{};
  int m_available = 0;
};

/// \brief Permutation number `sample` of out.size() items under `seed` (Fisher–Yates on
/// random_stream(seed, sample)): the same permutation whichever thread draws it, and when.
inline void random_permutation(std::uint64_t seed, std::uint64_t sample, std::span<index_t> out) {
  random_stream stream(seed, sample);
  const auto n = static_cast<index_t>(out.size());
  for (index_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = i;
  for (index_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<index_t>(stream.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(out[static_cast<std::size_t>(i)], out[static_cast<std::size_t>(j)]);
  }
}

/// Permutation number `sample` of n items under `seed`. \throws invalid_argument if n < 1.
[[nodiscard]] inline std::vector<index_t> random_permutation(index_t n, std::uint64_t seed,
                                                             std::uint64_t sample) {
  if (n < 1)
    detail::throw_invalid_argument("random_permutation",
                                   detail::concat("expected at least 1 item, got ", n));
  std::vector<index_t> out(static_cast<std::size_t>(n));
  random_permutation(seed, sample, out);
  return out;
}

}  // namespace dnn2brain

#endif  // DNN2BRAIN_STATS_RANDOM_HPP
