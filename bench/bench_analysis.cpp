// The whole Fig. 1 pipeline of Dwivedi et al. (2021) at paper size, one benchmark per
// configuration: the model set from the DNNs' activations (19 DNNs × 2 layers), the neighbour
// table, the searchlight analysis (every subject's searchlight RDMs, the fits of all 19 DNNs to
// the subject-mean RDMs, condition-label permutations: one call) and the functional map (best DNN
// against the null of the best of all DNNs, Benjamini–Hochberg across searchlights). Each step is
// timed on its own (counters *_s and *_pct); the benchmark's time is their sum.
//
// Data (16 subjects × 50 stimuli, float; made before the timing, its time is generate_s):
//   example        simulate::make_dataset() at its defaults: the default example's configuration
//                  (28,248 centres), as examples/fig1_functional_map runs it.
//   ellipsoid228k  simulate::make_dataset() on a 91 × 109 × 91 grid with the default mask
//                  semi-axes × 2.0085: 228,481 voxels (the MNI mask has 228,483). The planted
//                  regions scale with the mask: 24,572 voxels (10.8 %) carry signal.
//   mni            the MNI152 2 mm brain mask of ../shared/data/mni (228,483 voxels) with the
//                  generator's regions mapped onto it: the default layout's regions placed
//                  relative to the mask's bounding box as make_layout places them relative to its
//                  ellipsoid, every subject made by the generator's own equations (signal read
//                  out of the planted DNN's block4/encoder activations, noise 1.5, Gaussian
//                  smoothing σ = 0.8 voxels), the truth scored as simulate::score_map does:
//                  26,022 planted voxels (11.4 %; part of PHC falls outside the brain).
// Searchlights: spheres of radius 2 voxels around every mask voxel, or the paper's blocks
// (4 × 4 × 4 every 2 voxels: 30,723 on the MNI mask).
//
// Iterations(1): each run takes minutes at paper size. Peak memory: peak_rss_GiB is the resident
// high-water mark of the pipeline alone (reset through /proc/self/clear_refs just before the model
// set is built, so it holds the subjects' data plus everything the pipeline allocates, whatever
// ran before); process_peak_rss_GiB is getrusage's ru_maxrss, the maximum of the whole process so
// far (data generation included).
//
// Environment (smoke tests): DNN2BRAIN_BENCH_SCALE = s in (0, 1] scales the grids and masks (the
// MNI mask is resampled to nearest neighbour; the example is scaled by max(s, 0.4));
// DNN2BRAIN_BENCH_PERMUTATIONS = N caps every permutation count at N.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/io/nifti.hpp>
#include <dnn2brain/simulate.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

namespace d2b = dnn2brain;
namespace sim = dnn2brain::simulate;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Environment overrides.

double environment_number(const char* name, double fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const double x = std::strtod(value, &end);
  return end != value && std::isfinite(x) ? x : fallback;
}

double scale() {
  static const double s = std::clamp(environment_number("DNN2BRAIN_BENCH_SCALE", 1.0), 0.05, 1.0);
  return s;
}

d2b::index_t permutations_of(d2b::index_t requested) {
  static const double cap = environment_number("DNN2BRAIN_BENCH_PERMUTATIONS", 0.0);
  return cap >= 1.0 ? std::min(requested, static_cast<d2b::index_t>(cap)) : requested;
}

// ---------------------------------------------------------------------------------------------
// Resident memory.

constexpr double kib_per_gib = 1024.0 * 1024.0;

// VmHWM or VmRSS of /proc/self/status in GiB (0 if unreadable).
double proc_status_gib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / kib_per_gib;
  return 0.0;
}

// The process's maximum resident set so far: getrusage's ru_maxrss, which resetting the
// high-water mark lowers, so the maximum before each reset is kept here.
double process_peak_before_reset_gib = 0.0;

double process_peak_rss_gib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return std::max(process_peak_before_reset_gib, double(usage.ru_maxrss) / kib_per_gib);
}

// Resets the resident high-water mark (VmHWM) to the current resident set; false where the
// kernel does not allow it (the pipeline's peak is then the process's).
bool reset_peak_rss() {
  process_peak_before_reset_gib = process_peak_rss_gib();
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return bool(clear);
}

// ---------------------------------------------------------------------------------------------
// Data sets.

enum class data_id { example, ellipsoid228k, mni };

// The default mask semi-axes (18, 22, 17) times this on a 91 × 109 × 91 grid hold 228,481 voxels,
// the MNI mask's count (228,483) to 2.
constexpr double ellipsoid228k_factor = 2.0085;

sim::options ellipsoid_options(double factor, std::array<std::size_t, 3> grid) {
  sim::options o;
  for (std::size_t a = 0; a < 3; ++a) {
    o.grid[a] = static_cast<std::size_t>(std::ceil(double(grid[a]) * scale()));
    o.mask_semi_axes[Eigen::Index(a)] *= factor * scale();
  }
  return o;
}

// The MNI152 2 mm brain mask, resampled to nearest neighbour below scale 1.
d2b::brain_mask mni_mask() {
  const auto image = d2b::io::read_nifti_volume<std::uint8_t>(
      std::string(DNN2BRAIN_BENCH_DATA_DIR) + "/mni/MNI152_T1_2mm_brain_mask.nii.gz");
  const double s = scale();
  if (s >= 1.0) return d2b::brain_mask(image.data, image.geometry);
  const auto& shape = image.geometry.shape;
  std::array<std::size_t, 3> small{};
  for (std::size_t a = 0; a < 3; ++a)
    small[a] =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(double(shape[a]) * s)));
  const auto source = [&](std::size_t x, std::size_t a) {
    return std::min(shape[a] - 1, static_cast<std::size_t>((double(x) + 0.5) / s));
  };
  xt::xtensor<bool, 3> inside = xt::zeros<bool>({small[0], small[1], small[2]});
  for (std::size_t i = 0; i < small[0]; ++i)
    for (std::size_t j = 0; j < small[1]; ++j)
      for (std::size_t k = 0; k < small[2]; ++k)
        inside(i, j, k) = image.data(source(i, 0), source(j, 1), source(k, 2)) != 0;
  d2b::volume_geometry geometry;
  geometry.shape = small;
  geometry.affine = image.geometry.affine;
  geometry.affine.topLeftCorner<3, 3>() /= s;
  geometry.affine.col(3).head<3>() +=
      image.geometry.affine.topLeftCorner<3, 3>() * Eigen::Vector3d::Constant(0.5 / s - 0.5);
  return d2b::brain_mask(inside, geometry);
}

// The planted truth of the MNI mask: the default layout's regions placed relative to the mask's
// bounding box as simulate::regions() places them relative to its ellipsoid, and each mask voxel
// given its region, DNN, amplitude and zone by build_layout's rules.
void plant_on_mask(sim::dataset& out) {
  const auto& voxels = out.mask.voxels();
  Eigen::Vector3d lo = Eigen::Vector3d::Constant(std::numeric_limits<double>::infinity());
  Eigen::Vector3d hi = -lo;
  for (const d2b::ijk& v : voxels) {
    const Eigen::Vector3d p(v.i, v.j, v.k);
    lo = lo.cwiseMin(p);
    hi = hi.cwiseMax(p);
  }
  sim::options& o = out.settings;
  o.grid = out.geometry.shape;
  o.mask_semi_axes = ((hi - lo) / 2.0).cwiseMax(0.5);
  Eigen::Vector3d shift;
  for (int a = 0; a < 3; ++a)
    shift[a] = (lo[a] + hi[a]) / 2.0 - (double(o.grid[std::size_t(a)]) - 1.0) / 2.0;
  out.regions = sim::regions(o);
  for (auto& r : out.regions) {
    for (auto& c : r.centres) c += shift;
    out.roi_names.push_back(r.name);
    out.region_planted.push_back(r.planted);
  }

  const auto count = d2b::index_t(voxels.size());
  sim::truth& t = out.truth;
  t.model = Eigen::VectorXi::Constant(count, -1);
  t.region = Eigen::VectorXi::Constant(count, -1);
  t.amplitude = Eigen::VectorXd::Zero(count);
  constexpr double width = sim::detail::amplitude_width;
  for (d2b::index_t c = 0; c < count; ++c) {
    const d2b::ijk& v = voxels[std::size_t(c)];
    const Eigen::Vector3d p(v.i, v.j, v.k);
    for (std::size_t r = 0; r < out.regions.size(); ++r) {
      const sim::region& region = out.regions[r];
      if (region.planted.empty()) continue;
      double d2 = std::numeric_limits<double>::infinity();
      for (const auto& centre : region.centres)
        d2 = std::min(d2, (p - centre).cwiseQuotient(region.semi_axes).squaredNorm());
      if (d2 > 1.0) continue;
      const double a = std::exp(-d2 / (2.0 * width * width));
      if (a > t.amplitude(c)) {
        t.amplitude(c) = a;
        t.model(c) = int(out.models.index(region.planted));
        t.region(c) = int(r);
      }
    }
  }
  // Zones: the planted voxels dilated by a ball of the generator's noise margin are not noise.
  const auto reach = static_cast<int>(sim::detail::noise_margin);
  std::vector<bool> near(std::size_t(count), false);
  for (d2b::index_t c = 0; c < count; ++c) {
    if (t.model(c) < 0) continue;
    const d2b::ijk& v = voxels[std::size_t(c)];
    for (int a = -reach; a <= reach; ++a)
      for (int b = -reach; b <= reach; ++b)
        for (int d = -reach; d <= reach; ++d) {
          if (double(a * a + b * b + d * d) > sim::detail::noise_margin * sim::detail::noise_margin)
            continue;
          const d2b::ijk w{v.i + a, v.j + b, v.k + d};
          if (!out.geometry.contains(w)) continue;
          const d2b::index_t column = out.mask.column(w);
          if (column >= 0) near[std::size_t(column)] = true;
        }
  }
  t.zones.resize(std::size_t(count));
  for (d2b::index_t c = 0; c < count; ++c)
    t.zones[std::size_t(c)] = t.model(c) >= 0        ? sim::truth::zone::inside
                              : near[std::size_t(c)] ? sim::truth::zone::border
                                                     : sim::truth::zone::noise;
}

// Every subject's data on the MNI mask by simulate::make_dataset's equations (dataset.hpp):
// x_v = signal · a_v · B_r w_v + noise · ε_v, each stimulus volume smoothed, mask voxels kept.
sim::dataset make_mni_dataset() {
  sim::dataset out;
  out.mask = mni_mask();
  out.geometry = out.mask.geometry();
  out.models = sim::make_models(out.settings);
  plant_on_mask(out);
  const sim::options& o = out.settings;
  const sim::truth& t = out.truth;
  std::vector<Eigen::MatrixXd> roots(out.regions.size());
  for (std::size_t r = 0; r < out.regions.size(); ++r)
    if (!out.regions[r].planted.empty())
      roots[r] = sim::detail::source_root(
          out.models.activations[std::size_t(out.models.index(out.regions[r].planted))],
          out.regions[r].block4_share);
  const d2b::index_t n = o.stimuli, voxels = out.mask.size();
  const d2b::index_t grid_voxels = out.geometry.voxel_count();
  out.subject_data.resize(std::size_t(o.subjects));
  d2b::detail::parallel_error error;
  DNN2BRAIN_OMP(parallel)
  {
    Eigen::MatrixXf volume, scratch;
    Eigen::VectorXd z(n);
    DNN2BRAIN_OMP(for schedule(dynamic))
    for (d2b::index_t s = 0; s < o.subjects; ++s)
      error.run(s, [&] {
        sim::detail::normal_stream rng(o.seed, sim::detail::subject_stream(s));
        volume.setZero(n, grid_voxels);
        for (d2b::index_t c = 0; c < voxels; ++c) {
          float* x = volume.col(out.geometry.linear(out.mask.voxels()[std::size_t(c)])).data();
          for (d2b::index_t i = 0; i < n; ++i) x[i] = static_cast<float>(o.noise * rng());
          if (t.model(c) < 0) continue;
          for (d2b::index_t i = 0; i < n; ++i) z(i) = rng();
          const double gain = o.signal * t.amplitude(c);
          const Eigen::VectorXd signal = roots[std::size_t(t.region(c))].lazyProduct(z);
          for (d2b::index_t i = 0; i < n; ++i) x[i] += static_cast<float>(gain * signal(i));
        }
        sim::detail::smooth_volume(volume, scratch, o.grid, o.smoothing);
        Eigen::MatrixXf& data = out.subject_data[std::size_t(s)];
        data.resize(n, voxels);
        for (d2b::index_t c = 0; c < voxels; ++c)
          data.col(c) = volume.col(out.geometry.linear(out.mask.voxels()[std::size_t(c)]));
      });
  }
  error.rethrow();
  return out;
}

struct bench_data {
  data_id id{};
  sim::dataset data;
  double generate_seconds = 0.0;
  double gib = 0.0;  // the subjects' data
};

// One data set at a time: asking for another frees the current one first.
const bench_data& data_for(data_id id) {
  static std::unique_ptr<bench_data> current;
  if (current && current->id == id) return *current;
  current.reset();
  auto made = std::make_unique<bench_data>();
  made->id = id;
  const auto t0 = clock_type::now();
  switch (id) {
    case data_id::example: {
      const double s = std::max(scale(), 0.4);
      sim::options o;
      if (s < 1.0)
        for (std::size_t a = 0; a < 3; ++a) {
          o.grid[a] = static_cast<std::size_t>(std::ceil(double(o.grid[a]) * s));
          o.mask_semi_axes[Eigen::Index(a)] *= s;
        }
      made->data = sim::make_dataset(o);
      break;
    }
    case data_id::ellipsoid228k:
      made->data = sim::make_dataset(ellipsoid_options(ellipsoid228k_factor, {91, 109, 91}));
      break;
    case data_id::mni:
      made->data = make_mni_dataset();
      break;
  }
  made->generate_seconds = seconds_since(t0);
  for (const auto& x : made->data.subject_data)
    made->gib += double(x.size()) * double(sizeof(float)) / (kib_per_gib * 1024.0);
  current = std::move(made);
  return *current;
}

// ---------------------------------------------------------------------------------------------
// The pipeline.

struct variant {
  data_id data;
  bool blocks;  // the paper's blocks instead of radius-2 spheres
  d2b::index_t permutations;
  d2b::index_t stop_after;  // Besag–Clifford h, 0 = every permutation
};

constexpr std::uint64_t seed = 2021;  // the example's

// The permutations behind each searchlight under sequential stopping: a searchlight is scored
// until every one of its p-values (19 DNNs, the best, the runner-up margin) has stopped. A
// stopped p-value is h / L ≥ h / N and a running one (k + 1)/(N + 1) < h / N, so the stopping
// permutation L of p_best and p_runner_up is h / p where p ≥ h / N.
double mean_searchlight_permutations(const d2b::permutation_result& r, d2b::index_t h) {
  const d2b::index_t n = r.permutations, count = r.targets();
  if (count == 0 || n == 0) return 0.0;
  if (h == 0) return double(n);
  const auto stopped_at = [&](double p) -> double {
    if (std::isnan(p)) return 0.0;
    if (p * double(n) >= double(h) * (1.0 - 1e-12))
      return std::min(double(n), std::round(double(h) / p));
    return double(n);
  };
  double total = 0.0;
  for (d2b::index_t t = 0; t < count; ++t) {
    double l = double(r.evaluated.col(t).maxCoeff());
    l = std::max(l, stopped_at(r.p_best[t]));
    if (r.p_runner_up.size() > 0) l = std::max(l, stopped_at(r.p_runner_up[t]));
    total += l;
  }
  return total / double(count);
}

// The map's label per mask voxel (mask column order): the label of the searchlight centred on
// the voxel, or of the block whose core holds it.
std::vector<d2b::index_t> voxel_labels(const d2b::functional_map& map,
                                       const d2b::neighbor_table& table,
                                       const d2b::brain_mask& mask) {
  std::vector<d2b::index_t> labels(mask.voxels().size(), -1);
  for (std::size_t c = 0; c < labels.size(); ++c) {
    const d2b::index_t at = table.centered_at(mask.voxels()[c]);
    if (at >= 0) labels[c] = map.label[at];
  }
  return labels;
}

// The labels of each configuration's full 1,000-permutation run, for the runs with stopping.
std::map<std::tuple<data_id, bool>, Eigen::VectorXi>& full_run_labels() {
  static std::map<std::tuple<data_id, bool>, Eigen::VectorXi> labels;
  return labels;
}

// The analysis without permutations (every subject's RDMs and the fits), once per data set and
// table: the rest of the analysis' time is the permutations'.
double scores_only_seconds(const variant& v, const d2b::model_set& models, const sim::dataset& data,
                           const d2b::neighbor_table& table) {
  static std::map<std::tuple<data_id, bool>, double> seconds;
  const auto key = std::make_tuple(v.data, v.blocks);
  if (const auto it = seconds.find(key); it != seconds.end()) return it->second;
  d2b::searchlight_analysis_options options;
  options.permutations = 0;
  const auto t0 = clock_type::now();
  const d2b::searchlight_result r =
      d2b::searchlight_analysis(models, data.subject_data, table, options);
  benchmark::DoNotOptimize(r.scores.data());
  return seconds[key] = seconds_since(t0);
}

void pipeline(benchmark::State& state, variant v) {
  const bench_data& bd = data_for(v.data);
  const sim::dataset& data = bd.data;
  const d2b::index_t permutations = permutations_of(v.permutations);
  const bool reset = reset_peak_rss();
  const double resident_before = proc_status_gib("VmRSS:");

  double model_seconds = 0, table_seconds = 0, analysis_seconds = 0, map_seconds = 0;
  d2b::model_set models;
  std::optional<d2b::neighbor_table> table;
  d2b::searchlight_result result;
  d2b::functional_map map;
  for (auto _ : state) {
    auto t0 = clock_type::now();
    // 1. The model set: 19 DNNs × 2 layers from their activations, and the paper's three groups.
    models = d2b::simulate::make_model_set(data.models);
    model_seconds = seconds_since(t0);

    // 2. The searchlights.
    t0 = clock_type::now();
    table.reset();
    if (v.blocks)
      table.emplace(d2b::make_neighbor_table(data.mask, d2b::neighborhood::paper_blocks{1, 2}));
    else
      table.emplace(d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{2.0}));
    table_seconds = seconds_since(t0);

    // 3. The analysis: RDMs, fits and permutations in one call.
    t0 = clock_type::now();
    d2b::searchlight_analysis_options options;
    options.permutations = permutations;
    options.seed = seed;
    options.stop_after = v.stop_after;
    result = d2b::searchlight_analysis(models, data.subject_data, *table, options);
    analysis_seconds = seconds_since(t0);

    // 4. The map: max-over-models null, BH across searchlights at q = 0.05.
    t0 = clock_type::now();
    map = d2b::make_functional_map(result);
    map_seconds = seconds_since(t0);
    benchmark::DoNotOptimize(map.label.data());
  }
  const double peak = reset ? proc_status_gib("VmHWM:") : process_peak_rss_gib();
  const double process_peak = std::max(peak, process_peak_rss_gib());

  auto& c = state.counters;
  const double total = model_seconds + table_seconds + analysis_seconds + map_seconds;
  c["generate_s"] = bd.generate_seconds;
  c["mask_voxels"] = double(data.mask.size());
  c["planted_pct"] =
      100.0 * double(data.truth.count(sim::truth::zone::inside)) / double(data.mask.size());
  c["searchlights"] = double(table->size());
  c["permutations"] = double(permutations);
  c["stop_after"] = double(v.stop_after);
  c["total_s"] = total;
  c["model_set_s"] = model_seconds;
  c["table_s"] = table_seconds;
  c["analysis_s"] = analysis_seconds;
  c["map_s"] = map_seconds;
  c["model_set_pct"] = 100.0 * model_seconds / total;
  c["table_pct"] = 100.0 * table_seconds / total;
  c["analysis_pct"] = 100.0 * analysis_seconds / total;
  c["map_pct"] = 100.0 * map_seconds / total;
  const double mean_permutations = mean_searchlight_permutations(result.permutation, v.stop_after);
  c["mean_perms"] = mean_permutations;
  c["labelled"] = double(map.labelled());
  c["labelled_pct"] = 100.0 * double(map.labelled()) / double(map.searchlights());
  c["peak_rss_GiB"] = peak;
  c["process_peak_rss_GiB"] = process_peak;
  c["data_GiB"] = bd.gib;
  c["resident_before_GiB"] = resident_before;
#ifdef _OPENMP
  c["threads"] = double(omp_get_max_threads());
#else
  c["threads"] = 1.0;
#endif

  // How much of the planted truth the map recovers (per voxel: the label of its searchlight).
  const std::vector<d2b::index_t> labels = voxel_labels(map, *table, data.mask);
  const sim::recovery truth = sim::score_map(data, labels);
  c["group_recovery_pct"] = 100.0 * truth.group_recovery;
  c["dnn_recovery_pct"] = 100.0 * truth.model_recovery;
  c["power_pct"] = 100.0 * truth.power_inside;
  c["noise_fp_pct"] = 100.0 * truth.noise_false_positive;

  // Against the full 1,000-permutation run of the same data and searchlights, when it ran first.
  const auto key = std::make_tuple(v.data, v.blocks);
  if (v.stop_after == 0 && v.permutations == 1000) {
    full_run_labels()[key] = map.label;
  } else if (const auto it = full_run_labels().find(key); it != full_run_labels().end()) {
    const Eigen::VectorXi& full = it->second;
    const auto gained = ((map.label.array() >= 0) && (full.array() < 0)).count();
    const auto lost = ((map.label.array() < 0) && (full.array() >= 0)).count();
    c["same_label_as_full1000_pct"] =
        100.0 * double((map.label.array() == full.array()).count()) / double(full.size());
    c["gained_vs_full1000"] = double(gained);
    c["lost_vs_full1000"] = double(lost);
  }

  // The analysis without permutations (after the peak was read): the RDMs and fits alone.
  const double scores_only = scores_only_seconds(v, models, data, *table);
  c["scores_only_s"] = scores_only;
  const double permuting = std::max(0.0, analysis_seconds - scores_only);
  c["permuting_s"] = permuting;
  if (permutations > 0) {
    c["s_per_perm"] = permuting / double(permutations);
    if (mean_permutations > 0.0) c["s_per_mean_perm"] = permuting / mean_permutations;
  }

  std::string label = std::to_string(data.mask.size()) + " voxels, " +
                      (v.blocks ? "paper blocks" : "spheres r=2") + ", " +
                      std::to_string(permutations) + " permutations" +
                      (v.stop_after > 0 ? ", stop after " + std::to_string(v.stop_after) : "");
  state.SetLabel(label);
}

// Small to large, one data set at a time (each is made once, before its first benchmark).
#define DNN2BRAIN_PIPELINE(name, ...)                     \
  BENCHMARK_CAPTURE(pipeline, name, variant{__VA_ARGS__}) \
      ->Iterations(1)                                     \
      ->UseRealTime()                                     \
      ->Unit(benchmark::kSecond)

DNN2BRAIN_PIPELINE(example_r2_p1000_full, data_id::example, false, 1000, 0);
DNN2BRAIN_PIPELINE(mni_blocks_p1000_full, data_id::mni, true, 1000, 0);
DNN2BRAIN_PIPELINE(mni_blocks_p10000_stop10, data_id::mni, true, 10000, 10);
DNN2BRAIN_PIPELINE(mni_r2_p1000_full, data_id::mni, false, 1000, 0);
DNN2BRAIN_PIPELINE(mni_r2_p1000_stop10, data_id::mni, false, 1000, 10);
DNN2BRAIN_PIPELINE(mni_r2_p10000_stop10, data_id::mni, false, 10000, 10);
DNN2BRAIN_PIPELINE(ellipsoid228k_r2_p1000_full, data_id::ellipsoid228k, false, 1000, 0);
DNN2BRAIN_PIPELINE(ellipsoid228k_r2_p1000_stop10, data_id::ellipsoid228k, false, 1000, 10);
DNN2BRAIN_PIPELINE(ellipsoid228k_r2_p10000_stop10, data_id::ellipsoid228k, false, 10000, 10);

}  // namespace
