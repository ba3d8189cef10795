#ifndef DNN2BRAIN_CORE_CONCEPTS_HPP
#define DNN2BRAIN_CORE_CONCEPTS_HPP

#include <concepts>

#include <Eigen/Core>

namespace dnn2brain {

/// Any dense Eigen expression (matrix, vector, Map, block, product, ...) with a floating-point
/// Scalar (float or double; integer data must be converted by the caller): the input type of every
/// numeric function, taken as const Eigen::MatrixBase<Derived>& and read in place where its layout
/// allows.
template <typename Derived>
concept floating_eigen = std::derived_from<Derived, Eigen::MatrixBase<Derived>> &&
    std::floating_point<typename Derived::Scalar>;

}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_CONCEPTS_HPP
