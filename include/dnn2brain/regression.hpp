#ifndef DNN2BRAIN_REGRESSION_HPP
#define DNN2BRAIN_REGRESSION_HPP

#include <dnn2brain/regression/design.hpp>
#include <dnn2brain/regression/ols.hpp>
#include <dnn2brain/regression/variance_partitioning.hpp>

#endif  // DNN2BRAIN_REGRESSION_HPP
