// Fig. 2 of Dwivedi et al. (2021): which three DNNs explain each ROI best, and how much variance
// each explains uniquely?
//
// Every DNN is fitted to the subject-mean RDM of every ROI (adjusted R² of its block4 and
// encoder-output RDMs), tested with condition-label permutations and by subjects, bootstrapped
// over conditions, and set against the ROI's noise ceiling. The three best DNNs of each ROI are
// then partitioned: the variance each explains uniquely and what they share, with permutation
// p-values that account for choosing the three on the same data (selection-adjusted), the
// fixed-set p-values, the pairwise differences of unique variance, bootstrap intervals and
// subject-level t-tests, all corrected across ROIs. --paper-compat runs the paper's procedures
// instead (R ranking, entry permutations, 45-of-50 subsampled error bars, BH within each ROI).
//
// With no --data it runs on the planted-truth dataset and reports whether each planted ROI's DNN
// comes first. Outputs: rankings.csv/json (every DNN on every ROI), top3.csv/json (the bars),
// fractions.csv/json (all seven fractions per ROI), pairs.csv/json (the pairwise tests) and
// summary.txt.
//
// Usage: fig2_top3_rois [--data DIR] [--out DIR] [--paper-compat] [--permutations N] ...
#include "figure_common.hpp"

#include <algorithm>
#include <sstream>

namespace {

using figure::d2b::index_t;
namespace d2b = figure::d2b;
namespace fs = figure::fs;

}  // namespace

int main(int argc, char** argv) {
  figure::common_options o;
  o.out = "dnn2brain-fig2";
  o.permutations = 10000;
  CLI::App app{"Fig. 2 of Dwivedi et al. (2021): the top-3 DNNs per ROI and their unique variance"};
  figure::add_common_options(app, o);
  index_t top = 3;
  app.add_option("--top", top, "DNNs partitioned per ROI")
      ->capture_default_str()
      ->check(CLI::Range(1, 10));
  CLI11_PARSE(app, argc, argv);
  figure::use_threads(o.threads);
  const auto start = figure::clock_type::now();

  try {
    const figure::inputs in = figure::load_inputs(o, false);
    const d2b::model_set& models = in.data.models;
    const d2b::roi_set& rois = in.data.rois;
    if (rois.size() == 0)
      throw std::runtime_error(
          "the data hold no ROI (rois/ or the paper's "
          "kastner_ROIs_RDMs_pearson/)");
    d2b::analysis_presets presets = figure::presets(o);
    presets.top3.top = top;
    const auto& shown = figure::roi_names(in);

    // 1. Every DNN on every ROI: the ranking, with its own inference.
    figure::progress_line scoring("every DNN on every ROI");
    presets.rois.progress = scoring.callback();
    const d2b::roi_result scores = d2b::roi_analysis(models, rois, presets.rois);
    scoring.finish();

    // 2. The top k of each ROI, partitioned.
    figure::progress_line partitioning("top-" + std::to_string(top) + " variance partitioning");
    presets.top3.progress = partitioning.callback();
    const d2b::partition_analysis_result parts =
        d2b::top_k_partitioning(models, rois, scores, presets.top3);
    partitioning.finish();

    const figure::partition_p p_values(parts, presets.paper_procedures);

    // 3. Tables.
    fs::create_directories(o.out);
    const d2b::palette colours = d2b::paper_palette(models);
    const auto group_name = [&](index_t d) {
      const index_t g = models.group_of_model(d);
      return g < 0 ? std::string() : models.groups()[std::size_t(g)].name;
    };
    const auto at = figure::entry;
    const auto at_row = [](const Eigen::RowVectorXd& m, index_t j) {
      return m.size() == 0 ? std::numeric_limits<double>::quiet_NaN() : m[j];
    };
    {
      std::vector<std::string> roi, model, display, group;
      std::vector<int> rank;
      std::vector<double> score, se, lower, upper, p, p_corrected, subject_p, ceiling_lower,
          ceiling_upper;
      for (index_t r = 0; r < rois.size(); ++r) {
        const std::vector<index_t> order = scores.ranking(r);
        for (std::size_t k = 0; k < order.size(); ++k) {
          const index_t d = order[k];
          roi.push_back(shown[std::size_t(r)]);
          rank.push_back(int(k) + 1);
          model.push_back(models.names()[std::size_t(d)]);
          display.push_back(d2b::paper::display_name(model.back()));
          group.push_back(group_name(d));
          score.push_back(scores.scores(d, r));
          se.push_back(at(scores.bootstrap.standard_error, d, r));
          lower.push_back(at(scores.bootstrap.lower, d, r));
          upper.push_back(at(scores.bootstrap.upper, d, r));
          p.push_back(at(scores.permutation.p_value, d, r));
          p_corrected.push_back(at(scores.p_corrected, d, r));
          subject_p.push_back(at(scores.subject_p, d, r));
          ceiling_lower.push_back(at_row(scores.ceiling_lower, r));
          ceiling_upper.push_back(at_row(scores.ceiling_upper, r));
        }
      }
      d2b::io::table t;
      t.add("roi", roi)
          .add("rank", rank)
          .add("model", model)
          .add("display_name", display)
          .add("group", group)
          .add(std::string(d2b::score_name(scores.scoring.score)), score)
          .add(presets.paper_procedures ? "subsample_sd" : "bootstrap_se", se)
          .add("ci_lower", lower)
          .add("ci_upper", upper)
          .add("p", p)
          .add("p_corrected", p_corrected)
          .add("subject_p", subject_p)
          .add("noise_ceiling_lower", ceiling_lower)
          .add("noise_ceiling_upper", ceiling_upper);
      figure::write_table(o.out / "rankings", t);
    }
    figure::write_table(o.out / "top3", figure::bar_table(parts, p_values, shown, colours.models,
                                                          presets.paper_procedures));
    figure::write_table(o.out / "fractions",
                        figure::fraction_table(parts, shown, presets.paper_procedures));
    figure::write_table(o.out / "pairs", figure::pair_table(parts, p_values, shown));

    // 4. The summary: a panel per ROI, as the paper's figure.
    std::ostringstream text;
    text << "dnn2brain Fig. 2 on " << in.description << "\n"
         << models.size() << " DNNs × " << models.layer_count() << " layers, " << rois.size()
         << " ROIs × " << rois.subjects() << " subjects, " << o.permutations << " permutations, "
         << (presets.paper_procedures ? "the paper's procedures (--paper-compat)"
                                      : "the library's procedures")
         << "\n";
    bool recovered = true;
    for (index_t r = 0; r < rois.size(); ++r) {
      text << shown[std::size_t(r)] << ": R² of the top " << parts.k << " = "
           << figure::format(parts.total()[r]);
      if (scores.ceiling_lower.size() > 0)
        text << " (noise ceiling of one subject's RDM, "
             << (scores.ceiling.measure == d2b::ceiling_measure::spearman  ? "Spearman"
                 : scores.ceiling.measure == d2b::ceiling_measure::pearson ? "Pearson"
                                                                           : "Kendall")
             << (scores.ceiling.squared.value_or(false) ? " r²" : " r") << ": ["
             << figure::format(scores.ceiling_lower[r]) << ", "
             << figure::format(scores.ceiling_upper[r]) << "])";
      text << "\n";
      figure::describe_panel(text, parts, p_values, r);
      if (in.planted) {
        const std::string& planted = in.planted->region_planted[std::size_t(r)];
        if (!planted.empty() && parts.name(0, r) != planted) recovered = false;
        text << "  planted: " << (planted.empty() ? "nothing" : planted) << "\n";
      }
    }
    if (in.planted)
      text << "every planted ROI's first DNN is its planted DNN: " << (recovered ? "yes" : "no")
           << "\n";
    figure::finish_summary(o.out, text.str(), start,
                           in.planted ? std::optional<bool>(recovered) : std::nullopt);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nfig2_top3_rois: %s\n", e.what());
    return 2;
  }
}
