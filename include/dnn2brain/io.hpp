#ifndef DNN2BRAIN_IO_HPP
#define DNN2BRAIN_IO_HPP

// The optional I/O component (CMake target dnn2brain::io).
#include <dnn2brain/io/atomic_file.hpp>
#include <dnn2brain/io/dataset.hpp>
#include <dnn2brain/io/mat.hpp>
#include <dnn2brain/io/neighbor_table.hpp>
#include <dnn2brain/io/nifti.hpp>
#include <dnn2brain/io/npy.hpp>
#include <dnn2brain/io/npz.hpp>
#include <dnn2brain/io/table.hpp>

#endif  // DNN2BRAIN_IO_HPP
