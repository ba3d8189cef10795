#ifndef DNN2BRAIN_SIMULATE_ANALYSIS_INPUTS_HPP
#define DNN2BRAIN_SIMULATE_ANALYSIS_INPUTS_HPP

#include <cstddef>

#include <dnn2brain/config.hpp>

#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/paper_tasks.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/core/rdm_stack.hpp>
#include <dnn2brain/metrics/correlation.hpp>
#include <dnn2brain/rdm/compute_rdm.hpp>
#include <dnn2brain/simulate/dataset.hpp>
#include <dnn2brain/simulate/models.hpp>

namespace dnn2brain::simulate {

/// \brief The 19 DNNs as the analyses take them: each layer's RDM from its activations as the
/// paper makes Taskonomy RDMs (1 − Pearson r after centring every unit over the stimuli), and
/// the paper's 2D, 3D and semantic groups.
[[nodiscard]] inline model_set make_model_set(const models& dnns) {
  model_set set(dnns.layers);
  const metric::correlation centred{.center_features = true};
  for (std::size_t d = 0; d < dnns.names.size(); ++d)
    for (std::size_t l = 0; l < dnns.layers.size(); ++l)
      set.add_activations(dnns.names[d], dnns.layers[l], dnns.activations[d][l], centred);
  for (const auto& group : paper::task_groups()) set.add_group(group.name, group.members);
  return set;
}

/// \brief Every ROI of the dataset (roi_names order) with each subject's RDM of its voxels
/// (1 − Pearson r between the stimuli's patterns).
[[nodiscard]] inline roi_set make_roi_set(const dataset& data) {
  roi_set rois;
  for (index_t r = 0; r < index_t(data.roi_names.size()); ++r) {
    rdm_stack<float> subjects(data.settings.stimuli, data.settings.subjects);
    for (index_t s = 0; s < subjects.size(); ++s)
      subjects.set(s, compute_rdm(data.roi_patterns(s, r)));
    rois.add(data.roi_names[std::size_t(r)], subjects);
  }
  return rois;
}

}  // namespace dnn2brain::simulate

#endif  // DNN2BRAIN_SIMULATE_ANALYSIS_INPUTS_HPP
