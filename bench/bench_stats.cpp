// Statistics: the condition-label permutation test of 19 DNNs (2 layer RDMs + intercept each) on
// one ROI (10,000 permutations, all pairwise model differences, on one core and on all) and on
// 50k searchlight targets (timed per permutation: 10,000 would take tens of minutes; the cost is
// linear in the permutation count), and Benjamini–Hochberg over 230k p-values.
#include <benchmark/benchmark.h>

#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <dnn2brain/stats.hpp>

#include "machine_peak.hpp"

namespace {

constexpr Eigen::Index conditions = 50, pairs = 1225, dnns = 19, layers = 2;

const dnn2brain::design_set<double>& models() {
  static const dnn2brain::design_set<double> set = [] {
    Eigen::MatrixXd x(pairs, dnns * layers);
    bench::fill(x.data(), std::size_t(x.size()), 6);
    std::vector<dnn2brain::design> designs;
    for (Eigen::Index d = 0; d < dnns; ++d) designs.emplace_back(x.middleCols(d * layers, layers));
    return dnn2brain::design_set<double>(std::move(designs));
  }();
  return set;
}

class threads_scope {
 public:
  explicit threads_scope(int threads) {
#ifdef _OPENMP
    m_previous = omp_get_max_threads();
    if (threads > 0) omp_set_num_threads(threads);
#endif
  }
  ~threads_scope() {
#ifdef _OPENMP
    omp_set_num_threads(m_previous);
#endif
  }
  threads_scope(const threads_scope&) = delete;
  threads_scope& operator=(const threads_scope&) = delete;

 private:
  int m_previous = 1;
};

// One ROI: 10,000 permutations × 19 DNNs with every ordered model difference. range(0): threads
// (0 = all). Reports µs per fit (one DNN on one permuted target).
void permutation_roi(benchmark::State& state) {
  const threads_scope scope(int(state.range(0)));
  Eigen::VectorXd target(pairs);
  bench::fill(target.data(), std::size_t(pairs), 7);
  const Eigen::Index permutations = 10'000;
  for (auto _ : state)
    benchmark::DoNotOptimize(
        dnn2brain::permutation_test(models(), target, {.permutations = permutations, .seed = 1})
            .p_value.data());
  state.SetItemsProcessed(state.iterations() * permutations * dnns);
  state.counters["us_per_fit"] = benchmark::Counter(
      double(state.iterations() * permutations * dnns),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

// 50k searchlight targets, 20 permutations (timed per permutation), model differences off: the
// arithmetic is the projection of every permuted target, 2·m·38 flops each.
void permutation_searchlights(benchmark::State& state) {
  const Eigen::Index count = state.range(0), permutations = 20;
  static Eigen::MatrixXd targets;
  if (targets.cols() != count) {
    targets.resize(pairs, count);
    bench::fill(targets.data(), std::size_t(targets.size()), 8);
  }
  bench::gemm_peak_gflops<double>();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        dnn2brain::permutation_test(models(), targets,
                                    {.permutations = permutations, .seed = 1, .differences = false})
            .p_value.data());
  const double seconds = bench::seconds_since(t0);
  const double fits = double(state.iterations()) * double(permutations + 1) * double(count);
  const double gflops = 2.0 * double(pairs) * double(dnns * layers) * fits / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["gemm_fraction"] = gflops / bench::gemm_peak_gflops<double>();
  state.counters["s_per_permutation"] =
      seconds / (double(state.iterations()) * double(permutations + 1));
}

void fdr_230k(benchmark::State& state) {
  Eigen::VectorXd p(230'000);
  bench::fill(p.data(), std::size_t(p.size()), 9);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        dnn2brain::adjust_p_values(p, dnn2brain::correction::benjamini_hochberg).data());
  state.SetItemsProcessed(state.iterations() * p.size());
}

}  // namespace

BENCHMARK(permutation_roi)
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK(permutation_searchlights)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(fdr_230k)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
