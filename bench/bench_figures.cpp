// The figure programs' analyses, timed as each program runs them (examples/*.cpp), and Fig. 2 at
// the paper's size.
//
//   fig2_paper_size   15 ROIs × 15 subjects × 50 stimuli, 19 DNNs × 2 layers: roi_analysis (10,000
//                     permutations with the 19² differences, 10,000 bootstrap samples, subject
//                     tests, noise ceilings), then top_k_partitioning of the top 3 (10,000
//                     permutations with the selection-adjusted test, 10,000 bootstrap samples,
//                     subject tests). The ROIs are 15 blocks of 120 mask voxels of the
//                     planted-truth dataset, so some hold signal and some none.
//   fig2_default      the same on the default planted-truth dataset's 6 ROIs × 16 subjects, with
//                     the program's defaults (10,000 permutations, 1,000 bootstrap samples).
//   fig3b_default     grouped_partitioning on those ROIs (10,000 permutations, 1,000 bootstrap).
//   fig3a_default     the groups' unique variance on every searchlight of the default brain
//                     (28,248 radius-2 spheres, 1,000 permutations) and the map.
//   task_similarity   model_similarity (Spearman and Pearson, 2 layers and their mean), linear
//                     CKA of the activations, average linkage, leaves and the 3-cluster cut.
// (fig1_functional_map's pipeline is bench_analysis's `example`.)
//
// Each step is timed on its own (counters *_s); the benchmark's time is their sum. The data are
// made before the timing. Iterations(1): each run takes seconds to a minute.
// Environment (smoke tests): DNN2BRAIN_BENCH_PERMUTATIONS = N caps every permutation and bootstrap
// count at N.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/simulate.hpp>

namespace {

namespace d2b = dnn2brain;
namespace sim = dnn2brain::simulate;
using d2b::index_t;
using clock_type = std::chrono::steady_clock;

index_t capped(index_t n) {
  const char* cap = std::getenv("DNN2BRAIN_BENCH_PERMUTATIONS");
  return cap == nullptr ? n : std::min<index_t>(n, std::max(1, std::atoi(cap)));
}

// The default planted-truth dataset, made once.
const sim::dataset& planted() {
  static const sim::dataset data = sim::make_dataset({});
  return data;
}

// 15 ROIs of 120 consecutive mask voxels spread over the mask, 15 subjects each.
d2b::roi_set paper_size_rois(const sim::dataset& data) {
  d2b::roi_set rois;
  const index_t voxels = data.mask.size(), width = 120, subjects = 15;
  for (index_t r = 0; r < 15; ++r) {
    const index_t first = (voxels - width) * r / 14;
    d2b::rdm_stack<float> rdms(data.settings.stimuli, subjects);
    for (index_t s = 0; s < subjects; ++s)
      rdms.set(s, d2b::compute_rdm(
                      Eigen::MatrixXf(data.subject_data[std::size_t(s)].middleCols(first, width))));
    rois.add("roi" + std::to_string(r + 1), rdms);
  }
  return rois;
}

class steps {
 public:
  explicit steps(benchmark::State& state) : m_state(state) {}
  template <typename F>
  void time(const char* name, F&& f) {
    const auto start = clock_type::now();
    f();
    const double s = std::chrono::duration<double>(clock_type::now() - start).count();
    m_state.counters[std::string(name) + "_s"] = s;
    m_total += s;
  }
  void finish() { m_state.SetIterationTime(m_total); }

 private:
  benchmark::State& m_state;
  double m_total = 0.0;
};

void fig2(benchmark::State& state, bool paper_size) {
  const sim::dataset& data = planted();
  const d2b::model_set models = sim::make_model_set(data.models);
  const d2b::roi_set rois = paper_size ? paper_size_rois(data) : sim::make_roi_set(data);
  d2b::analysis_presets presets = d2b::analysis_presets::defaults().with(capped(10000), 1);
  presets.rois.bootstrap_samples = presets.top3.bootstrap_samples =
      capped(paper_size ? 10000 : 1000);
  for (auto _ : state) {
    steps timed(state);
    d2b::roi_result scores;
    timed.time("roi_analysis", [&] { scores = d2b::roi_analysis(models, rois, presets.rois); });
    timed.time("top3", [&] {
      benchmark::DoNotOptimize(d2b::top_k_partitioning(models, rois, scores, presets.top3));
    });
    timed.finish();
  }
  state.counters["rois"] = double(rois.size());
  state.counters["subjects"] = double(rois.subjects());
  state.counters["permutations"] = double(presets.rois.permutations);
  state.counters["bootstrap_samples"] = double(presets.top3.bootstrap_samples);
}

void fig3b(benchmark::State& state) {
  const sim::dataset& data = planted();
  const d2b::model_set models = sim::make_model_set(data.models);
  const d2b::roi_set rois = sim::make_roi_set(data);
  const d2b::analysis_presets presets = d2b::analysis_presets::defaults().with(capped(10000), 1);
  for (auto _ : state) {
    steps timed(state);
    timed.time("grouped", [&] {
      benchmark::DoNotOptimize(d2b::grouped_partitioning(models, rois, presets.grouped));
    });
    timed.finish();
  }
}

void fig3a(benchmark::State& state) {
  const sim::dataset& data = planted();
  const d2b::model_set models = sim::make_model_set(data.models);
  const d2b::analysis_presets presets = d2b::analysis_presets::defaults().with(capped(1000), 1);
  for (auto _ : state) {
    steps timed(state);
    d2b::neighbor_table table;
    timed.time("table", [&] {
      table = d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{2.0});
    });
    d2b::searchlight_result result;
    timed.time("searchlights", [&] {
      result =
          d2b::searchlight_analysis(models, data.subject_data, table, presets.grouped_searchlight);
    });
    timed.time("map", [&] {
      benchmark::DoNotOptimize(d2b::make_functional_map(result, presets.grouped_map));
    });
    timed.finish();
    state.counters["searchlights"] = double(table.size());
  }
}

void task_similarity(benchmark::State& state) {
  const sim::dataset& data = planted();
  const d2b::model_set models = sim::make_model_set(data.models);
  for (auto _ : state) {
    steps timed(state);
    d2b::similarity_matrix mean;
    timed.time("similarity", [&] {
      for (const std::string layer : {"block4", "encoder_output", ""}) {
        mean = d2b::model_similarity(models, {.layer = layer}, d2b::measure::spearman{});
        benchmark::DoNotOptimize(
            d2b::model_similarity(models, {.layer = layer}, d2b::measure::pearson{}));
      }
    });
    timed.time("cka", [&] {
      for (std::size_t l = 0; l < data.models.layers.size(); ++l) {
        std::vector<Eigen::MatrixXf> layer;
        for (const auto& per_model : data.models.activations) layer.push_back(per_model[l]);
        benchmark::DoNotOptimize(d2b::linear_cka_matrix(layer));
      }
    });
    timed.time("clustering", [&] {
      const Eigen::MatrixXd linkage = d2b::average_linkage(d2b::one_minus_similarity(mean.values));
      benchmark::DoNotOptimize(d2b::leaves_list(linkage));
      benchmark::DoNotOptimize(d2b::fcluster_maxclust(linkage, 3));
    });
    timed.finish();
  }
}

}  // namespace

BENCHMARK_CAPTURE(fig2, paper_size, true)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(fig2, default, false)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(fig3b)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(fig3a)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(task_similarity)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
