#ifndef DNN2BRAIN_SIMULATE_HPP
#define DNN2BRAIN_SIMULATE_HPP

#include <dnn2brain/simulate/analysis_inputs.hpp>
#include <dnn2brain/simulate/dataset.hpp>
#include <dnn2brain/simulate/layout.hpp>
#include <dnn2brain/simulate/models.hpp>
#include <dnn2brain/simulate/options.hpp>
#include <dnn2brain/simulate/score.hpp>

#endif  // DNN2BRAIN_SIMULATE_HPP
