// Reader for the reference files under tests/reference/: reference_values.txt (written by
// make_reference.py) and regression_values.txt (make_regression_reference.py).
#ifndef DNN2BRAIN_TESTS_SUPPORT_REFERENCE_DATA_HPP
#define DNN2BRAIN_TESTS_SUPPORT_REFERENCE_DATA_HPP

#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

namespace dnn2brain::test {

using row_matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Every array of a reference file, by name (row-major as written); each file is read once.
inline const std::map<std::string, row_matrix>& reference_values(
    const std::string& file = DNN2BRAIN_REFERENCE_FILE) {
  static std::map<std::string, std::map<std::string, row_matrix>> files;
  const auto cached = files.find(file);
  if (cached != files.end()) return cached->second;
  return files[file] = [&] {
    std::map<std::string, row_matrix> all;
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot open " + file);
    std::string name;
    while (in >> name) {
      if (name[0] == '#') {
        std::getline(in, name);
        continue;
      }
      Eigen::Index rows = 0, cols = 0;
      in >> rows >> cols;
      row_matrix a(rows, cols);
      // strtod, unlike operator>>, also reads the "nan" and "inf" Python writes.
      std::string token;
      for (Eigen::Index k = 0; k < a.size() && in >> token; ++k)
        a.data()[k] = std::strtod(token.c_str(), nullptr);
      if (!in) throw std::runtime_error("truncated reference array " + name);
      all.emplace(name, std::move(a));
    }
    return all;
  }();
}

inline const row_matrix& reference(const std::string& name,
                                   const std::string& file = DNN2BRAIN_REFERENCE_FILE) {
  const auto& all = reference_values(file);
  const auto it = all.find(name);
  if (it == all.end()) throw std::runtime_error("no reference array " + name);
  return it->second;
}

/// A reference array as a column vector (for condensed RDMs and RDM vectors).
inline Eigen::VectorXd reference_vector(const std::string& name) {
  return reference(name).reshaped<Eigen::RowMajor>();
}

}  // namespace dnn2brain::test

#endif
