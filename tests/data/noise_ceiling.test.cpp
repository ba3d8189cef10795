// Noise ceilings of the n2b78 fMRI RDMs (../shared/data, see its README) under Net2Brain's
// conventions, against the values Net2Brain published for this data. Skips visibly, printing
// "dnn2brain-skip:", when the folder is absent; ctest then reports it as skipped.
#include <dnn2brain/io.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/reference_data.hpp"

using dnn2brain::index_t;
namespace fs = std::filesystem;

namespace {

bool data_present(const std::string& folder) {
  const fs::path path = fs::path(DNN2BRAIN_TEST_DATA_DIR) / folder;
  if (fs::is_directory(path)) return true;
  WARN("dnn2brain-skip: real data folder " << path << " not found");
  return false;
}

// The 15 subjects' condensed RDMs of a region: 3003 pairs × 15.
dnn2brain::rdm_stack<double> region_rdms(const std::string& region) {
  const auto a = dnn2brain::io::read_npz<double>(
      (fs::path(DNN2BRAIN_TEST_DATA_DIR) / ("n2b78/fmri_" + region + "_RDMs.npz")).string(),
      "arr_0.npy");
  REQUIRE(a.dimension() == 3);
  REQUIRE(a.shape()[0] == 15);
  REQUIRE(a.shape()[1] == 78);
  REQUIRE(a.shape()[2] == 78);
  // Net2Brain takes the upper triangle of each subject's (and of the mean's) square RDM.
  Eigen::MatrixXd subjects(dnn2brain::condensed_size(78), 15);
  for (index_t s = 0; s < 15; ++s)
    for (index_t i = 0, k = 0; i < 78; ++i)
      for (index_t j = i + 1; j < 78; ++j) subjects(k++, s) = a.data()[(s * 78 + i) * 78 + j];
  return dnn2brain::rdm_stack<double>::from_columns(subjects, 78);
}

// Net2Brain's NoiseCeiling (cvai-roig-lab/Net2Brain, net2brain/evaluations/noiseceiling.py): the
// plain mean of the subjects' RDMs, each subject's Spearman r with it squared, averaged. Its values
// for this data, as published in net2brain/tests/data/brain_data/noise_ceiling_log.json
// (@ 8a4537c346f3): "lnc" (lower) and "unc" (upper).
struct published {
  const char* region;
  double lower, upper;
};
constexpr published net2brain[] = {
    {"EVC", 0.006817660885847111, 0.06397469419484077},
    {"IT", 0.002784925615650058, 0.0647332511659806},
};

}  // namespace

TEST_CASE("Net2Brain's 78-image EVC and IT noise ceilings are reproduced",
          "[real_data][n2b78][noise_ceiling]") {
  if (!data_present("n2b78")) return;
  constexpr double eps = std::numeric_limits<double>::epsilon();
  const dnn2brain::noise_ceiling_options options{.pooling = dnn2brain::rdm_pooling::raw_mean,
                                                 .squared = true};
  double worst_subject = 0.0, worst_published = 0.0;
  for (const auto& [region, lower, upper] : net2brain) {
    const auto subjects = region_rdms(region);
    const auto r = dnn2brain::noise_ceiling(subjects, dnn2brain::measure::spearman{}, options);

    // Error model. Both computations correlate the same exact half-integer ranks (the mean RDMs
    // agree to a few ulps, and the smallest relative gap between two entries of a mean here is
    // 3.8e-9, so their ranks agree too). Pearson r of ranks has its centred sums exact in double;
    // only the scaling and the m-term dot product round, so |Δr| <= (m + 4)·ε for unit vectors,
    // in each implementation; then |Δr²| <= 2|r|·|Δr|, and the mean over S subjects adds S·ε of
    // its value.
    const double m = 3003.0, count = 15.0;
    const auto subject_bound = [&](double r2) { return 2.0 * 2.0 * std::sqrt(r2) * (m + 4) * eps; };
    const auto& lower_ref = dnn2brain::test::reference(
        std::string("nc_") + region + "_net2brain_lower", DNN2BRAIN_STATS_REFERENCE_FILE);
    const auto& upper_ref = dnn2brain::test::reference(
        std::string("nc_") + region + "_net2brain_upper", DNN2BRAIN_STATS_REFERENCE_FILE);
    double mean_bound_lower = 0.0, mean_bound_upper = 0.0;
    for (index_t s = 0; s < 15; ++s) {
      const double dl = std::abs(r.lower_per_subject[s] - lower_ref(0, s));
      const double du = std::abs(r.upper_per_subject[s] - upper_ref(0, s));
      INFO(region << " subject " << s << ": lower r² " << r.lower_per_subject[s] << " (scipy "
                  << lower_ref(0, s) << "), upper r² " << r.upper_per_subject[s] << " (scipy "
                  << upper_ref(0, s) << ")");
      CHECK(dl <= subject_bound(lower_ref(0, s)));
      CHECK(du <= subject_bound(upper_ref(0, s)));
      worst_subject = std::max({worst_subject, dl, du});
      mean_bound_lower += subject_bound(lower_ref(0, s)) / count;
      mean_bound_upper += subject_bound(upper_ref(0, s)) / count;
    }
    const double dl = std::abs(r.lower - lower), du = std::abs(r.upper - upper);
    INFO(region << ": lower " << r.lower << " (Net2Brain " << lower << "), upper " << r.upper
                << " (Net2Brain " << upper << ")");
    CHECK(dl <= mean_bound_lower + count * eps * lower);
    CHECK(du <= mean_bound_upper + count * eps * upper);
    worst_published = std::max({worst_published, dl, du});
    WARN(std::setprecision(17) << "n2b78 " << region << " Net2Brain noise ceiling: lower "
                               << r.lower << " (published " << lower << ", deviation " << dl
                               << "), upper " << r.upper << " (published " << upper
                               << ", deviation " << du << ")");

    // The searchlight form of one target is the region form.
    const std::vector<dnn2brain::rdm_stack<double>> per_subject = [&] {
      std::vector<dnn2brain::rdm_stack<double>> out;
      for (index_t s = 0; s < 15; ++s)
        out.push_back(dnn2brain::rdm_stack<double>::from_columns(subjects.values().col(s), 78));
      return out;
    }();
    const auto many =
        dnn2brain::noise_ceiling(std::span<const dnn2brain::rdm_stack<double>>(per_subject),
                                 dnn2brain::measure::spearman{}, options);
    CHECK(many.lower[0] == r.lower);
    CHECK(many.upper[0] == r.upper);

    // rsatoolbox's convention (ranked RDMs averaged) gives other, larger bounds on this data.
    const auto ranked =
        dnn2brain::noise_ceiling(subjects, dnn2brain::measure::spearman{}, {.squared = true});
    CHECK(ranked.upper > r.upper);
  }
  WARN("n2b78 Net2Brain noise ceilings, worst deviation: per subject vs scipy "
       << worst_subject << ", vs published " << worst_published);
}
