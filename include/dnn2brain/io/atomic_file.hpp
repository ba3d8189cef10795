#ifndef DNN2BRAIN_IO_ATOMIC_FILE_HPP
#define DNN2BRAIN_IO_ATOMIC_FILE_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <dnn2brain/core/error.hpp>

namespace dnn2brain::io {

/// A file that appears complete or not at all. The content goes to a temporary file in the
/// target's directory (same file system, so the final rename is atomic); commit() renames it over
/// the target. Destroyed without commit(), for instance while an exception unwinds, it removes
/// the temporary and leaves any previous target untouched.
///
/// The temporary's name ends with the target's own name, so C libraries that choose compression
/// or format by extension (nifti_clib and ".nii.gz") can write to temporary_path() directly.
class atomic_file {
 public:
  explicit atomic_file(std::filesystem::path target)
      : m_target(std::move(target)), m_temporary(temporary_name(m_target)) {
    if (m_target.filename().empty())
      dnn2brain::detail::throw_io_error(
          "atomic_file",
          "expected a file name, got the directory path '" + m_target.string() + "'");
  }

  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  ~atomic_file() {
    if (m_stream.is_open()) m_stream.close();
    if (!m_committed) {
      std::error_code ignored;
      std::filesystem::remove(m_temporary, ignored);
    }
  }

  /// The binary stream onto the temporary file, opened on first use.
  [[nodiscard]] std::ofstream& stream() {
    if (!m_stream.is_open()) {
      m_stream.open(m_temporary, std::ios::binary | std::ios::trunc);
      if (!m_stream)
        dnn2brain::detail::throw_io_error(
            "atomic_file",
            "cannot create '" + m_temporary.string() + "' next to '" + m_target.string() + "'");
    }
    return m_stream;
  }

  [[nodiscard]] const std::filesystem::path& target() const noexcept { return m_target; }
  [[nodiscard]] const std::filesystem::path& temporary_path() const noexcept { return m_temporary; }

  /// Flushes and closes the stream (if stream() was used), then renames the temporary over the
  /// target. Throws io_error if any write failed; the target is then left as it was.
  void commit() {
    if (m_stream.is_open()) {
      m_stream.flush();
      const bool good = m_stream.good();
      m_stream.close();
      if (!good || m_stream.fail())
        dnn2brain::detail::throw_io_error(
            "atomic_file", "writing '" + m_target.string() + "' failed (disk full?)");
    }
    std::error_code error;
    std::filesystem::rename(m_temporary, m_target, error);
    if (error)
      dnn2brain::detail::throw_io_error(
          "atomic_file", "cannot rename the finished temporary onto '" + m_target.string() +
                             "': " + error.message());
    m_committed = true;
  }

 private:
  static std::filesystem::path temporary_name(const std::filesystem::path& target) {
    static std::atomic<std::uint64_t> counter{0};
    const auto tick =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto thread = std::hash<std::thread::id>{}(std::this_thread::get_id());
    const std::string tag = ".dnn2brain-tmp-" + std::to_string(tick ^ thread) + "-" +
                            std::to_string(counter.fetch_add(1)) + "-";
    return target.parent_path() / (tag + target.filename().string());
  }

  std::filesystem::path m_target;
  std::filesystem::path m_temporary;
  std::ofstream m_stream;
  bool m_committed = false;
};

/// Writes `target` atomically: write(std::ostream&) fills the content; an exception from it, or
/// a failed write, leaves no file behind (and any previous target unchanged).
template <typename Writer>
void write_atomically(const std::filesystem::path& target, Writer&& write) {
  atomic_file file(target);
  std::forward<Writer>(write)(static_cast<std::ostream&>(file.stream()));
  file.commit();
}

}  // namespace dnn2brain::io

#endif  // DNN2BRAIN_IO_ATOMIC_FILE_HPP
