// RDM comparison: one pair of 1225-entry RDMs (50 conditions) under every measure, Kendall tau-a
// against the O(m²) loop it replaces, and one model against 100k searchlight RDMs in one batched
// call, reported as bytes read per second and as a fraction of this machine's read bandwidth
// measured in the same run.
#include <benchmark/benchmark.h>

#include <memory>

#include <dnn2brain/compare.hpp>

#include "machine_peak.hpp"

namespace {

constexpr Eigen::Index pairs = 1225;  // 50 conditions

Eigen::VectorXd rdm_vector(std::uint64_t seed) {
  Eigen::VectorXd v(pairs);
  bench::fill(v.data(), std::size_t(pairs), seed);
  return v;
}

template <typename Measure>
void one_pair(benchmark::State& state) {
  const Eigen::VectorXd a = rdm_vector(1), b = rdm_vector(2);
  for (auto _ : state) benchmark::DoNotOptimize(dnn2brain::compare_vectors(a, b, Measure{}));
  state.SetItemsProcessed(state.iterations());
}

// The O(m²) definition, as rsatoolbox and most scripts compute tau-a: the baseline.
void kendall_tau_a_quadratic(benchmark::State& state) {
  const Eigen::VectorXd a = rdm_vector(1), b = rdm_vector(2);
  for (auto _ : state) {
    std::int64_t s = 0;
    for (Eigen::Index i = 0; i < pairs; ++i)
      for (Eigen::Index j = i + 1; j < pairs; ++j)
        s += ((a[i] > a[j]) - (a[i] < a[j])) * ((b[i] > b[j]) - (b[i] < b[j]));
    benchmark::DoNotOptimize(double(s) / (double(pairs) * (pairs - 1) / 2));
  }
  state.SetItemsProcessed(state.iterations());
}

// One model against `targets` searchlight RDMs stored as float (pairs × targets).
template <typename Measure>
void one_model_many_targets(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  static std::unique_ptr<Eigen::MatrixXf> stack;
  if (!stack || stack->cols() != count) {
    stack = std::make_unique<Eigen::MatrixXf>(pairs, count);
    bench::fill(stack->data(), std::size_t(stack->size()), 3);
  }
  const Eigen::VectorXd model = rdm_vector(4);
  const double bandwidth = bench::read_bandwidth_gbs();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state)
    benchmark::DoNotOptimize(dnn2brain::compare_columns(model, *stack, Measure{}).data());
  const double gbs = double(stack->size()) * sizeof(float) * double(state.iterations()) /
                     bench::seconds_since(t0) * 1e-9;
  state.counters["GB/s"] = gbs;
  state.counters["bandwidth_fraction"] = gbs / bandwidth;
  state.SetItemsProcessed(state.iterations() * count);
}

void read_bandwidth(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(bench::read_bandwidth_gbs());
  state.counters["GB/s"] = bench::read_bandwidth_gbs();
}

}  // namespace

namespace measure = dnn2brain::measure;

BENCHMARK(read_bandwidth)->Iterations(1);
BENCHMARK_TEMPLATE(one_pair, measure::pearson)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(one_pair, measure::spearman)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(one_pair, measure::cosine)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(one_pair, measure::kendall_tau_a)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(one_pair, measure::kendall_tau_b)->Unit(benchmark::kMicrosecond);
BENCHMARK(kendall_tau_a_quadratic)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(one_model_many_targets, measure::pearson)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(one_model_many_targets, measure::cosine)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(one_model_many_targets, measure::spearman)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(one_model_many_targets, measure::kendall_tau_a)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
