#ifndef DNN2BRAIN_SIMULATE_SCORE_HPP
#define DNN2BRAIN_SIMULATE_SCORE_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dnn2brain/analysis/paper_tasks.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/simulate/layout.hpp>
#include <dnn2brain/simulate/models.hpp>

namespace dnn2brain::simulate {

/// How much of the planted truth a labelled map recovers (synthetic.md §2 "Truth labels", §3).
/// A share whose denominator is empty (no discoveries, no rim centres, ...) is NaN.
struct recovery {
  /// Labelled centres.
  index_t discoveries = 0;
  /// Share of inside / core (a ≥ 0.7) / rim (a < 0.5) centres labelled.
  double power_inside = 0.0, power_core = 0.0, power_rim = 0.0;
  /// Of the labelled inside centres: label in the planted DNN's group (paper::task_groups;
  /// random is its own group).
  double group_recovery = 0.0;
  /// Of the labelled inside centres: label == planted DNN.
  double model_recovery = 0.0;
  /// Share of noise-zone centres labelled.
  double noise_false_positive = 0.0;
  /// Share of the discoveries in the noise zone.
  double noise_share = 0.0;
  /// The planted regions (layout::roi_names without control) and, per region, the share of its
  /// centres labelled and, of those, the share labelled with its DNN.
  std::vector<std::string> region_names;
  std::vector<double> region_power, region_model_recovery;
};

/// \brief Scores a labelled map against the truth.
/// \param labels one entry per in-mask centre (mask column order): an index into models::names
///               (paper::tasks order), or −1 for unlabelled (not significant).
/// \throws invalid_argument if labels has not mask.size() entries or holds a value outside
///         [−1, 19).
[[nodiscard]] inline recovery score_map(const layout& truth_of, std::span<const index_t> labels) {
  constexpr const char* function = "simulate::score_map";
  const truth& t = truth_of.truth;
  const index_t voxels = index_t(t.zones.size());
  if (index_t(labels.size()) != voxels)
    dnn2brain::detail::throw_invalid_argument(
        function, dnn2brain::detail::concat("expected one label per mask voxel (", voxels,
                                            "), got ", labels.size()));
  const auto model_count = index_t(paper::tasks.size());
  for (std::size_t c = 0; c < labels.size(); ++c)
    if (labels[c] < -1 || labels[c] >= model_count)
      dnn2brain::detail::throw_invalid_argument(
          function, dnn2brain::detail::concat("expected labels in [-1, ", model_count, "), got ",
                                              labels[c], " at centre ", c));
  std::vector<int> group(paper::tasks.size());
  for (std::size_t d = 0; d < group.size(); ++d) group[d] = group_of(paper::tasks[d]);

  const auto share = [](index_t part, index_t whole) {
    return whole > 0 ? double(part) / double(whole) : std::numeric_limits<double>::quiet_NaN();
  };
  index_t discoveries = 0, inside = 0, inside_hit = 0, core = 0, core_hit = 0, rim = 0, rim_hit = 0,
          same_group = 0, same_model = 0, noise = 0, noise_hit = 0;
  const std::size_t regions = truth_of.roi_names.size();
  std::vector<index_t> region_size(regions, 0), region_hit(regions, 0), region_model(regions, 0);
  for (index_t c = 0; c < voxels; ++c) {
    const index_t label = labels[std::size_t(c)];
    const bool hit = label >= 0;
    discoveries += hit;
    switch (t.zones[std::size_t(c)]) {
      case truth::zone::noise:
        ++noise;
        noise_hit += hit;
        break;
      case truth::zone::border:
        break;
      case truth::zone::inside: {
        const double a = t.amplitude(c);
        const auto r = std::size_t(t.region(c));
        ++inside;
        ++region_size[r];
        core += a >= 0.7;
        rim += a < 0.5;
        if (!hit) break;
        ++inside_hit;
        ++region_hit[r];
        core_hit += a >= 0.7;
        rim_hit += a < 0.5;
        same_group += group[std::size_t(label)] == group[std::size_t(t.model(c))];
        same_model += label == t.model(c);
        region_model[r] += label == t.model(c);
        break;
      }
    }
  }
  recovery out;
  out.discoveries = discoveries;
  out.power_inside = share(inside_hit, inside);
  out.power_core = share(core_hit, core);
  out.power_rim = share(rim_hit, rim);
  out.group_recovery = share(same_group, inside_hit);
  out.model_recovery = share(same_model, inside_hit);
  out.noise_false_positive = share(noise_hit, noise);
  out.noise_share = share(noise_hit, discoveries);
  for (std::size_t r = 0; r < regions; ++r) {
    if (truth_of.region_planted[r].empty()) continue;
    out.region_names.push_back(truth_of.roi_names[r]);
    out.region_power.push_back(share(region_hit[r], region_size[r]));
    out.region_model_recovery.push_back(share(region_model[r], region_hit[r]));
  }
  return out;
}

/// \brief Scores a map of groups (Fig. 3a) against the truth: labels index paper::task_groups()
/// (2D, 3D, semantic) or are −1. group_recovery is the share of labelled inside centres labelled
/// with their planted DNN's group; the DNN recoveries are NaN (a group names no DNN).
/// \throws invalid_argument if labels has not mask.size() entries or holds a value outside
///         [−1, 3).
[[nodiscard]] inline recovery score_group_map(const layout& truth_of,
                                              std::span<const index_t> labels) {
  const auto groups = paper::task_groups();
  std::vector<index_t> as_models(labels.size());
  for (std::size_t c = 0; c < labels.size(); ++c) {
    if (labels[c] < -1 || labels[c] >= index_t(groups.size()))
      dnn2brain::detail::throw_invalid_argument(
          "simulate::score_group_map",
          dnn2brain::detail::concat("expected labels in [-1, ", groups.size(), "), got ", labels[c],
                                    " at centre ", c));
    // A group stands for its first member: score_map compares the members' groups.
    if (labels[c] < 0) {
      as_models[c] = -1;
      continue;
    }
    const std::string_view first = groups[std::size_t(labels[c])].members.front();
    as_models[c] =
        index_t(std::find(paper::tasks.begin(), paper::tasks.end(), first) - paper::tasks.begin());
  }
  recovery out = score_map(truth_of, as_models);
  out.model_recovery = std::numeric_limits<double>::quiet_NaN();
  for (double& r : out.region_model_recovery) r = std::numeric_limits<double>::quiet_NaN();
  return out;
}

/// A few lines summarising a recovery, in synthetic.md §3's terms (shares as percentages).
[[nodiscard]] inline std::string to_string(const recovery& r) {
  const auto percent = [](double x) {
    if (std::isnan(x)) return std::string("-");
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f %%", 100.0 * x);
    return std::string(buffer);
  };
  std::string out = dnn2brain::detail::concat(
      r.discoveries, " discoveries; power inside ", percent(r.power_inside), " (core ",
      percent(r.power_core), ", rim ", percent(r.power_rim), ")\ngroup recovery ",
      percent(r.group_recovery), ", DNN recovery ", percent(r.model_recovery),
      ", noise false positives ", percent(r.noise_false_positive), ", noise share ",
      percent(r.noise_share), "\nper region (power / DNN recovery):");
  for (std::size_t i = 0; i < r.region_names.size(); ++i)
    out += dnn2brain::detail::concat(" ", r.region_names[i], " ", percent(r.region_power[i]), " / ",
                                     percent(r.region_model_recovery[i]),
                                     i + 1 < r.region_names.size() ? ";" : "");
  return out;
}

}  // namespace dnn2brain::simulate

#endif  // DNN2BRAIN_SIMULATE_SCORE_HPP
