// Statistics: the condition-label permutation test of 19 DNNs (2 layer RDMs + intercept each) on
// one ROI (10,000 permutations, all pairwise model differences, on one core and on all) and on
// 50k searchlight targets (timed per permutation), with and without sequential stopping; the
// bootstrap over conditions of one ROI (10,000 resamples); Benjamini–Hochberg over 230k p-values.
#include <benchmark/benchmark.h>

#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <dnn2brain/stats.hpp>

#include "machine_peak.hpp"

namespace {

constexpr Eigen::Index conditions = 50, pairs = 1225, dnns = 19, layers = 2;

template <typename Scalar = double>
const dnn2brain::design_set<Scalar>& models() {
  static const dnn2brain::design_set<Scalar> set = [] {
    Eigen::MatrixXd x(pairs, dnns * layers);
    bench::fill(x.data(), std::size_t(x.size()), 6);
    std::vector<dnn2brain::design> designs;
    for (Eigen::Index d = 0; d < dnns; ++d) designs.emplace_back(x.middleCols(d * layers, layers));
    return dnn2brain::design_set<Scalar>(std::move(designs));
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

// Searchlight targets (range(0)), 64 permutations (8 passes of 8), timed per permutation
// (10,000 cost 10,000 times as much); model differences off (range(1) = 0) or on. The arithmetic
// is the projection of every target on the 38 basis vectors of the permuted models, 2·m·38 flops
// per target.
template <typename Scalar>
void permutation_searchlights(benchmark::State& state) {
  const Eigen::Index count = state.range(0), permutations = 64;
  static Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> targets;
  if (targets.cols() != count) {
    targets.resize(pairs, count);
    bench::fill(targets.data(), std::size_t(targets.size()), 8);
  }
  bench::gemm_peak_gflops<Scalar>();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        dnn2brain::permutation_test(
            models<Scalar>(), targets,
            {.permutations = permutations, .seed = 1, .differences = state.range(1) != 0})
            .p_value.data());
  const double seconds = bench::seconds_since(t0);
  const double fits = double(state.iterations()) * double(permutations + 1) * double(count);
  const double gflops = 2.0 * double(pairs) * double(dnns * layers) * fits / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["gemm_fraction"] = gflops / bench::gemm_peak_gflops<Scalar>();
  state.counters["s_per_permutation"] =
      seconds / (double(state.iterations()) * double(permutations + 1));
}

// Besag–Clifford stopping (h = 10) on 50k null targets, at most 1,000 permutations.
void permutation_searchlights_sequential(benchmark::State& state) {
  static Eigen::MatrixXf targets;
  if (targets.cols() == 0) {
    targets.resize(pairs, 50'000);
    bench::fill(targets.data(), std::size_t(targets.size()), 8);
  }
  double evaluated = 0.0;
  for (auto _ : state) {
    const auto r = dnn2brain::permutation_test(
        models<float>(), targets,
        {.permutations = 1000, .seed = 1, .differences = false, .stop_after = 10});
    evaluated = r.evaluated.cast<double>().mean();
  }
  state.counters["mean_permutations"] = evaluated;
}

// The bootstrap over conditions of one ROI: 10,000 resamples, each refitting 19 DNNs on the
// pairs of the drawn conditions. range(0): threads (0 = all).
void bootstrap_roi(benchmark::State& state) {
  const threads_scope scope(int(state.range(0)));
  Eigen::VectorXd target(pairs);
  bench::fill(target.data(), std::size_t(pairs), 7);
  const dnn2brain::regression_statistic<double> statistic(models());
  const Eigen::Index samples = 10'000;
  for (auto _ : state)
    benchmark::DoNotOptimize(
        dnn2brain::bootstrap_conditions(statistic, target, {.samples = samples, .seed = 1})
            .standard_error.data());
  state.counters["us_per_fit"] = benchmark::Counter(
      double(state.iterations() * samples * dnns),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
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
BENCHMARK(permutation_searchlights<double>)
    ->Args({50'000, 0})
    ->Args({50'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(permutation_searchlights<float>)
    ->Args({50'000, 0})
    ->Args({50'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(permutation_searchlights_sequential)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(bootstrap_roi)
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(fdr_230k)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
