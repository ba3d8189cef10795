#ifndef DNN2BRAIN_SEARCHLIGHT_HPP
#define DNN2BRAIN_SEARCHLIGHT_HPP

#include <dnn2brain/searchlight/brain_mask.hpp>
#include <dnn2brain/searchlight/geometry.hpp>
#include <dnn2brain/searchlight/neighbor_table.hpp>
#include <dnn2brain/searchlight/neighborhood.hpp>
#include <dnn2brain/searchlight/paint.hpp>
#include <dnn2brain/searchlight/searchlight_rdms.hpp>

#endif  // DNN2BRAIN_SEARCHLIGHT_HPP
