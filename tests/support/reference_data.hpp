// Reader for tests/reference/reference_values.txt, written by tests/reference/make_reference.py.
#ifndef DNN2BRAIN_TESTS_SUPPORT_REFERENCE_DATA_HPP
#define DNN2BRAIN_TESTS_SUPPORT_REFERENCE_DATA_HPP

#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

namespace dnn2brain::test {

using row_matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Every array of the reference file, by name (row-major as written).
inline const std::map<std::string, row_matrix>& reference_values() {
  static const std::map<std::string, row_matrix> values = [] {
    std::map<std::string, row_matrix> all;
    std::ifstream in(DNN2BRAIN_REFERENCE_FILE);
    if (!in) throw std::runtime_error("cannot open " DNN2BRAIN_REFERENCE_FILE);
    std::string name;
    while (in >> name) {
      if (name[0] == '#') {
        std::getline(in, name);
        continue;
      }
      Eigen::Index rows = 0, cols = 0;
      in >> rows >> cols;
      row_matrix a(rows, cols);
      for (Eigen::Index k = 0; k < a.size(); ++k) in >> a.data()[k];
      if (!in) throw std::runtime_error("truncated reference array " + name);
      all.emplace(name, std::move(a));
    }
    return all;
  }();
  return values;
}

inline const row_matrix& reference(const std::string& name) {
  const auto& all = reference_values();
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
