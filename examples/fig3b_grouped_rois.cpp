// Fig. 3b of Dwivedi et al. (2021): how much of each ROI's variance do the 2D, 3D and semantic
// DNNs explain uniquely?
//
// Each group is the mean of its members' layer RDMs (block4, encoder output). On each ROI's
// subject-mean RDM the variance is partitioned among the groups: the unique fraction of each and
// the shared ones, with condition-label permutation p-values (corrected across ROIs), pairwise
// tests of the unique fractions, bootstrap intervals and subject-level t-tests. --paper-compat
// runs the paper's procedures instead (entry permutations, 45-of-50 subsampled error bars with its
// summed joint models, BH within each ROI).
//
// With no --data it runs on the planted-truth dataset and reports whether each planted ROI's
// largest unique fraction belongs to its DNN's group. Outputs: groups.csv/json (the bars),
// fractions.csv/json (all seven fractions per ROI) and summary.txt.
//
// Usage: fig3b_grouped_rois [--data DIR] [--out DIR] [--paper-compat] [--permutations N] ...
#include "figure_common.hpp"

#include <sstream>

int main(int argc, char** argv) {
  namespace d2b = figure::d2b;
  namespace fs = figure::fs;
  using d2b::index_t;
  figure::common_options o;
  o.out = "dnn2brain-fig3b";
  o.permutations = 10000;
  CLI::App app{
      "Fig. 3b of Dwivedi et al. (2021): the unique variance of the 2D, 3D and semantic DNNs per "
      "ROI"};
  figure::add_common_options(app, o);
  CLI11_PARSE(app, argc, argv);
  figure::use_threads(o.threads);
  const auto start = figure::clock_type::now();

  try {
    const figure::inputs in = figure::load_inputs(o, false);
    const d2b::model_set& models = in.data.models;
    const d2b::roi_set& rois = in.data.rois;
    if (rois.size() == 0)
      throw std::runtime_error(
          "the data hold no ROI (rois/ or the paper's kastner_ROIs_RDMs_pearson/)");
    if (models.group_count() < 2)
      throw std::runtime_error(
          "the model set has fewer than 2 groups (models/groups.json in dnn2brain's layout)");
    d2b::analysis_presets presets = figure::presets(o);
    const auto& shown = figure::roi_names(in);

    figure::progress_line partitioning("grouped variance partitioning");
    presets.grouped.progress = partitioning.callback();
    const d2b::partition_analysis_result parts =
        d2b::grouped_partitioning(models, rois, presets.grouped);
    partitioning.finish();
    const figure::partition_p p_values(parts, presets.paper_procedures);

    fs::create_directories(o.out);
    const d2b::palette colours = d2b::paper_palette(models);
    figure::write_table(o.out / "groups", figure::bar_table(parts, p_values, shown, colours.groups,
                                                            presets.paper_procedures));
    figure::write_table(o.out / "fractions",
                        figure::fraction_table(parts, shown, presets.paper_procedures));
    figure::write_table(o.out / "pairs", figure::pair_table(parts, p_values, shown));

    std::ostringstream text;
    text << "dnn2brain Fig. 3b on " << in.description << "\n"
         << models.group_count() << " groups of " << models.size() << " DNNs × "
         << models.layer_count() << " layers, " << rois.size() << " ROIs × " << rois.subjects()
         << " subjects, " << o.permutations << " permutations, "
         << (presets.paper_procedures ? "the paper's procedures (--paper-compat)"
                                      : "the library's procedures")
         << "\n";
    bool recovered = true;
    for (index_t r = 0; r < rois.size(); ++r) {
      text << shown[std::size_t(r)] << ": R² of the groups = " << figure::format(parts.total()[r])
           << ", shared by all: " << figure::format(parts.fractions(parts.fraction_count() - 1, r))
           << "\n";
      figure::describe_panel(text, parts, p_values, r);
      if (in.planted) {
        const std::string& planted = in.planted->region_planted[std::size_t(r)];
        if (planted.empty()) {
          text << "  planted: nothing\n";
          continue;
        }
        const index_t g = models.group_of_model(models.index(planted));
        bool largest = g >= 0;  // of the groups' unique fractions
        for (index_t h = 0; largest && h < parts.k; ++h)
          largest = h == g || parts.unique(h)[r] < parts.unique(g)[r];
        const bool found = largest && p_values.unique(g, r) <= 0.05;
        recovered = recovered && found;
        text << "  planted: " << planted << " ("
             << (g < 0 ? std::string("no group") : models.groups()[std::size_t(g)].name)
             << "), its group's unique fraction is the largest and significant: "
             << (found ? "yes" : "no") << "\n";
      }
    }
    if (in.planted)
      text << "every planted ROI's group recovered: " << (recovered ? "yes" : "no") << "\n";
    figure::finish_summary(o.out, text.str(), start,
                           in.planted ? std::optional<bool>(recovered) : std::nullopt);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nfig3b_grouped_rois: %s\n", e.what());
    return 2;
  }
}
