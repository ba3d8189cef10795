// Fig. 1 of Dwivedi et al. (2021): which DNN explains each searchlight of visual cortex best?
//
// With no arguments it runs on the library's planted-truth dataset (simulate::make_dataset: 19
// Taskonomy-named DNNs, 16 subjects' betas on a 40 × 48 × 40 brain with five planted regions),
// so the map can be checked against the truth. It builds the model set from the DNNs'
// activations (block4 and encoder_output, 1 − Pearson after centring units), computes every
// subject's radius-2 searchlight RDMs, fits all 19 DNNs to the subject-mean RDM of every
// searchlight (adjusted R²), tests them with condition-label permutations, and labels each
// searchlight with its best DNN where that DNN is significant against the null of the best of
// all 19 (FDR across searchlights). The ROIs get the same scores with permutation and subject-level
// inference and noise ceilings. It writes the label map, score and p maps (NIfTI), tables of the
// searchlights and ROIs (CSV and JSON), the legend, and a summary of how much of the planted truth
// was recovered.
//
// Usage: fig1_functional_map [--out DIR] [--permutations N] [--seed S] [--threads T] ...
//        (--help lists every option)
#include <dnn2brain/dnn2brain.hpp>
#include <dnn2brain/io.hpp>
#include <dnn2brain/simulate.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

namespace d2b = dnn2brain;
using clock_type = std::chrono::steady_clock;

// One progress line on stderr per long step, rewritten in place.
class progress_line {
 public:
  explicit progress_line(std::string step) : m_step(std::move(step)), m_start(clock_type::now()) {
    std::fprintf(stderr, "[%s] ...", m_step.c_str());
  }
  void operator()(d2b::index_t done, d2b::index_t total) const {
    std::fprintf(stderr, "\r[%s] %lld / %lld (%.1f s)", m_step.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), seconds());
  }
  double finish() const {
    const double s = seconds();
    std::fprintf(stderr, "\r[%s] done in %.1f s%20s\n", m_step.c_str(), s, "");
    return s;
  }

 private:
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(clock_type::now() - m_start).count();
  }
  std::string m_step;
  clock_type::time_point m_start;
};

// The searchlights' centres in voxel coordinates.
d2b::io::table centre_table(const d2b::neighbor_table& table, const d2b::searchlight_result& r,
                            const d2b::functional_map& map) {
  std::vector<int> i, j, k;
  std::vector<std::string> best, label;
  for (const d2b::ijk& c : table.centers()) {
    i.push_back(c.i);
    j.push_back(c.j);
    k.push_back(c.k);
  }
  for (d2b::index_t t = 0; t < map.searchlights(); ++t) {
    best.push_back(map.best[t] < 0 ? "" : r.models[std::size_t(map.best[t])]);
    label.push_back(map.label[t] < 0 ? "" : r.models[std::size_t(map.label[t])]);
  }
  d2b::io::table out;
  out.add("i", i)
      .add("j", j)
      .add("k", k)
      .add("best", best)
      .add("best_score", map.best_score)
      .add("p_best", r.permutation.p_best)
      .add("p_fdr", map.p_adjusted)
      .add("label", label);
  if (r.permutation.p_runner_up.size() > 0) out.add("p_runner_up", r.permutation.p_runner_up);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  CLI::App app{
      "Fig. 1 of Dwivedi et al. (2021): the best DNN per searchlight, on the planted-"
      "truth dataset"};
  fs::path out = "dnn2brain-fig1";
  d2b::index_t permutations = 1000;
  std::uint64_t seed = 2021;
  int threads = 0;
  d2b::simulate::options data_options;
  double radius = 2.0;
  double q = 0.05;
  std::string size = "default";
  app.add_option("--out", out, "output folder (created)")->capture_default_str();
  app.add_option("--permutations", permutations, "condition-label permutations")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", seed, "seed of the permutations and of the dataset")
      ->capture_default_str();
  app.add_option("--threads", threads, "OpenMP threads (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--subjects", data_options.subjects, "subjects of the synthetic dataset")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  app.add_option("--noise", data_options.noise, "voxel noise of the synthetic dataset")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--radius", radius, "searchlight sphere radius in voxels")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 10.0));
  app.add_option("--q", q, "false discovery rate across searchlights")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  app.add_option("--size", size,
                 "synthetic brain: default (40 x 48 x 40, the paper-like size), small (28 x 34 x "
                 "28, 12 subjects) or tiny (16 x 20 x 16, 3 subjects; checks only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"default", "small", "tiny"}));
  CLI11_PARSE(app, argc, argv);
  if (size != "default") {
    const double scale = size == "small" ? 0.7 : 0.4;
    for (std::size_t a = 0; a < 3; ++a) {
      data_options.grid[a] =
          static_cast<std::size_t>(std::ceil(static_cast<double>(data_options.grid[a]) * scale));
      data_options.mask_semi_axes[Eigen::Index(a)] *= scale;
    }
    if (app.count("--subjects") == 0) data_options.subjects = size == "small" ? 12 : 3;
  }
#ifdef _OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#endif
  data_options.seed = seed;
  const auto start = clock_type::now();

  try {
    // 1. The data: DNN activations and every subject's betas.
    progress_line generating("planted-truth dataset");
    const d2b::simulate::dataset data = d2b::simulate::make_dataset(data_options);
    generating.finish();

    // 2. The model set: 19 DNNs × 2 layers, and the paper's three groups.
    const d2b::model_set models = d2b::simulate::make_model_set(data.models);

    // 3. Searchlights: spheres of `radius` voxels over the mask.
    const d2b::neighbor_table table =
        d2b::make_neighbor_table(data.mask, d2b::neighborhood::sphere{radius});

    // 4. The analysis, streamed over chunks of searchlights.
    progress_line analysing("searchlights × " + std::to_string(permutations) + " permutations");
    d2b::searchlight_analysis_options options;
    options.permutations = permutations;
    options.seed = seed;
    options.progress = [&](std::string_view, d2b::index_t done, d2b::index_t total) {
      analysing(done, total);
    };
    const d2b::searchlight_result result =
        d2b::searchlight_analysis(models, data.subject_data, table, options);
    const double analysis_seconds = analysing.finish();

    // 5. The map: the best DNN where it beats the null of the best of all DNNs (BH across
    // searchlights); the naive rule (the winner against its own null) for comparison.
    d2b::map_options map_options;
    map_options.alpha = q;
    const d2b::functional_map map = d2b::make_functional_map(result, map_options);
    map_options.selection = d2b::map_selection::winner_own_null;
    const d2b::functional_map naive = d2b::make_functional_map(result, map_options);

    // 6. The ROIs: each subject's ROI RDM, then every DNN on the subject-mean RDM, with
    // permutation and subject-level inference and noise ceilings.
    progress_line regions("ROIs");
    const d2b::roi_set rois = d2b::simulate::make_roi_set(data);
    d2b::roi_options roi_options;
    roi_options.permutations = std::max<d2b::index_t>(permutations, 10000);
    roi_options.bootstrap_samples = 0;  // error bars are Fig. 2's (fig2_top3_rois)
    roi_options.differences = false;
    roi_options.seed = seed;
    const d2b::roi_result roi = d2b::roi_analysis(models, rois, roi_options);
    regions.finish();

    // 7. Outputs.
    fs::create_directories(out);
    const auto& geometry = data.geometry;
    d2b::io::write_nifti(out / "functional_map.nii.gz", map.label_volume(data.mask, table),
                         geometry);
    d2b::io::write_nifti(out / "scores.nii.gz",
                         xt::cast<float>(d2b::paint(data.mask, table, result.scores)), geometry);
    d2b::io::write_nifti(out / "p_best.nii.gz",
                         xt::cast<float>(d2b::paint(data.mask, table, result.permutation.p_best)),
                         geometry);
    d2b::io::write_nifti(out / "p_fdr.nii.gz",
                         xt::cast<float>(d2b::paint(data.mask, table, map.p_adjusted)), geometry);
    const d2b::io::table centres = centre_table(table, result, map);
    d2b::io::write_csv(out / "searchlights.csv", centres);

    const d2b::palette colours = d2b::paper_palette(models);
    std::vector<int> codes{0};
    std::vector<std::string> names{"not significant"}, shown{"not significant"}, groups{""},
        hex{colours.not_significant.hex()};
    std::vector<d2b::index_t> counts{map.searchlights() - map.labelled()};
    const auto per_model = map.counts();
    for (d2b::index_t d = 0; d < models.size(); ++d) {
      codes.push_back(int(d) + 1);
      names.push_back(models.names()[std::size_t(d)]);
      shown.push_back(d2b::paper::display_name(names.back()));
      const d2b::index_t g = models.group_of_model(d);
      groups.push_back(g < 0 ? "" : models.groups()[std::size_t(g)].name);
      hex.push_back(colours.models[std::size_t(d)].hex());
      counts.push_back(per_model[std::size_t(d)]);
    }
    d2b::io::table legend;
    legend.add("code", codes)
        .add("model", names)
        .add("display_name", shown)
        .add("group", groups)
        .add("colour", hex)
        .add("searchlights", counts);
    d2b::io::write_json(out / "legend.json", legend);
    d2b::io::write_csv(out / "legend.csv", legend);

    std::vector<std::string> roi_names, roi_model;
    std::vector<double> roi_score, roi_p, roi_p_best, roi_p_corrected, roi_subject_p, roi_lower,
        roi_upper;
    std::vector<int> roi_rank;
    for (d2b::index_t r = 0; r < rois.size(); ++r) {
      const std::vector<d2b::index_t> order = roi.ranking(r);
      for (std::size_t k = 0; k < order.size(); ++k) {
        const d2b::index_t d = order[k];
        roi_names.push_back(roi.rois[std::size_t(r)]);
        roi_model.push_back(roi.models[std::size_t(d)]);
        roi_rank.push_back(int(k) + 1);
        roi_score.push_back(roi.scores(d, r));
        roi_p.push_back(roi.permutation.p_value(d, r));
        roi_p_corrected.push_back(roi.p_corrected(d, r));
        roi_p_best.push_back(roi.permutation.p_best[r]);
        roi_subject_p.push_back(roi.subject_p(d, r));
        roi_lower.push_back(roi.ceiling_lower[r]);
        roi_upper.push_back(roi.ceiling_upper[r]);
      }
    }
    d2b::io::table roi_table;
    roi_table.add("roi", roi_names)
        .add("rank", roi_rank)
        .add("model", roi_model)
        .add("adjusted_r_squared", roi_score)
        .add("p", roi_p)
        .add("p_fdr", roi_p_corrected)
        .add("p_best", roi_p_best)
        .add("subject_p", roi_subject_p)
        .add("noise_ceiling_lower", roi_lower)
        .add("noise_ceiling_upper", roi_upper);
    d2b::io::write_csv(out / "rois.csv", roi_table);
    d2b::io::write_json(out / "rois.json", roi_table);

    // 8. How much of the planted truth came back.
    std::vector<d2b::index_t> labels(std::size_t(map.searchlights())), naive_labels(labels.size());
    for (d2b::index_t t = 0; t < map.searchlights(); ++t) {
      labels[std::size_t(t)] = map.label[t];
      naive_labels[std::size_t(t)] = naive.label[t];
    }
    const d2b::simulate::recovery truth = d2b::simulate::score_map(data, labels);
    const d2b::simulate::recovery naive_truth = d2b::simulate::score_map(data, naive_labels);
    std::ostringstream summary;
    summary << "dnn2brain Fig. 1 on the planted-truth dataset (seed " << seed << ", "
            << data_options.subjects << " subjects, noise " << data_options.noise << ")\n"
            << table.size() << " searchlights (spheres of radius " << radius << " voxels), "
            << models.size() << " DNNs × " << models.layer_count() << " layers, " << permutations
            << " permutations: " << analysis_seconds << " s\n"
            << "labelled (best DNN vs the null of the best of all DNNs, BH q = " << q
            << "): " << map.labelled() << "\n"
            << "  planted group recovered: " << 100.0 * truth.group_recovery << " %\n"
            << "  planted DNN recovered: " << 100.0 * truth.model_recovery << " %\n"
            << "  power inside / core / rim: " << truth.power_inside << " / " << truth.power_core
            << " / " << truth.power_rim << "\n"
            << "  false positives in the noise region: " << 100.0 * truth.noise_false_positive
            << " %\n"
            << "the naive rule (the winner against its own null) for comparison: "
            << naive.labelled() << " labelled, " << 100.0 * naive_truth.noise_false_positive
            << " % of the noise region\n"
            << "ROIs (top 3 by adjusted R² of the subject-mean RDM; planted DNN in brackets):\n";
    bool rois_recovered = true;
    for (d2b::index_t r = 0; r < rois.size(); ++r) {
      const std::vector<d2b::index_t> order = roi.ranking(r);
      const std::string& planted = data.region_planted[std::size_t(r)];
      summary << "  " << roi.rois[std::size_t(r)] << " [" << (planted.empty() ? "none" : planted)
              << "]:";
      for (std::size_t k = 0; k < 3 && k < order.size(); ++k)
        summary << " " << roi.models[std::size_t(order[k])] << " " << roi.scores(order[k], r)
                << " (p_fdr " << roi.p_corrected(order[k], r) << ")";
      summary << "\n";
      if (!planted.empty() && roi.models[std::size_t(order.front())] != planted)
        rois_recovered = false;
    }
    summary << "  every planted ROI's best DNN is its planted DNN: "
            << (rois_recovered ? "yes" : "no") << "\n";
    const double total_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    summary << "total " << total_seconds << " s; outputs in " << fs::absolute(out).string() << "\n";
    std::ofstream(out / "summary.txt") << summary.str();
    std::cout << summary.str();
    // The acceptance bands of the planted-truth design (docs/simulate.md).
    const bool recovered = truth.group_recovery >= 0.95 && truth.model_recovery >= 0.85 &&
                           truth.noise_false_positive <= 0.02 && rois_recovered;
    std::cout << "planted truth recovered: " << (recovered ? "yes" : "no") << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nfig1_functional_map: %s\n", e.what());
    return 2;
  }
}
