// RDM builders: correlation and Euclidean RDMs for n ∈ {50, 92, 1000} conditions × p ∈ {10k, 100k,
// 1M} features, float and double. Counters: GFLOP/s (n²p flop convention, as SYRK), the fraction of
// this machine's OpenBLAS SYRK peak measured in the same run, and bytes of activations read per
// second. bench/compare_scipy.py runs scipy and numpy on the same inputs for the ratios.
#include <benchmark/benchmark.h>

#include <memory>

#include <dnn2brain/metrics.hpp>
#include <dnn2brain/rdm.hpp>

#include "machine_peak.hpp"

namespace {

template <typename Scalar>
using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The activations of the current size; one matrix at a time (1000 × 1M doubles is 8 GB).
template <typename Scalar>
const row_matrix<Scalar>& activations(Eigen::Index n, Eigen::Index p) {
  static std::unique_ptr<row_matrix<Scalar>> cached;
  if (!cached || cached->rows() != n || cached->cols() != p) {
    cached.reset();
    cached = std::make_unique<row_matrix<Scalar>>(n, p);
    bench::fill(cached->data(), std::size_t(cached->size()), 42);
  }
  return *cached;
}

template <typename Scalar, typename Metric,
          dnn2brain::rdm_method method = dnn2brain::rdm_method::gram>
void rdm(benchmark::State& state) {
  const Metric metric{};
  const Eigen::Index n = state.range(0), p = state.range(1);
  const auto& x = activations<Scalar>(n, p);
  const double peak = bench::syrk_peak_gflops<Scalar>();  // measured before the timed loop
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto r = dnn2brain::compute_rdm(x, metric, {.method = method});
    benchmark::DoNotOptimize(r.values().data());
  }
  const double gflops = double(n) * double(n) * double(p) * 1e-9 * double(state.iterations()) /
                        bench::seconds_since(t0);
  state.counters["GFLOP/s"] = gflops;
  state.counters["peak_fraction"] = gflops / peak;
  state.SetBytesProcessed(state.iterations() * n * p * Eigen::Index(sizeof(Scalar)));
}

// The reference itself, reported so every run shows the peak it divides by.
template <typename Scalar>
void syrk_peak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(bench::syrk_peak_gflops<Scalar>());
  state.counters["GFLOP/s"] = bench::syrk_peak_gflops<Scalar>();
}

const std::vector<std::vector<std::int64_t>> sizes = {{50, 92, 1000}, {10000, 100000, 1000000}};

}  // namespace

BENCHMARK_TEMPLATE(syrk_peak, float)->Iterations(1);
BENCHMARK_TEMPLATE(syrk_peak, double)->Iterations(1);

using dnn2brain::metric::correlation;
using dnn2brain::metric::euclidean;
constexpr auto direct = dnn2brain::rdm_method::direct;

BENCHMARK_TEMPLATE(rdm, float, correlation)
    ->ArgsProduct(sizes)
    ->ArgNames({"n", "p"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(rdm, double, correlation)
    ->ArgsProduct(sizes)
    ->ArgNames({"n", "p"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(rdm, float, euclidean)
    ->ArgsProduct(sizes)
    ->ArgNames({"n", "p"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(rdm, double, euclidean)
    ->ArgsProduct(sizes)
    ->ArgNames({"n", "p"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// The stable route, for its cost relative to the Gram route.
BENCHMARK_TEMPLATE(rdm, float, correlation, direct)
    ->ArgsProduct({{50, 92}, {100000}})
    ->ArgNames({"n", "p"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
