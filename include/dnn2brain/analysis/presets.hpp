#ifndef DNN2BRAIN_ANALYSIS_PRESETS_HPP
#define DNN2BRAIN_ANALYSIS_PRESETS_HPP

#include <cstdint>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/ceiling.hpp>
#include <dnn2brain/analysis/functional_map.hpp>
#include <dnn2brain/analysis/partition_analysis.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/analysis/scoring.hpp>
#include <dnn2brain/analysis/searchlight_analysis.hpp>
#include <dnn2brain/stats/paper.hpp>

namespace dnn2brain {

/// \brief The options of every analysis behind the paper's figures, as one set:
/// analysis_presets::defaults() (the library's procedures) or analysis_presets::paper() (those of
/// Dwivedi et al.'s code, to reproduce its numbers). docs/analysis.md sets the two side by side.
struct analysis_presets {
  /// Every model on every ROI (Fig. 1's ROI table, Fig. 2's ranking).
  roi_options rois{};
  /// Fig. 2: the top 3 models per ROI and their variance partitioning.
  partition_analysis_options top3{};
  /// Fig. 3b: variance partitioning among the groups per ROI.
  partition_analysis_options grouped{};
  /// Fig. 1: every model on every searchlight, and the map of the best.
  searchlight_analysis_options searchlight{};
  map_options map{};
  /// Fig. 3a: the groups' unique variance on every searchlight, and the map of the best group.
  searchlight_analysis_options grouped_searchlight{};
  map_options grouped_map{};
  /// Whether these are the paper's procedures: its figures then report the p-values of
  /// paper::fdr_within_targets (BH within each ROI or searchlight, differences counted in the
  /// observed direction) rather than the corrections across ROIs.
  bool paper_procedures = false;

  /// \brief The library's defaults: condition-label permutations, adjusted R², bootstrap error
  /// bars, corrections across ROIs × models, and maps labelled where the best model (group)
  /// beats the null of the best of all (BH across searchlights). Fig. 3a scores the groups by
  /// their unique variance, as the paper does.
  [[nodiscard]] static analysis_presets defaults() {
    analysis_presets p;
    p.grouped_searchlight.score = {.score = model_score::unique_variance};
    p.grouped_searchlight.groups = true;
    return p;
  }

  /// \brief The paper's procedures (DESIGN §4.8, paper-spec §6–§9): the RDM entries permuted
  /// (10,000 times), models ranked and mapped by R = √max(adjusted R², 0), error bars from
  /// subsamples of 45 of 50 conditions with the summed joint models, BH within each ROI or
  /// searchlight and then, for maps, per model across the searchlights whose lower noise ceiling
  /// (Spearman ρ of raw-mean RDMs) exceeds 0.033; Fig. 3a also requires the best group's largest
  /// within-searchlight difference p to survive BH across those searchlights. The ROIs have no
  /// noise ceilings in the paper; they are kept here, on the paper's scale.
  [[nodiscard]] static analysis_presets paper() {
    analysis_presets p = defaults();
    p.paper_procedures = true;
    const ceiling_options paper_ceiling{.compute = true,
                                        .measure = ceiling_measure::spearman,
                                        .squared = false,
                                        .pooling = rdm_pooling::raw_mean};
    p.rois.score = {.score = model_score::multiple_r};
    p.rois.scheme = permutation_scheme::pairs;
    p.rois.error_bars = error_bar_method::paper_subsamples;
    p.rois.ceiling = paper_ceiling;
    for (partition_analysis_options* o : {&p.top3, &p.grouped}) {
      o->rank_by = {.score = model_score::multiple_r};
      o->scheme = permutation_scheme::pairs;
      o->selection_adjusted = false;
      o->error_bars = error_bar_method::paper_subsamples;
    }
    for (searchlight_analysis_options* o : {&p.searchlight, &p.grouped_searchlight}) {
      o->scheme = permutation_scheme::pairs;
      o->ceiling = paper_ceiling;
    }
    p.searchlight.score = {.score = model_score::multiple_r};
    p.grouped_searchlight.differences = true;
    for (map_options* m : {&p.map, &p.grouped_map}) {
      m->selection = map_selection::within_then_across;
      m->noise_ceiling_threshold = paper::noise_ceiling_threshold;
    }
    p.grouped_map.runner_up = runner_up_test::paper_differences;
    p.with(10000, 0);
    return p;
  }

  /// Sets every analysis's permutation count and seed; under the paper's procedures also the
  /// subsample count of the error bars (the paper draws as many as it permutes).
  analysis_presets& with(index_t permutations, std::uint64_t seed) {
    rois.permutations = permutations;
    rois.seed = seed;
    for (partition_analysis_options* o : {&top3, &grouped}) {
      o->permutations = permutations;
      o->seed = seed;
    }
    for (searchlight_analysis_options* o : {&searchlight, &grouped_searchlight}) {
      o->permutations = permutations;
      o->seed = seed;
    }
    if (paper_procedures)  // the paper draws as many subsamples as permutations
      for (index_t* samples :
           {&rois.bootstrap_samples, &top3.bootstrap_samples, &grouped.bootstrap_samples})
        *samples = permutations;
    return *this;
  }
};

}  // namespace dnn2brain

#endif  // DNN2BRAIN_ANALYSIS_PRESETS_HPP
