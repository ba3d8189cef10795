// Shared-design OLS over many targets: one DNN (2 layer RDMs + intercept) and 19 DNNs in one pass
// against T target RDMs of 1225 pairs (50 conditions), float and double, and variance
// partitioning of 3 groups over 50k targets. Reported as targets/s, useful GFLOP/s (2·m·rank per
// target, rank = the designs' union rank) and the fraction of this machine's OpenBLAS GEMM peak
// measured in the same run. The same projection as one OpenBLAS GEMM (without the fit's means,
// sums of squares and per-design scores) runs alongside as the reference a C++ user would write.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include <dnn2brain/regression.hpp>

#include "machine_peak.hpp"

namespace {

constexpr Eigen::Index pairs = 1225;  // 50 conditions
constexpr Eigen::Index layers = 2;    // block4 and encoder output
constexpr Eigen::Index dnns = 19;

template <typename Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

// One stack of targets per scalar type, grown to the largest size asked for and shared by every
// benchmark (230k double targets take 2.25 GB).
template <typename Scalar>
const matrix<Scalar>& targets(Eigen::Index count) {
  static std::unique_ptr<matrix<Scalar>> stack;
  if (!stack || stack->cols() < count) {
    stack.reset();
    stack = std::make_unique<matrix<Scalar>>(pairs, count);
    bench::fill(stack->data(), std::size_t(stack->size()), 5);
  }
  return *stack;
}

const Eigen::MatrixXd& predictors() {
  static const Eigen::MatrixXd x = [] {
    Eigen::MatrixXd p(pairs, dnns * layers);
    bench::fill(p.data(), std::size_t(p.size()), 6);
    return p;
  }();
  return x;
}

std::vector<dnn2brain::design> dnn_designs(Eigen::Index count) {
  std::vector<dnn2brain::design> designs;
  for (Eigen::Index d = 0; d < count; ++d)
    designs.emplace_back(predictors().middleCols(d * layers, layers));
  return designs;
}

template <typename Scalar>
void report(benchmark::State& state, Eigen::Index count, Eigen::Index rank, double seconds) {
  const double fits = double(count) * double(state.iterations());
  state.SetItemsProcessed(state.iterations() * count);
  const double gflops = 2.0 * double(pairs) * double(rank) * fits / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["gemm_fraction"] = gflops / bench::gemm_peak_gflops<Scalar>();
}

template <typename Scalar>
void fit_designs(benchmark::State& state, Eigen::Index designs) {
  const Eigen::Index count = state.range(0);
  const auto& y = targets<Scalar>(count);
  const dnn2brain::design_set<Scalar> set(dnn_designs(designs));
  bench::gemm_peak_gflops<Scalar>();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(fit(set, y.leftCols(count)).r_squared.data());
  report<Scalar>(state, count, set.union_rank(), bench::seconds_since(t0));
}

template <typename Scalar>
void fit_one_dnn(benchmark::State& state) {
  fit_designs<Scalar>(state, 1);
}

template <typename Scalar>
void fit_19_dnns(benchmark::State& state) {
  fit_designs<Scalar>(state, dnns);
}

// The projection alone as one OpenBLAS GEMM: Z = Qᵀ Y with the 19 DNNs' stacked bases.
template <typename Scalar>
void blas_projection_19_dnns(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const auto& y = targets<Scalar>(count);
  const Eigen::Index rank = dnns * layers;
  const Eigen::MatrixXd basis =
      predictors().householderQr().householderQ() * Eigen::MatrixXd::Identity(pairs, rank);
  const matrix<Scalar> q = basis.cast<Scalar>();
  matrix<Scalar> z(rank, count);
  bench::gemm_peak_gflops<Scalar>();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    bench::gemm_tn(int(rank), int(count), int(pairs), q.data(), y.data(), z.data());
    benchmark::DoNotOptimize(z.data());
  }
  report<Scalar>(state, count, rank, bench::seconds_since(t0));
}

template <typename Scalar>
void variance_partitioning_3_groups(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const auto& y = targets<Scalar>(count);
  std::vector<Eigen::MatrixXd> groups;
  for (Eigen::Index g = 0; g < 3; ++g)
    groups.push_back(predictors().middleCols(g * layers, layers));
  const dnn2brain::variance_partitioning<Scalar> vp(groups);
  bench::gemm_peak_gflops<Scalar>();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(fit(vp, y.leftCols(count)).fractions.data());
  report<Scalar>(state, count, vp.unions().union_rank(), bench::seconds_since(t0));
}

void target_counts(benchmark::internal::Benchmark* b, bool with_one) {
  if (with_one) b->Arg(1);
  b->Arg(10'000)->Arg(50'000)->Arg(230'000)->Unit(benchmark::kMillisecond)->UseRealTime();
  b->Repetitions(5)->ReportAggregatesOnly(true);
}

}  // namespace

BENCHMARK(fit_one_dnn<double>)->Apply([](auto* b) { target_counts(b, true); });
BENCHMARK(fit_one_dnn<float>)->Apply([](auto* b) { target_counts(b, true); });
BENCHMARK(fit_19_dnns<double>)->Apply([](auto* b) { target_counts(b, false); });
BENCHMARK(fit_19_dnns<float>)->Apply([](auto* b) { target_counts(b, false); });
BENCHMARK(blas_projection_19_dnns<double>)->Apply([](auto* b) { target_counts(b, false); });
BENCHMARK(blas_projection_19_dnns<float>)->Apply([](auto* b) { target_counts(b, false); });
BENCHMARK(variance_partitioning_3_groups<double>)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK(variance_partitioning_3_groups<float>)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
