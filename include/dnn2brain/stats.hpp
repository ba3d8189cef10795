#ifndef DNN2BRAIN_STATS_HPP
#define DNN2BRAIN_STATS_HPP

#include <dnn2brain/stats/bootstrap.hpp>
#include <dnn2brain/stats/multiple_comparisons.hpp>
#include <dnn2brain/stats/noise_ceiling.hpp>
#include <dnn2brain/stats/paper.hpp>
#include <dnn2brain/stats/permutation.hpp>
#include <dnn2brain/stats/random.hpp>
#include <dnn2brain/stats/statistic.hpp>
#include <dnn2brain/stats/ttest.hpp>

#endif  // DNN2BRAIN_STATS_HPP
