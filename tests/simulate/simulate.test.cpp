// The planted-truth synthetic dataset: determinism, the figures synthetic.md documents (DNN RDM
// correlations, mask, regions, ROIs and zones, signal variance) and the recovery scorer.
#include <dnn2brain/compare.hpp>
#include <dnn2brain/metrics.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/simulate.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/test_helpers.hpp"

using dnn2brain::index_t;
namespace sim = dnn2brain::simulate;
using zone = sim::truth::zone;
using Catch::Matchers::Contains;

namespace {

// Half the default brain in each direction: every region still inside the mask, and a dataset
// cheap enough for sanitizer builds.
sim::options small_options() {
  sim::options o;
  o.grid = {20, 24, 20};
  o.mask_semi_axes = {9.0, 11.0, 8.5};
  o.subjects = 4;
  o.units = 32;
  return o;
}

bool same_models(const sim::models& a, const sim::models& b) {
  if (a.activations.size() != b.activations.size()) return false;
  for (std::size_t d = 0; d < a.activations.size(); ++d)
    for (std::size_t l = 0; l < a.activations[d].size(); ++l)
      if (a.activations[d][l] != b.activations[d][l]) return false;
  return true;
}

bool same_data(const sim::dataset& a, const sim::dataset& b) {
  if (a.subject_data.size() != b.subject_data.size()) return false;
  for (std::size_t s = 0; s < a.subject_data.size(); ++s)
    if (a.subject_data[s] != b.subject_data[s]) return false;
  return same_models(a.models, b.models);
}

double variance(const Eigen::VectorXd& x) {
  return (x.array() - x.mean()).square().mean();
}

}  // namespace

TEST_CASE("simulate: the DNNs are deterministic from the seed, for any thread count",
          "[simulate]") {
  sim::options o;
  o.units = 16;
  const sim::models a = sim::make_models(o);
  REQUIRE(a.size() == 19);
  REQUIRE(a.names.back() == "random");
  REQUIRE(a.layers == std::vector<std::string>{"block4", "encoder_output"});
  for (const auto& layers : a.activations)
    for (const auto& x : layers) {
      REQUIRE(x.rows() == 50);
      REQUIRE(x.cols() == 16);
      REQUIRE(x.allFinite());
    }
  REQUIRE(a.categories(0) == 0);
  REQUIRE(a.categories(49) == 4);
  CHECK(same_models(a, sim::make_models(o)));
  {
    const dnn2brain::test::thread_count one(1);
    CHECK(same_models(a, sim::make_models(o)));
  }
  {
    const dnn2brain::test::thread_count two(2);
    CHECK(same_models(a, sim::make_models(o)));
  }
  o.seed += 1;
  CHECK_FALSE(same_models(a, sim::make_models(o)));
}

TEST_CASE("simulate: DNN RDM correlations match synthetic.md", "[simulate]") {
  const sim::models m = sim::make_models();
  std::vector<std::array<dnn2brain::rdm<float>, 2>> rdms;
  for (const auto& layers : m.activations)
    rdms.push_back({dnn2brain::compute_rdm(layers[0], dnn2brain::metric::correlation{true}),
                    dnn2brain::compute_rdm(layers[1], dnn2brain::metric::correlation{true})});
  // Mean correlation per pair of groups (0 2D, 1 3D, 2 semantic, 3 random), per layer.
  std::array<std::array<std::array<double, 4>, 4>, 2> mean{};
  std::array<std::array<int, 4>, 4> pairs{};
  for (index_t i = 0; i < m.size(); ++i)
    for (index_t j = i + 1; j < m.size(); ++j) {
      const int gi = sim::group_of(m.names[std::size_t(i)]);
      const int gj = sim::group_of(m.names[std::size_t(j)]);
      const auto a = std::size_t(std::min(gi, gj)), b = std::size_t(std::max(gi, gj));
      for (std::size_t l = 0; l < 2; ++l)
        mean[l][a][b] += dnn2brain::compare(rdms[std::size_t(i)][l], rdms[std::size_t(j)][l]);
      ++pairs[a][b];
    }
  for (auto& layer : mean)
    for (std::size_t a = 0; a < 4; ++a)
      for (std::size_t b = a; b < 4; ++b) layer[a][b] /= pairs[a][b];
  double same_dnn = 0.0;
  for (std::size_t d = 0; d < 18; ++d) same_dnn += dnn2brain::compare(rdms[d][0], rdms[d][1]) / 18;
  const auto& enc = mean[1];
  INFO("encoder_output: within 2D "
       << enc[0][0] << ", 3D " << enc[1][1] << ", semantic " << enc[2][2] << "; between 2D-3D "
       << enc[0][1] << ", 2D-semantic " << enc[0][2] << ", 3D-semantic " << enc[1][2]
       << "; random vs 2D " << enc[0][3] << ", 3D " << enc[1][3] << ", semantic " << enc[2][3]
       << "; block4 vs encoder, same DNN " << same_dnn);
  WARN(
      "measured (synthetic.md: .54 / .53 / .44, between .16-.18, random .26 / .12 / .12, "
      "same DNN .75): within 2D "
      << enc[0][0] << ", 3D " << enc[1][1] << ", semantic " << enc[2][2] << "; between "
      << enc[0][1] << " / " << enc[0][2] << " / " << enc[1][2] << "; random vs 2D " << enc[0][3]
      << ", 3D " << enc[1][3] << ", semantic " << enc[2][3] << "; block4 vs encoder " << same_dnn);
  // synthetic.md's figures within 0.1 (3 semantic pairs only: the widest sampling error).
  CHECK(std::abs(enc[0][0] - 0.54) < 0.1);
  CHECK(std::abs(enc[1][1] - 0.53) < 0.1);
  CHECK(std::abs(enc[2][2] - 0.44) < 0.1);
  for (const double between : {enc[0][1], enc[0][2], enc[1][2]}) {
    CHECK(std::abs(between - 0.17) < 0.1);
    for (std::size_t g = 0; g < 3; ++g) CHECK(enc[g][g] > between + 0.2);
  }
  CHECK(std::abs(enc[0][3] - 0.26) < 0.1);
  CHECK(std::abs(enc[1][3] - 0.12) < 0.1);
  CHECK(std::abs(enc[2][3] - 0.12) < 0.1);
  CHECK(std::abs(same_dnn - 0.75) < 0.1);
  // block4 is more mixed: 0.3-0.5 across all DNNs.
  for (std::size_t a = 0; a < 3; ++a)
    for (std::size_t b = a; b < 3; ++b) {
      CHECK(mean[0][a][b] > 0.2);
      CHECK(mean[0][a][b] < 0.65);
    }
}

TEST_CASE("simulate: the default layout has synthetic.md's mask, regions, ROIs and zones",
          "[simulate]") {
  const sim::layout l = sim::make_layout();
  REQUIRE(l.mask.size() == 28248);
  REQUIRE(l.geometry.world({0, 0, 0}).isApprox(Eigen::Vector3d(-58.5, -70.5, -58.5)));
  REQUIRE(l.roi_names == std::vector<std::string>{"EVC", "V3AB", "IPS", "VO", "PHC", "control"});
  REQUIRE(l.region_planted == std::vector<std::string>{"edge2d", "keypoint3d", "segment25d",
                                                       "segmentsemantic", "class_places", ""});
  // Exact: the geometry is deterministic and these are the prototype's counts.
  const std::array<index_t, 6> planted{1048, 462, 514, 394, 564, 0};
  const std::array<index_t, 6> roi{502, 240, 248, 192, 228, 504};
  for (std::size_t r = 0; r < 6; ++r) {
    INFO(l.roi_names[r]);
    CHECK((l.truth.region.array() == int(r)).count() == planted[r]);
    CHECK(index_t(l.roi_columns(index_t(r)).size()) == roi[r]);
  }
  const index_t inside = l.truth.count(zone::inside);
  WARN("planted " << inside << " voxels (" << 100.0 * double(inside) / 28248.0 << " %), zones "
                  << inside << " inside / " << l.truth.count(zone::noise) << " noise / "
                  << l.truth.count(zone::border) << " border");
  CHECK(inside == 2982);
  CHECK(l.truth.count(zone::noise) == 18040);
  // synthetic.md prints 3,226, but the zones partition the 28,248 centres.
  CHECK(l.truth.count(zone::border) == 7226);
  CHECK((l.truth.model.array() >= 0).count() == inside);
  CHECK(l.truth.amplitude.maxCoeff() <= 1.0);
  CHECK(l.truth.amplitude.maxCoeff() > 0.99);
  CHECK((l.truth.amplitude.array() > 0.0).count() == inside);
  CHECK(l.truth.amplitude.minCoeff() >= 0.0);
  for (index_t c = 0; c < l.mask.size(); ++c)
    if (l.truth.model(c) >= 0) {
      REQUIRE(l.truth.amplitude(c) >= std::exp(-0.5 / 0.49) - 1e-12);
      REQUIRE(std::string(dnn2brain::paper::tasks[std::size_t(l.truth.model(c))]) ==
              l.region_planted[std::size_t(l.truth.region(c))]);
    }
  // Region scale changes the planted volume, not the mask.
  sim::options small_regions;
  small_regions.region_scale = 0.7;
  const sim::layout s = sim::make_layout(small_regions);
  CHECK(s.mask.size() == 28248);
  CHECK(s.truth.count(zone::inside) < inside / 2);
}

TEST_CASE("simulate: a smaller grid keeps every region inside the mask", "[simulate]") {
  const sim::layout l = sim::make_layout(small_options());
  const double share = double(l.truth.count(zone::inside)) / double(l.mask.size());
  INFO("mask " << l.mask.size() << ", planted share " << share);
  CHECK(std::abs(share - 0.106) < 0.03);
  for (index_t r = 0; r < 6; ++r) CHECK(!l.roi_columns(r).empty());
  for (index_t r = 0; r < 5; ++r) CHECK((l.truth.region.array() == int(r)).count() > 0);
  CHECK(l.truth.count(zone::noise) > 0);
}

TEST_CASE("simulate: subjects are deterministic from the seed, for any thread count",
          "[simulate]") {
  const sim::options o = small_options();
  const sim::dataset a = sim::make_dataset(o);
  REQUIRE(a.subject_data.size() == 4);
  for (const auto& x : a.subject_data) {
    REQUIRE(x.rows() == 50);
    REQUIRE(x.cols() == a.mask.size());
    REQUIRE(x.allFinite());
  }
  {
    const dnn2brain::test::thread_count one(1);
    CHECK(same_data(a, sim::make_dataset(o)));
  }
  {
    const dnn2brain::test::thread_count two(2);
    CHECK(same_data(a, sim::make_dataset(o)));
  }
  sim::options other = o;
  other.seed = 7;
  other.subjects = 1;
  CHECK(a.subject_data[0] != sim::make_dataset(other).subject_data[0]);
  // Subjects differ from each other.
  CHECK(a.subject_data[0] != a.subject_data[1]);

  // betas(): the subject's series, zero outside the mask, which the mask maps back.
  const auto series = a.betas(2);
  REQUIRE(series.shape()[3] == 50);
  CHECK(a.mask.apply(series) == a.subject_data[2]);
  CHECK(series(0, 0, 0, 0) == 0.0f);
  const Eigen::MatrixXf roi = a.roi_patterns(1, a.roi_index("V3AB"));
  const auto columns = a.roi_columns(a.roi_index("V3AB"));
  REQUIRE(roi.cols() == index_t(columns.size()));
  CHECK(roi.col(0) == a.subject_data[1].col(columns[0]));
  CHECK_THROWS_AS((void)a.betas(4), dnn2brain::invalid_argument);
  CHECK_THROWS_AS((void)a.roi_patterns(0, 6), dnn2brain::invalid_argument);
  CHECK_THROWS_AS((void)a.roi_index("V1"), dnn2brain::invalid_argument);
}

TEST_CASE("simulate: signal, noise and smoothing are as documented", "[simulate]") {
  sim::options o = small_options();
  o.smoothing = 0.0;
  sim::options signal_only = o, noise_only = o;
  signal_only.noise = 0.0;
  noise_only.signal = 0.0;
  const sim::dataset both = sim::make_dataset(o);
  const sim::dataset signal = sim::make_dataset(signal_only);
  const sim::dataset noise = sim::make_dataset(noise_only);

  // Variance over stimuli of the planted signal, per unit amplitude²: about 1 at a = 1.
  double sum = 0.0;
  index_t count = 0;
  for (const auto& x : signal.subject_data)
    for (index_t c = 0; c < x.cols(); ++c) {
      const double a = signal.truth.amplitude(c);
      if (a == 0.0) {
        REQUIRE(x.col(c).isZero());
        continue;
      }
      sum += variance(x.col(c).cast<double>()) / (a * a);
      ++count;
    }
  WARN("signal variance per voxel at a = 1: " << sum / double(count) << " over " << count
                                              << " voxels");
  CHECK(std::abs(sum / double(count) - 1.0) < 0.1);

  double noise_sum = 0.0;
  for (const auto& x : noise.subject_data) noise_sum += x.cast<double>().squaredNorm();
  const double per_entry = 4.0 * 50.0 * double(noise.mask.size());
  INFO("noise variance " << noise_sum / per_entry);
  CHECK(std::abs(noise_sum / per_entry - 2.25) < 0.05);

  // Every voxel draws the same numbers whatever signal and noise are: the data with both is the
  // sum of the data with each.
  for (std::size_t s = 0; s < 4; ++s) {
    const Eigen::MatrixXf parts = signal.subject_data[s] + noise.subject_data[s];
    CHECK(dnn2brain::test::max_abs_diff(both.subject_data[s], parts) < 1e-5);
  }

  // Smoothing against a direct sum over the mask voxels (zero elsewhere) with normalised
  // Gaussian taps, sigma 0.8, radius int(4 sigma + 0.5) = 3.
  noise_only.smoothing = 0.8;
  const sim::dataset smoothed = sim::make_dataset(noise_only);
  std::array<double, 4> taps{};
  double total = 0.0;
  for (std::size_t t = 0; t < 4; ++t) {
    taps[t] = std::exp(-double(t * t) / (2.0 * 0.64));
    total += t == 0 ? taps[t] : 2.0 * taps[t];
  }
  for (double& t : taps) t /= total;
  const auto& voxels = noise.mask.voxels();
  double worst = 0.0;
  for (std::size_t c = 0; c < voxels.size(); c += 97) {
    Eigen::VectorXd expected = Eigen::VectorXd::Zero(50);
    for (std::size_t u = 0; u < voxels.size(); ++u) {
      const int di = std::abs(voxels[u].i - voxels[c].i), dj = std::abs(voxels[u].j - voxels[c].j),
                dk = std::abs(voxels[u].k - voxels[c].k);
      if (di > 3 || dj > 3 || dk > 3) continue;
      expected += taps[std::size_t(di)] * taps[std::size_t(dj)] * taps[std::size_t(dk)] *
                  noise.subject_data[1].col(index_t(u)).cast<double>();
    }
    worst = std::max(worst, dnn2brain::test::max_abs_diff(
                                smoothed.subject_data[1].col(index_t(c)).cast<double>(), expected));
  }
  INFO("smoothing, worst deviation from the direct sum " << worst);
  CHECK(worst < 1e-5);
  // Deep inside the mask smoothing keeps (Σ w²)³ = 0.0443 of the noise variance.
  double kept = 0.0;
  for (const auto& x : smoothed.subject_data) kept += x.cast<double>().squaredNorm();
  INFO("smoothed noise variance " << kept / per_entry);
  CHECK(kept / per_entry > 0.8 * 2.25 * 0.0443);
  CHECK(kept / per_entry < 1.05 * 2.25 * 0.0443);
}

TEST_CASE("simulate: score_map against hand-made label maps", "[simulate]") {
  const sim::layout l = sim::make_layout(small_options());
  const index_t n = l.mask.size();
  std::vector<index_t> labels(std::size_t(n), -1);

  // Nothing labelled.
  sim::recovery r = sim::score_map(l, labels);
  CHECK(r.discoveries == 0);
  CHECK(r.power_inside == 0.0);
  CHECK(std::isnan(r.model_recovery));
  CHECK(std::isnan(r.noise_share));
  CHECK(r.noise_false_positive == 0.0);

  // The truth itself.
  for (index_t c = 0; c < n; ++c) labels[std::size_t(c)] = l.truth.model(c);
  r = sim::score_map(l, labels);
  CHECK(r.discoveries == l.truth.count(zone::inside));
  CHECK(r.power_inside == 1.0);
  CHECK(r.power_core == 1.0);
  CHECK(r.power_rim == 1.0);
  CHECK(r.group_recovery == 1.0);
  CHECK(r.model_recovery == 1.0);
  CHECK(r.noise_false_positive == 0.0);
  CHECK(r.noise_share == 0.0);
  REQUIRE(r.region_names == std::vector<std::string>{"EVC", "V3AB", "IPS", "VO", "PHC"});
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(r.region_power[i] == 1.0);
    CHECK(r.region_model_recovery[i] == 1.0);
  }
  CHECK_THAT(sim::to_string(r), Contains("DNN recovery 100.0 %"));

  // A group mate everywhere inside EVC (edge2d → denoise, both 2D), plus every noise centre.
  const auto denoise =
      index_t(std::find(dnn2brain::paper::tasks.begin(), dnn2brain::paper::tasks.end(), "denoise") -
              dnn2brain::paper::tasks.begin());
  index_t noise = 0, evc = 0;
  for (index_t c = 0; c < n; ++c) {
    if (l.truth.region(c) == 0) {
      labels[std::size_t(c)] = denoise;
      ++evc;
    }
    if (l.truth.zones[std::size_t(c)] == zone::noise) {
      labels[std::size_t(c)] = 18;
      ++noise;
    }
  }
  r = sim::score_map(l, labels);
  const index_t inside = l.truth.count(zone::inside);
  CHECK(r.discoveries == inside + noise);
  CHECK(r.group_recovery == 1.0);
  CHECK(r.model_recovery == Approx(double(inside - evc) / double(inside)));
  CHECK(r.region_model_recovery[0] == 0.0);
  CHECK(r.region_power[0] == 1.0);
  CHECK(r.noise_false_positive == 1.0);
  CHECK(r.noise_share == Approx(double(noise) / double(inside + noise)));

  // Bad input.
  labels[0] = 19;
  CHECK_THROWS_WITH(sim::score_map(l, labels), Contains("simulate::score_map"));
  labels[0] = -2;
  CHECK_THROWS_AS(sim::score_map(l, labels), dnn2brain::invalid_argument);
  labels[0] = -1;
  labels.pop_back();
  CHECK_THROWS_AS(sim::score_map(l, labels), dnn2brain::invalid_argument);
}

TEST_CASE("simulate: score_group_map scores a map of the three groups", "[simulate]") {
  const sim::layout l = sim::make_layout(small_options());
  const index_t n = l.mask.size();
  // The planted DNNs' groups inside the regions, 2D (group 0) in the noise zone, and unlabelled
  // elsewhere; then one region with the wrong group.
  std::vector<index_t> labels(std::size_t(n), -1);
  index_t inside = 0, noise = 0, evc = 0;
  for (index_t c = 0; c < n; ++c) {
    if (l.truth.zones[std::size_t(c)] == zone::inside) {
      labels[std::size_t(c)] =
          sim::group_of(dnn2brain::paper::tasks[std::size_t(l.truth.model(c))]);
      ++inside;
    } else if (l.truth.zones[std::size_t(c)] == zone::noise) {
      labels[std::size_t(c)] = 0;
      ++noise;
    }
  }
  sim::recovery r = sim::score_group_map(l, labels);
  CHECK(r.discoveries == inside + noise);
  CHECK(r.power_inside == 1.0);
  CHECK(r.group_recovery == 1.0);
  CHECK(std::isnan(r.model_recovery));
  CHECK(r.noise_false_positive == 1.0);
  for (index_t c = 0; c < n; ++c)
    if (l.truth.region(c) == 0 && l.truth.zones[std::size_t(c)] == zone::inside) {
      labels[std::size_t(c)] = 2;  // EVC's edge2d is 2D: semantic is wrong
      ++evc;
    }
  r = sim::score_group_map(l, labels);
  CHECK(r.group_recovery == Approx(double(inside - evc) / double(inside)));
  labels[0] = 3;
  CHECK_THROWS_WITH(sim::score_group_map(l, labels), Contains("labels in [-1, 3)"));
}

TEST_CASE("simulate: invalid options are rejected, naming the function", "[simulate]") {
  const auto rejects = [](const sim::options& o) {
    CHECK_THROWS_AS(sim::make_models(o), dnn2brain::invalid_argument);
    CHECK_THROWS_WITH(sim::make_layout(o), Contains("simulate::make_layout"));
    CHECK_THROWS_WITH(sim::make_dataset(o), Contains("simulate::make_dataset"));
  };
  sim::options o;
  o.stimuli = 52;
  rejects(o);
  o.stimuli = 5;
  rejects(o);
  o = {};
  o.subjects = 0;
  rejects(o);
  o = {};
  o.grid = {30, 48, 40};  // too small for semi-axis 18
  rejects(o);
  o = {};
  o.noise = -1.0;
  rejects(o);
  o = {};
  o.signal = std::nan("");
  rejects(o);
  o = {};
  o.units = 0;
  rejects(o);
  o = {};
  o.region_scale = 0.0;
  rejects(o);
  o = {};
  o.smoothing = -0.5;
  rejects(o);
  // A region pushed out of the mask.
  o = {};
  o.region_scale = 0.01;
  CHECK_THROWS_WITH(sim::make_layout(o), Contains("regions each hold mask voxels"));
}
