// Whole-brain searchlights on the MNI152 2 mm brain mask (228,483 voxels, ../shared/data/mni):
// the neighbor table of radius-2 and radius-3 spheres and of the paper's blocks, and the
// correlation RDMs of every searchlight for 50 conditions (float, and double for radius 2),
// streamed through a consumer that only touches each chunk. Reports centers/s, GFLOP/s (n²·k per
// searchlight, the SYRK convention of bench_rdm), the fraction of this machine's SYRK peak, and
// the process's peak resident memory.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <dnn2brain/io/nifti.hpp>
#include <dnn2brain/searchlight.hpp>

#include "machine_peak.hpp"

namespace {

constexpr Eigen::Index conditions = 50;

const dnn2brain::brain_mask& mni_mask() {
  static const dnn2brain::brain_mask mask = [] {
    const auto image = dnn2brain::io::read_nifti_volume<std::uint8_t>(
        std::string(DNN2BRAIN_BENCH_DATA_DIR) + "/mni/MNI152_T1_2mm_brain_mask.nii.gz");
    return dnn2brain::brain_mask(image.data, image.geometry);
  }();
  return mask;
}

template <typename Scalar>
const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& betas() {
  static const auto x = [] {
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> m(conditions, mni_mask().size());
    bench::fill(m.data(), std::size_t(m.size()), 9);
    return m;
  }();
  return x;
}

// Peak resident set size of the process so far (VmHWM), in MiB.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

namespace nb = dnn2brain::neighborhood;

// The neighborhoods measured: range(0) of every benchmark.
enum shape_id : int { sphere_r2, sphere_r3, paper_blocks };

dnn2brain::neighbor_table build(int id) {
  const auto& mask = mni_mask();
  switch (id) {
    case sphere_r2:
      return dnn2brain::make_neighbor_table(mask, nb::sphere{2.0});
    case sphere_r3:
      return dnn2brain::make_neighbor_table(mask, nb::sphere{3.0});
    default:
      return dnn2brain::make_neighbor_table(mask, nb::paper_blocks{1, 2});
  }
}

const dnn2brain::neighbor_table& table(int id) {
  static const dnn2brain::neighbor_table tables[] = {build(sphere_r2), build(sphere_r3),
                                                     build(paper_blocks)};
  return tables[id];
}

void set_label(benchmark::State& state) {
  static const char* const names[] = {"sphere r=2", "sphere r=3", "paper blocks 4x4x4/2"};
  state.SetLabel(names[state.range(0)]);
}

void table_counters(benchmark::State& state, const dnn2brain::neighbor_table& t) {
  state.counters["centres"] = double(t.size());
  state.counters["mean_voxels"] = double(t.columns().size()) / double(t.size());
  set_label(state);
}

void neighbor_table_build(benchmark::State& state) {
  for (auto _ : state) {
    const auto t = build(int(state.range(0)));
    benchmark::DoNotOptimize(t.columns().data());
  }
  table_counters(state, table(int(state.range(0))));
}

template <typename Scalar>
void searchlight_rdms(benchmark::State& state) {
  const auto& t = table(int(state.range(0)));
  const auto& x = betas<Scalar>();
  double touched = 0;
  for (auto _ : state) {
    const auto summary = dnn2brain::searchlight_rdms(
        x, t, [&](dnn2brain::index_t, const dnn2brain::rdm_stack<Scalar>& chunk) {
          touched += double(chunk.values()(0, 0));
        });
    benchmark::DoNotOptimize(summary.searchlights);
  }
  benchmark::DoNotOptimize(touched);
  const double flops = double(conditions) * double(conditions) * double(t.columns().size());
  table_counters(state, t);
  state.counters["centres_per_s"] =
      benchmark::Counter(double(t.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["syrk_peak_GFLOPs"] = bench::syrk_peak_gflops<Scalar>();
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

BENCHMARK(neighbor_table_build)
    ->Arg(sphere_r2)
    ->Arg(sphere_r3)
    ->Arg(paper_blocks)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK(searchlight_rdms<float>)
    ->Arg(sphere_r2)
    ->Arg(sphere_r3)
    ->Arg(paper_blocks)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK(searchlight_rdms<double>)
    ->Arg(sphere_r2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace
