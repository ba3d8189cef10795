#ifndef DNN2BRAIN_COMPARE_HPP
#define DNN2BRAIN_COMPARE_HPP

#include <dnn2brain/compare/compare.hpp>
#include <dnn2brain/compare/cosine.hpp>
#include <dnn2brain/compare/kendall.hpp>
#include <dnn2brain/compare/partial.hpp>
#include <dnn2brain/compare/pearson.hpp>
#include <dnn2brain/compare/spearman.hpp>

#endif  // DNN2BRAIN_COMPARE_HPP
