#ifndef DNN2BRAIN_ANALYSIS_HPP
#define DNN2BRAIN_ANALYSIS_HPP

#include <dnn2brain/analysis/ceiling.hpp>
#include <dnn2brain/analysis/functional_map.hpp>
#include <dnn2brain/analysis/model_set.hpp>
#include <dnn2brain/analysis/palette.hpp>
#include <dnn2brain/analysis/paper_tasks.hpp>
#include <dnn2brain/analysis/partition_analysis.hpp>
#include <dnn2brain/analysis/presets.hpp>
#include <dnn2brain/analysis/roi_analysis.hpp>
#include <dnn2brain/analysis/scoring.hpp>
#include <dnn2brain/analysis/searchlight_analysis.hpp>
#include <dnn2brain/analysis/task_similarity.hpp>

#endif  // DNN2BRAIN_ANALYSIS_HPP
