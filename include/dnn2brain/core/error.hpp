#ifndef DNN2BRAIN_CORE_ERROR_HPP
#define DNN2BRAIN_CORE_ERROR_HPP

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <dnn2brain/config.hpp>

namespace dnn2brain {

/// Thrown when an argument breaks a documented precondition (shape mismatch, too few conditions,
/// NaN where finite values are required, ...). what() reads
/// "dnn2brain::<function>: <what was expected>, got <what came>".
class invalid_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown for unreadable, truncated or mislabelled files; what() names the file and the field.
class io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace io {
/// The readers and writers live in dnn2brain::io; their exception is dnn2brain::io_error, also
/// reachable under this name.
using dnn2brain::io_error;
}  // namespace io

/// Outcome of a numerically delicate computation. Returned in results, never thrown
/// (the pattern of Eigen's ComputationInfo and Spectra's CompInfo).
enum class status {
  success,           ///< every value is defined
  degenerate_input,  ///< some input has no variance (e.g. a constant pattern); affected values are
                     ///< NaN
  rank_deficient,    ///< a design matrix does not have full column rank
};

/// What to do with NaN values, or with inputs that would produce them.
enum class nan_policy {
  raise,      ///< throw dnn2brain::invalid_argument naming the offending entry
  omit,       ///< leave out every pair where either operand is NaN (rsatoolbox / mne-rsa behaviour)
  propagate,  ///< let NaN flow into the result (numpy behaviour)
};

namespace detail {

/// Builds the message text of an exception from any streamable parts.
template <typename... Parts>
[[nodiscard]] std::string concat(const Parts&... parts) {
  std::ostringstream os;
  os.precision(17);
  (os << ... << parts);
  return os.str();
}

// Out of line and cold so that throw sites do not bloat hot loops.
[[noreturn]] DNN2BRAIN_COLD inline void throw_invalid_argument(const char* function,
                                                               const std::string& problem) {
  throw invalid_argument(std::string("dnn2brain::") + function + ": " + problem);
}

[[noreturn]] DNN2BRAIN_COLD inline void throw_io_error(const char* function,
                                                       const std::string& problem) {
  throw io_error(std::string("dnn2brain::") + function + ": " + problem);
}

}  // namespace detail
}  // namespace dnn2brain

#endif  // DNN2BRAIN_CORE_ERROR_HPP
