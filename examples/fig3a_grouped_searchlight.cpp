// Fig. 3a of Dwivedi et al. (2021): which group of DNNs (2D, 3D or semantic) explains each
// searchlight best?
//
// Each group is the mean of its members' layer RDMs. On the subject-mean RDM of every
// searchlight the variance is partitioned among the three groups and each group scored by its
// unique variance (adjusted R² of all groups minus all but it), as the paper does. Condition-label
// permutations test them; a searchlight is labelled with its best group where that group beats
// the null of the best of the three (BH across searchlights). --paper-compat runs the paper's
// rule instead: entry permutations, BH within each searchlight and then per group across the
// searchlights whose lower noise ceiling exceeds 0.033, and the best group's largest pairwise p
// likewise.
//
// With no --data it runs on the planted-truth dataset and reports how much of the planted
// groups came back. Outputs: group_map.nii.gz (0 not significant, 1 2D, 2 3D, 3 semantic),
// unique_variance.nii.gz (one volume per group), p.nii.gz and p_corrected.nii.gz,
// searchlights.csv, legend.json/csv and summary.txt.
//
// Usage: fig3a_grouped_searchlight [--data DIR] [--out DIR] [--paper-compat] [--radius R] ...
#include "figure_common.hpp"

#include <sstream>

int main(int argc, char** argv) {
  namespace d2b = figure::d2b;
  namespace fs = figure::fs;
  using d2b::index_t;
  figure::common_options o;
  o.out = "dnn2brain-fig3a";
  CLI::App app{
      "Fig. 3a of Dwivedi et al. (2021): the best group of DNNs (2D, 3D, semantic) per "
      "searchlight"};
  figure::add_common_options(app, o);
  double radius = 2.0;
  double q = 0.05;
  app.add_option("--radius", radius, "searchlight sphere radius in voxels (subject betas)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 10.0));
  app.add_option("--q", q, "false discovery rate across searchlights")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  CLI11_PARSE(app, argc, argv);
  if (o.permutations < 1) {
    std::fprintf(stderr, "a map needs permutations: --permutations must be at least 1\n");
    return 2;
  }
  figure::use_threads(o.threads);
  const auto start = figure::clock_type::now();

  try {
    const figure::inputs in = figure::load_inputs(o, true);
    const d2b::model_set& models = in.data.models;
    if (models.group_count() < 2)
      throw std::runtime_error(
          "the model set has fewer than 2 groups (models/groups.json in dnn2brain's layout)");
    const figure::searchlights where = figure::make_searchlights(in, radius);
    d2b::analysis_presets presets = figure::presets(o);
    presets.grouped_map.alpha = q;

    figure::progress_line analysing(std::to_string(where.table.size()) + " searchlights × " +
                                    std::to_string(o.permutations) + " permutations");
    presets.grouped_searchlight.progress = analysing.callback();
    const d2b::searchlight_result result =
        figure::run_searchlights(in, where, presets.grouped_searchlight);
    const double seconds = analysing.finish();
    const d2b::functional_map map = d2b::make_functional_map(result, presets.grouped_map);

    fs::create_directories(o.out);
    d2b::io::write_nifti(o.out / "group_map.nii.gz", map.label_volume(where.mask, where.table),
                         where.mask.geometry());
    figure::write_map(o.out / "unique_variance.nii.gz", where, result.scores);
    figure::write_map(o.out / "p.nii.gz", where, map.p.transpose());
    figure::write_map(o.out / "p_corrected.nii.gz", where, map.p_adjusted.transpose());
    d2b::io::write_csv(o.out / "searchlights.csv", figure::searchlight_table(where, result, map));
    if (o.model_table)
      d2b::io::write_csv(o.out / "searchlight_models.csv",
                         figure::searchlight_model_table(where, result));
    const d2b::palette colours = d2b::paper_palette(models);
    figure::write_legend(o.out, result.models, result.models, colours.groups,
                         colours.not_significant, map);

    std::ostringstream text;
    text << "dnn2brain Fig. 3a on " << in.description << "\n"
         << where.table.size() << " searchlights ("
         << (std::holds_alternative<d2b::io::searchlight_beta_input>(in.data.searchlight)
                 ? "spheres of radius " + figure::format(radius) + " voxels"
                 : std::string("the data's"))
         << "), " << models.group_count() << " groups of " << models.size()
         << " DNNs, unique variance, " << o.permutations
         << " permutations: " << figure::format(seconds, 3) << " s, "
         << (presets.paper_procedures ? "the paper's procedures (--paper-compat)"
                                      : "the library's procedures")
         << "\nlabelled: " << map.labelled() << " (";
    const auto counts = map.counts();
    for (std::size_t g = 0; g < counts.size(); ++g)
      text << result.models[g] << " " << counts[g] << (g + 1 < counts.size() ? ", " : ")\n");
    bool recovered = true;
    if (in.planted) {
      std::vector<index_t> labels(std::size_t(map.searchlights()));
      for (index_t t = 0; t < map.searchlights(); ++t) labels[std::size_t(t)] = map.label[t];
      const d2b::simulate::recovery truth = d2b::simulate::score_group_map(*in.planted, labels);
      text << "  planted group recovered: " << figure::format(100.0 * truth.group_recovery, 4)
           << " %\n"
           << "  power inside / core / rim: " << truth.power_inside << " / " << truth.power_core
           << " / " << truth.power_rim << "\n"
           << "  false positives in the noise region: " << 100.0 * truth.noise_false_positive
           << " %\n";
      // A group map's bands: labels in the planted DNN's group, few in the noise region, and at
      // least a third of the planted cores found (the groups' unique variance is smaller than the
      // DNNs' own fit, so the map finds less than Fig. 1's).
      recovered = truth.group_recovery >= 0.95 && truth.noise_false_positive <= 0.02 &&
                  truth.power_core >= 1.0 / 3.0;
    }
    figure::finish_summary(o.out, text.str(), start,
                           in.planted ? std::optional<bool>(recovered) : std::nullopt);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nfig3a_grouped_searchlight: %s\n", e.what());
    return 2;
  }
}
