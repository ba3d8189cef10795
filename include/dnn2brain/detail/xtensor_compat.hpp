#ifndef DNN2BRAIN_DETAIL_XTENSOR_COMPAT_HPP
#define DNN2BRAIN_DETAIL_XTENSOR_COMPAT_HPP
// IWYU pragma: private

// xtensor <= 0.25 (Debian 12 ships 0.24) has flat include paths; 0.26 moved the headers into
// sub-folders. Only this file knows.
#if __has_include(<xtensor/containers/xarray.hpp>)
#include <xtensor/containers/xarray.hpp>
#include <xtensor/core/xexpression.hpp>
#else
#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#endif

#endif  // DNN2BRAIN_DETAIL_XTENSOR_COMPAT_HPP
