#ifndef DNN2BRAIN_METRICS_HPP
#define DNN2BRAIN_METRICS_HPP

#include <dnn2brain/metrics/correlation.hpp>
#include <dnn2brain/metrics/cosine.hpp>
#include <dnn2brain/metrics/crossnobis.hpp>
#include <dnn2brain/metrics/euclidean.hpp>
#include <dnn2brain/metrics/gram_recipe.hpp>
#include <dnn2brain/metrics/mahalanobis.hpp>
#include <dnn2brain/metrics/spearman.hpp>

#endif  // DNN2BRAIN_METRICS_HPP
