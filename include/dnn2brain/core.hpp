#ifndef DNN2BRAIN_CORE_HPP
#define DNN2BRAIN_CORE_HPP

#include <dnn2brain/config.hpp>
#include <dnn2brain/core/concepts.hpp>
#include <dnn2brain/core/condensed.hpp>
#include <dnn2brain/core/error.hpp>
#include <dnn2brain/core/patterns.hpp>
#include <dnn2brain/core/rdm.hpp>
#include <dnn2brain/core/rdm_stack.hpp>

#endif  // DNN2BRAIN_CORE_HPP
