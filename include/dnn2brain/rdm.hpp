#ifndef DNN2BRAIN_RDM_HPP
#define DNN2BRAIN_RDM_HPP

#include <dnn2brain/rdm/compute_rdm.hpp>
#include <dnn2brain/rdm/condition_map.hpp>
#include <dnn2brain/rdm/crossnobis.hpp>
#include <dnn2brain/rdm/rank_transform.hpp>
#include <dnn2brain/rdm/squareform.hpp>

#endif  // DNN2BRAIN_RDM_HPP
