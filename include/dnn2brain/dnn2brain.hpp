#ifndef DNN2BRAIN_DNN2BRAIN_HPP
#define DNN2BRAIN_DNN2BRAIN_HPP

#include <dnn2brain/analysis.hpp>
#include <dnn2brain/compare.hpp>
#include <dnn2brain/core.hpp>
#include <dnn2brain/metrics.hpp>
#include <dnn2brain/rdm.hpp>
#include <dnn2brain/regression.hpp>
#include <dnn2brain/searchlight.hpp>
#include <dnn2brain/stats.hpp>

#endif  // DNN2BRAIN_DNN2BRAIN_HPP
