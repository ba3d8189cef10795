#ifndef DNN2BRAIN_SIMULATE_DETAIL_XTENSOR_COMPAT_HPP
#define DNN2BRAIN_SIMULATE_DETAIL_XTENSOR_COMPAT_HPP
// IWYU pragma: private

// xt::xtensor: <xtensor/xtensor.hpp> up to 0.25 (Debian 12 ships 0.24), a sub-folder in 0.26.
#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xtensor.hpp>
#else
#include <xtensor/xtensor.hpp>
#endif

#endif  // DNN2BRAIN_SIMULATE_DETAIL_XTENSOR_COMPAT_HPP
