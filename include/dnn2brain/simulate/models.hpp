#ifndef DNN2BRAIN_SIMULATE_MODELS_HPP
#define DNN2BRAIN_SIMULATE_MODELS_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/paper_tasks.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/detail/parallel.hpp>
#include <dnn2brain/simulate/detail/random.hpp>
#include <dnn2brain/simulate/options.hpp>

namespace dnn2brain::simulate {

/// The 19 synthetic DNNs: paper::tasks' 18 Taskonomy names and `random`, each with two layers.
struct models {
  /// paper::tasks in order (18 tasks, then "random").
  std::vector<std::string> names;
  /// paper::layers: {"block4", "encoder_output"}.
  std::vector<std::string> layers;
  /// activations[d][l]: stimuli × units of layer l of DNN d.
  std::vector<std::vector<Eigen::MatrixXf>> activations;
  /// Category (0–4) of each stimulus: stimuli / 5 consecutive stimuli per category.
  Eigen::VectorXi categories;

  /// Number of DNNs (19).
  [[nodiscard]] index_t size() const noexcept { return index_t(names.size()); }

  /// Position of a DNN in names. \throws invalid_argument for an unknown name.
  [[nodiscard]] index_t index(std::string_view name) const {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      dnn2brain::detail::throw_invalid_argument(
          "simulate::models::index",
          dnn2brain::detail::concat("expected one of the 19 DNN names, got '", name, "'"));
    return index_t(it - names.begin());
  }
};

/// Group of a DNN name: its index in paper::task_groups() (0 = 2D, 1 = 3D, 2 = semantic), or 3
/// (its own group) for `random` and any name in no group.
[[nodiscard]] inline int group_of(std::string_view name) {
  const auto groups = paper::task_groups();
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (const auto& member : groups[g].members)
      if (member == name) return static_cast<int>(g);
  return static_cast<int>(groups.size());
}

namespace detail {

inline constexpr index_t image_side = 16;  // pixel images are 16 × 16
inline constexpr index_t pixels = image_side * image_side;
inline constexpr index_t private_factors = 8;
inline constexpr double gain_sd = 0.35;
inline constexpr double unit_noise = 0.3;
inline constexpr double bias_scale = 0.2;
inline constexpr int random_stages = 5;
// Variance shares (own group, private, other groups, pixels) of each layer's latent blocks.
inline constexpr std::array<std::array<double, 4>, 2> layer_shares = {
    {{0.40, 0.15, 0.25, 0.20}, {0.65, 0.15, 0.12, 0.08}}};

// Products through Eigen's coefficient-based kernel: never multithreaded by Eigen, so the values
// do not depend on the OpenMP thread count.
template <typename A, typename B>
[[nodiscard]] Eigen::MatrixXd product(const Eigen::MatrixBase<A>& a,
                                      const Eigen::MatrixBase<B>& b) {
  return a.lazyProduct(b);
}

// Share of a semantic DNN's own block that is the category embedding.
[[nodiscard]] inline double category_share(std::string_view name) noexcept {
  if (name == "class_places") return 0.5;
  if (name == "class_1000") return 0.2;
  if (name == "segmentsemantic") return 0.1;
  return 0.0;
}

// Each column centred and scaled to (population) sd 1; constant columns become 0.
inline void standardize_columns(Eigen::MatrixXd& x) {
  x.rowwise() -= x.colwise().mean();
  for (index_t j = 0; j < x.cols(); ++j) {
    const double sd = std::sqrt(x.col(j).squaredNorm() / static_cast<double>(x.rows()));
    if (sd > 0.0) x.col(j) /= sd;
  }
}

// Circular Gaussian smoothing (sigma 1.5 px) of each row read as a 16 × 16 image.
[[nodiscard]] inline Eigen::MatrixXd smooth_images(const Eigen::MatrixXd& images) {
  constexpr double sigma = 1.5;
  constexpr index_t radius = 6;  // int(4 sigma + 0.5)
  std::array<double, radius + 1> w{};
  double total = 0.0;
  for (index_t t = 0; t <= radius; ++t) {
    w[std::size_t(t)] = std::exp(-0.5 * double(t * t) / (sigma * sigma));
    total += t == 0 ? w[0] : 2.0 * w[std::size_t(t)];
  }
  for (double& v : w) v /= total;
  const auto wrap = [](index_t p) { return (p + image_side) % image_side; };
  Eigen::MatrixXd rows_done(images.rows(), images.cols()), out(images.rows(), images.cols());
  for (int pass = 0; pass < 2; ++pass) {
    const Eigen::MatrixXd& in = pass == 0 ? images : rows_done;
    Eigen::MatrixXd& to = pass == 0 ? rows_done : out;
    for (index_t y = 0; y < image_side; ++y)
      for (index_t x = 0; x < image_side; ++x) {
        auto dst = to.col(y * image_side + x);
        dst = w[0] * in.col(y * image_side + x);
        for (index_t t = 1; t <= radius; ++t) {
          const index_t a = pass == 0 ? y * image_side + wrap(x - t) : wrap(y - t) * image_side + x;
          const index_t b = pass == 0 ? y * image_side + wrap(x + t) : wrap(y + t) * image_side + x;
          dst += w[std::size_t(t)] * (in.col(a) + in.col(b));
        }
      }
  }
  return out;
}

/// The stimuli's latent description, shared by all DNNs (synthetic.md §1 "Stimuli").
struct stimulus_set {
  std::array<Eigen::MatrixXd, 3> factors;  // per group (2D, 3D, semantic): stimuli × factors
  Eigen::MatrixXd pixels;                  // stimuli × 256
  Eigen::VectorXi categories;
};

[[nodiscard]] inline stimulus_set make_stimuli(const options& o) {
  normal_stream rng(o.seed, stimuli_stream);
  const index_t n = o.stimuli, k = o.factors;
  stimulus_set s;
  // F_g = unit(sqrt(0.7) N_g + sqrt(0.3) C R_g): C shared by the groups, R_g a random rotation.
  const Eigen::MatrixXd shared = rng.matrix(n, k);
  for (auto& f : s.factors) {
    const Eigen::MatrixXd own = rng.matrix(n, k);
    const Eigen::MatrixXd rotation = rng.rotation(k);
    f = unit(std::sqrt(0.7) * own + std::sqrt(0.3) * product(shared, rotation));
  }
  // 5 categories of n / 5 consecutive stimuli (each semantic DNN embeds them its own way).
  s.categories.resize(n);
  for (index_t i = 0; i < n; ++i) s.categories(i) = static_cast<int>(i / (n / 5));
  // Pixels: 60 % of each pixel's variance from the 2D factors through smooth basis images, the
  // rest a smooth random image of the stimulus; sd 1 per pixel, plus a luminance offset (sd 0.5).
  Eigen::MatrixXd basis = smooth_images(rng.matrix(k, pixels));
  basis = (basis.colwise() - basis.rowwise().mean()).eval();
  basis.array().colwise() /= (basis.rowwise().squaredNorm() / double(pixels)).array().sqrt();
  Eigen::MatrixXd structured = product(s.factors[0], basis);
  standardize_columns(structured);
  Eigen::MatrixXd unstructured = smooth_images(rng.matrix(n, pixels));
  standardize_columns(unstructured);
  s.pixels = std::sqrt(0.6) * structured + std::sqrt(0.4) * unstructured;
  standardize_columns(s.pixels);
  const Eigen::MatrixXd luminance = rng.matrix(n, 1);
  s.pixels.colwise() += 0.5 * luminance.col(0);
  return s;
}

// h = ReLU(x W / sqrt(d) + 0.2 bias), then unit noise of 0.3 sd(h) per unit; x is stimuli × d.
// Returns the noiseless h in `clean` (the input of a next stage) and the noisy layer.
inline Eigen::MatrixXf relu_layer(const Eigen::MatrixXd& x, index_t units, normal_stream& rng,
                                  Eigen::MatrixXd* clean = nullptr) {
  const Eigen::MatrixXd weights = rng.matrix(x.cols(), units);
  const Eigen::MatrixXd bias = rng.matrix(1, units);
  Eigen::MatrixXd h = product(x, weights) / std::sqrt(static_cast<double>(x.cols()));
  h.rowwise() += bias_scale * bias.row(0);
  h = h.cwiseMax(0.0);
  if (clean != nullptr) *clean = h;
  const Eigen::MatrixXd noise = rng.matrix(x.rows(), units);
  for (index_t j = 0; j < units; ++j) {
    const double mean = h.col(j).mean();
    const double sd =
        std::sqrt((h.col(j).array() - mean).square().sum() / static_cast<double>(x.rows()));
    h.col(j) += unit_noise * sd * noise.col(j);
  }
  return h.cast<float>();
}

// A trained DNN: four latent blocks (own group, private, other groups, pixels), each unit(),
// mixed with the layer's variance shares and read out by a ReLU layer.
[[nodiscard]] inline std::vector<Eigen::MatrixXf> make_trained_dnn(std::string_view name,
                                                                   const stimulus_set& s,
                                                                   const options& o,
                                                                   normal_stream& rng) {
  const index_t n = o.stimuli, k = o.factors;
  const int own_group = group_of(name);
  std::array<Eigen::MatrixXd, 3> weighted;  // F_g · diag(gains_g)
  for (std::size_t g = 0; g < 3; ++g) {
    const Eigen::VectorXd gains = (gain_sd * rng.matrix(k, 1)).array().exp();
    weighted[g] = s.factors[g] * gains.asDiagonal();
  }
  Eigen::MatrixXd own = unit(weighted[std::size_t(own_group)]);
  if (const double c = category_share(name); c > 0.0) {
    // The DNN's own embedding of the 5 categories (a shared embedding would make the semantic
    // DNNs' RDMs correlate 0.55 rather than synthetic.md's 0.44).
    const Eigen::MatrixXd embedding = rng.matrix(5, k);
    Eigen::MatrixXd category(n, k);
    for (index_t i = 0; i < n; ++i) category.row(i) = embedding.row(s.categories(i));
    own = unit(std::sqrt(c) * unit(category) + std::sqrt(1.0 - c) * own);
  }
  const Eigen::MatrixXd own_private = unit(rng.matrix(n, private_factors));
  Eigen::MatrixXd other(n, 2 * k);
  for (std::size_t g = 0, at = 0; g < 3; ++g)
    if (int(g) != own_group) other.middleCols(index_t(at++) * k, k) = weighted[g];
  other = unit(other);
  const Eigen::MatrixXd pixel = unit(product(s.pixels, rng.matrix(pixels, k)));
  const std::array<const Eigen::MatrixXd*, 4> blocks{&own, &own_private, &other, &pixel};
  index_t d = 0;
  for (const auto* b : blocks) d += b->cols();
  std::vector<Eigen::MatrixXf> layers;
  for (const auto& shares : layer_shares) {
    // Blocks of unit mean squared row norm, weighted by their shares: entries of variance 1/d on
    // average; scaled by sqrt(d) to unit variance, the input scale of relu_layer.
    Eigen::MatrixXd latent(n, d);
    index_t at = 0;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      latent.middleCols(at, blocks[b]->cols()) =
          std::sqrt(shares[b] * static_cast<double>(d)) * *blocks[b];
      at += blocks[b]->cols();
    }
    layers.push_back(relu_layer(latent, o.units, rng));
  }
  return layers;
}

// The untrained DNN: five random ReLU stages on the pixels; block4 is stage 4, encoder stage 5.
[[nodiscard]] inline std::vector<Eigen::MatrixXf> make_random_dnn(const stimulus_set& s,
                                                                  const options& o,
                                                                  normal_stream& rng) {
  std::vector<Eigen::MatrixXf> layers;
  Eigen::MatrixXd x = s.pixels, next;
  for (int stage = 1; stage <= random_stages; ++stage) {
    Eigen::MatrixXf layer = relu_layer(x, o.units, rng, &next);
    x.swap(next);
    if (stage >= random_stages - 1) layers.push_back(std::move(layer));
  }
  return layers;
}

}  // namespace detail

/// \brief The 19 DNNs' activations (synthetic.md §1): stimuli × units per layer, deterministic
/// from options.seed.
///
/// Stimuli carry 24 latent factors per group (2D, 3D, semantic), a category (5 × 10 stimuli)
/// and a 16 × 16 pixel image. Each trained DNN weights its own group's factors, 8 private
/// factors, the other groups' factors and a projection of the pixels with per-factor gains
/// exp(0.35 z), mixed per layer with the variance shares block4 (0.40, 0.15, 0.25, 0.20) and
/// encoder_output (0.65, 0.15, 0.12, 0.08), then h = ReLU(x W/√d + 0.2 bias) with unit noise
/// 0.3 sd(h). `random` is five random ReLU stages on the pixels (block4 = stage 4, encoder_output =
/// stage 5). DNNs are made in parallel, each from its own random stream: the same values for
/// every thread count.
/// \throws invalid_argument for invalid options (see options).
/// \par Complexity
///   O(19 · stimuli · units · (factors + pixels)) flops; about 0.1 s at the defaults.
[[nodiscard]] inline models make_models(const options& o = {}) {
  detail::validate(o, "simulate::make_models");
  const detail::stimulus_set stimuli = detail::make_stimuli(o);
  models m;
  for (const auto name : paper::tasks) m.names.emplace_back(name);
  for (const auto layer : paper::layers) m.layers.emplace_back(layer);
  m.categories = stimuli.categories;
  const auto count = index_t(m.names.size());
  m.activations.resize(std::size_t(count));
  dnn2brain::detail::parallel_error error;
  DNN2BRAIN_OMP(parallel for schedule(dynamic))
  for (index_t d = 0; d < count; ++d)
    error.run(d, [&] {
      detail::normal_stream rng(o.seed, detail::dnn_stream(d));
      const std::string& name = m.names[std::size_t(d)];
      m.activations[std::size_t(d)] = name == "random"
                                          ? detail::make_random_dnn(stimuli, o, rng)
                                          : detail::make_trained_dnn(name, stimuli, o, rng);
    });
  error.rethrow();
  return m;
}

}  // namespace dnn2brain::simulate

#endif  // DNN2BRAIN_SIMULATE_MODELS_HPP
