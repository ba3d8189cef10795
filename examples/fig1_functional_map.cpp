// Fig. 1 of Dwivedi et al. (2021): which DNN explains each searchlight of visual cortex best?
//
// With no --data it runs on the library's planted-truth dataset (simulate::make_dataset: 19
// Taskonomy-named DNNs, 16 subjects' betas on a 40 × 48 × 40 brain with five planted regions),
// so the map can be checked against the truth. It builds the model set from the DNNs'
// activations (block4 and encoder_output, 1 − Pearson after centring units), computes every
// subject's radius-2 searchlight RDMs, fits all 19 DNNs to the subject-mean RDM of every
// searchlight (adjusted R²), tests them with condition-label permutations, and labels each
// searchlight with its best DNN where that DNN is significant against the null of the best of
// all 19 (FDR across searchlights). The ROIs get the same scores with permutation and subject-level
// inference and noise ceilings. --data reads a folder in dnn2brain's layout or the paper's
// data.zip layout (precomputed searchlight RDMs, or subject betas); --paper-compat runs the
// paper's procedures (R, entry permutations, the two-stage FDR with the 0.033 noise-ceiling
// filter). It writes the label map, score and p maps (NIfTI), tables of the searchlights and ROIs
// (CSV and JSON), the legend, and a summary (on the planted data: how much of the truth came back).
//
// Usage: fig1_functional_map [--data DIR] [--out DIR] [--paper-compat] [--permutations N] ...
//        (--help lists every option)
#include "figure_common.hpp"

#include <algorithm>
#include <sstream>

int main(int argc, char** argv) {
  namespace d2b = figure::d2b;
  namespace fs = figure::fs;
  using d2b::index_t;
  figure::common_options o;
  o.out = "dnn2brain-fig1";
  CLI::App app{"Fig. 1 of Dwivedi et al. (2021): the best DNN per searchlight"};
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
    // 1. The data: the DNNs' layer RDMs (from their activations), the ROIs, every subject's betas.
    const figure::inputs in = figure::load_inputs(o, true);
    const d2b::model_set& models = in.data.models;
    d2b::analysis_presets presets = figure::presets(o);
    presets.map.alpha = q;

    // 2. Searchlights: spheres of `radius` voxels over the mask, or the data's own.
    const figure::searchlights where = figure::make_searchlights(in, radius);

    // 3. The analysis, streamed over chunks of searchlights.
    figure::progress_line analysing(std::to_string(where.table.size()) + " searchlights × " +
                                    std::to_string(o.permutations) + " permutations");
    presets.searchlight.progress = analysing.callback();
    const d2b::searchlight_result result = figure::run_searchlights(in, where, presets.searchlight);
    const double analysis_seconds = analysing.finish();

    // 4. The map: the best DNN where it beats the null of the best of all DNNs (BH across
    // searchlights), or the paper's rule; the naive rule (the winner against its own null) for
    // comparison.
    const d2b::functional_map map = d2b::make_functional_map(result, presets.map);
    d2b::map_options naive_rule = presets.map;
    naive_rule.selection = d2b::map_selection::winner_own_null;
    const d2b::functional_map naive = d2b::make_functional_map(result, naive_rule);

    // 5. The ROIs: every DNN on each ROI's subject-mean RDM, with permutation and subject-level
    // inference and noise ceilings.
    const d2b::roi_set& rois = in.data.rois;
    std::optional<d2b::roi_result> roi;
    if (rois.size() > 0) {
      figure::progress_line regions("ROIs");
      presets.rois.permutations = std::max<index_t>(o.permutations, 10000);
      presets.rois.bootstrap_samples = 0;  // error bars are Fig. 2's (fig2_top3_rois)
      presets.rois.differences = false;
      presets.rois.progress = regions.callback();
      roi = d2b::roi_analysis(models, rois, presets.rois);
      regions.finish();
    }

    // 6. Outputs.
    fs::create_directories(o.out);
    d2b::io::write_nifti(o.out / "functional_map.nii.gz", map.label_volume(where.mask, where.table),
                         where.mask.geometry());
    figure::write_map(o.out / "scores.nii.gz", where, result.scores);
    figure::write_map(o.out / "p.nii.gz", where, map.p.transpose());
    figure::write_map(o.out / "p_corrected.nii.gz", where, map.p_adjusted.transpose());
    d2b::io::write_csv(o.out / "searchlights.csv", figure::searchlight_table(where, result, map));
    if (o.model_table)
      d2b::io::write_csv(o.out / "searchlight_models.csv",
                         figure::searchlight_model_table(where, result));
    const d2b::palette colours = d2b::paper_palette(models);
    std::vector<std::string> groups;
    for (index_t d = 0; d < models.size(); ++d) {
      const index_t g = models.group_of_model(d);
      groups.push_back(g < 0 ? "" : models.groups()[std::size_t(g)].name);
    }
    figure::write_legend(o.out, models.names(), groups, colours.models, colours.not_significant,
                         map);

    const auto& shown = figure::roi_names(in);
    if (roi) {
      std::vector<std::string> roi_names, roi_model;
      std::vector<double> roi_score, roi_p, roi_p_best, roi_p_corrected, roi_subject_p, roi_lower,
          roi_upper;
      std::vector<int> roi_rank;
      for (index_t r = 0; r < rois.size(); ++r) {
        const std::vector<index_t> order = roi->ranking(r);
        for (std::size_t k = 0; k < order.size(); ++k) {
          const index_t d = order[k];
          roi_names.push_back(shown[std::size_t(r)]);
          roi_model.push_back(roi->models[std::size_t(d)]);
          roi_rank.push_back(int(k) + 1);
          roi_score.push_back(roi->scores(d, r));
          roi_p.push_back(roi->permutation.p_value(d, r));
          roi_p_corrected.push_back(roi->p_corrected(d, r));
          roi_p_best.push_back(roi->permutation.p_best[r]);
          roi_subject_p.push_back(figure::entry(roi->subject_p, d, r));
          roi_lower.push_back(roi->ceiling_lower[r]);
          roi_upper.push_back(roi->ceiling_upper[r]);
        }
      }
      d2b::io::table roi_table;
      roi_table.add("roi", roi_names)
          .add("rank", roi_rank)
          .add("model", roi_model)
          .add(std::string(d2b::score_name(roi->scoring.score)), roi_score)
          .add("p", roi_p)
          .add("p_corrected", roi_p_corrected)
          .add("p_best", roi_p_best)
          .add("subject_p", roi_subject_p)
          .add("noise_ceiling_lower", roi_lower)
          .add("noise_ceiling_upper", roi_upper);
      figure::write_table(o.out / "rois", roi_table);
    }

    // 7. The summary, and on the planted data how much of the truth came back.
    std::ostringstream summary;
    summary << "dnn2brain Fig. 1 on " << in.description << "\n"
            << where.table.size() << " searchlights ("
            << (std::holds_alternative<d2b::io::searchlight_beta_input>(in.data.searchlight)
                    ? "spheres of radius " + figure::format(radius) + " voxels"
                    : std::string("the data's"))
            << "), " << models.size() << " DNNs × " << models.layer_count() << " layers, "
            << o.permutations << " permutations: " << figure::format(analysis_seconds, 3) << " s, "
            << (presets.paper_procedures ? "the paper's procedures (--paper-compat)"
                                         : "the library's procedures")
            << "\nlabelled ("
            << (presets.paper_procedures
                    ? "the paper's two-stage FDR"
                    : "best DNN vs the null of the best of all DNNs, BH q = " + figure::format(q))
            << "): " << map.labelled() << "\n";
    bool recovered = true;
    if (in.planted) {
      std::vector<index_t> labels(std::size_t(map.searchlights())), naive_labels(labels.size());
      for (index_t t = 0; t < map.searchlights(); ++t) {
        labels[std::size_t(t)] = map.label[t];
        naive_labels[std::size_t(t)] = naive.label[t];
      }
      const d2b::simulate::recovery truth = d2b::simulate::score_map(*in.planted, labels);
      const d2b::simulate::recovery naive_truth =
          d2b::simulate::score_map(*in.planted, naive_labels);
      summary << "  planted group recovered: " << figure::format(100.0 * truth.group_recovery, 4)
              << " %\n"
              << "  planted DNN recovered: " << figure::format(100.0 * truth.model_recovery, 4)
              << " %\n"
              << "  power inside / core / rim: " << truth.power_inside << " / " << truth.power_core
              << " / " << truth.power_rim << "\n"
              << "  false positives in the noise region: " << 100.0 * truth.noise_false_positive
              << " %\n"
              << "the naive rule (the winner against its own null) for comparison: "
              << naive.labelled() << " labelled, " << 100.0 * naive_truth.noise_false_positive
              << " % of the noise region\n";
      // The acceptance bands of the planted-truth design (docs/simulate.md).
      recovered = truth.group_recovery >= 0.95 && truth.model_recovery >= 0.85 &&
                  truth.noise_false_positive <= 0.02;
    }
    if (roi) {
      summary << "ROIs (top 3 by " << d2b::score_name(roi->scoring.score)
              << " of the subject-mean RDM, " << presets.rois.permutations << " permutations"
              << (in.planted ? "; planted DNN in brackets" : "") << "):\n";
      bool rois_recovered = true;
      for (index_t r = 0; r < rois.size(); ++r) {
        const std::vector<index_t> order = roi->ranking(r);
        summary << "  " << shown[std::size_t(r)];
        if (in.planted) {
          const std::string& planted = in.planted->region_planted[std::size_t(r)];
          summary << " [" << (planted.empty() ? "none" : planted) << "]";
          if (!planted.empty() && roi->models[std::size_t(order.front())] != planted)
            rois_recovered = false;
        }
        summary << ":";
        for (std::size_t k = 0; k < 3 && k < order.size(); ++k)
          summary << " " << roi->models[std::size_t(order[k])] << " "
                  << figure::format(roi->scores(order[k], r)) << " (p "
                  << figure::format(roi->p_corrected(order[k], r)) << ")";
        summary << "\n";
      }
      if (in.planted) {
        summary << "  every planted ROI's best DNN is its planted DNN: "
                << (rois_recovered ? "yes" : "no") << "\n";
        recovered = recovered && rois_recovered;
      }
    }
    figure::finish_summary(o.out, summary.str(), start,
                           in.planted ? std::optional<bool>(recovered) : std::nullopt);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nfig1_functional_map: %s\n", e.what());
    return 2;
  }
}
