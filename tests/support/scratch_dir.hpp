// A fresh empty directory for a test's files, removed at scope exit. The name carries the
// process id: ctest runs test cases as parallel processes, which must not share directories.
#ifndef DNN2BRAIN_TESTS_SUPPORT_SCRATCH_DIR_HPP
#define DNN2BRAIN_TESTS_SUPPORT_SCRATCH_DIR_HPP

#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace dnn2brain::test {

struct scratch_dir {
  std::filesystem::path path;

  explicit scratch_dir(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("dnn2brain-test-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

}  // namespace dnn2brain::test

#endif  // DNN2BRAIN_TESTS_SUPPORT_SCRATCH_DIR_HPP
