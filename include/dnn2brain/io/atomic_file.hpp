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
#include <dnn2brain/io/detail/binary_file.hpp>

namespace dnn2brain::io {

/// A file that appears complete or not at all. The content goes to a temporary file in the
/// directory of the file it replaces (same file system, so the final rename is atomic); commit()
/// renames it over that file. Destroyed without commit(), for instance while an exception
/// unwinds, it removes the temporary and leaves any previous file untouched.
///
/// What the target may be (checked at construction, before anything is written, and again at
/// commit()):
/// - a new name in an existing directory: the file is created, with the umask's default mode;
/// - an existing regular file: it is replaced, and keeps its permission bits (rwx for user,
///   group and others; set-user-ID, set-group-ID and sticky bits are dropped). Ownership is that
///   of the writing process, and other hard links keep the old content, as with any rename;
/// - a symbolic link, or a chain of them: followed to the file it finally names, which is then
///   replaced or created as above (the temporary goes next to that file). The links are kept. A
///   dangling link is written through: the file it points to is created (as the shell's `>` and
///   open(O_CREAT) do; GNU cp refuses instead), provided its directory exists;
/// - anything else (a directory, a FIFO, a socket, a character or block device, a chain of more
///   than 40 links) is refused with io_error: renaming over it would replace it by a regular
///   file, and writing into it would not be atomic.
///
/// The temporary's name ends with the final file's own name, so C libraries that choose
/// compression or format by extension (nifti_clib and ".nii.gz") can write to temporary_path()
/// directly.
class atomic_file {
 public:
  /// \throws io_error if `target` names no file (ends in a separator) or names something other
  /// than a regular file (see the class documentation).
  explicit atomic_file(std::filesystem::path target)
      : m_target(std::move(target)),
        m_destination(resolve(m_target)),
        m_temporary(temporary_name(m_destination)) {}

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

  /// The path as given.
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return m_target; }
  /// The file commit() replaces or creates: target() with symbolic links followed.
  [[nodiscard]] const std::filesystem::path& destination() const noexcept { return m_destination; }
  [[nodiscard]] const std::filesystem::path& temporary_path() const noexcept { return m_temporary; }

  /// Flushes and closes the stream (if stream() was used), gives the temporary the permission
  /// bits of the file it replaces, then renames it over destination(). Throws io_error if any
  /// write failed or destination() has meanwhile become something other than a regular file;
  /// the target is then left as it was.
  void commit() {
    if (m_stream.is_open()) {
      m_stream.flush();
      const bool good = m_stream.good();
      m_stream.close();
      if (!good || m_stream.fail())
        dnn2brain::detail::throw_io_error(
            "atomic_file", "writing '" + m_target.string() + "' failed (disk full?)");
    }
    namespace fs = std::filesystem;
    std::error_code error;
    const fs::file_status existing = fs::symlink_status(m_destination, error);
    if (existing.type() == fs::file_type::regular) {
      constexpr auto rwx = fs::perms::owner_all | fs::perms::group_all | fs::perms::others_all;
      fs::permissions(m_temporary, existing.permissions() & rwx, fs::perm_options::replace, error);
      if (error)
        dnn2brain::detail::throw_io_error("atomic_file",
                                          "cannot give the temporary the permissions of '" +
                                              m_destination.string() + "': " + error.message());
    } else if (existing.type() != fs::file_type::not_found) {
      refuse(m_target, m_destination, existing.type());
    }
    fs::rename(m_temporary, m_destination, error);
    if (error)
      dnn2brain::detail::throw_io_error(
          "atomic_file", "cannot rename the finished temporary onto '" + m_target.string() +
                             "': " + error.message());
    m_committed = true;
  }

 private:
  /// Longest chain of symbolic links followed (Linux's MAXSYMLINKS).
  static constexpr int max_links = 40;

  [[noreturn]] static void refuse(const std::filesystem::path& target,
                                  const std::filesystem::path& destination,
                                  std::filesystem::file_type type) {
    std::string where = "'" + target.string() + "'";
    if (destination != target) where += " (through symbolic links: '" + destination.string() + "')";
    dnn2brain::detail::throw_io_error(
        "atomic_file", "expected a regular file or a new file name to write, got " + where +
                           ", which is " + detail::file_type_name(type));
  }

  /// The file a write to `target` must replace or create: `target` with symbolic links followed.
  /// Only the last component is resolved here; the system resolves directories on the way.
  static std::filesystem::path resolve(const std::filesystem::path& target) {
    namespace fs = std::filesystem;
    const auto names_file = [](const fs::path& p) {
      const fs::path name = p.filename();
      return !name.empty() && name != "." && name != "..";
    };
    if (!names_file(target))
      dnn2brain::detail::throw_io_error(
          "atomic_file", "expected a file name, got the directory path '" + target.string() + "'");
    fs::path at = target;
    for (int links = 0;; ++links) {
      std::error_code error;
      const fs::file_status status = fs::symlink_status(at, error);
      if (status.type() == fs::file_type::not_found || status.type() == fs::file_type::regular)
        return at;
      if (error)
        dnn2brain::detail::throw_io_error(
            "atomic_file", "cannot examine '" + at.string() + "': " + error.message());
      if (status.type() != fs::file_type::symlink) refuse(target, at, status.type());
      if (links == max_links)
        dnn2brain::detail::throw_io_error(
            "atomic_file", "expected a regular file or a new file name to write, got '" +
                               target.string() + "', a chain of more than " +
                               std::to_string(max_links) + " symbolic links (a loop?)");
      const fs::path link = fs::read_symlink(at, error);
      if (error)
        dnn2brain::detail::throw_io_error("atomic_file", "cannot read the symbolic link '" +
                                                             at.string() + "': " + error.message());
      // A relative link is relative to the directory that holds it; no lexical clean-up, since
      // ".." after a linked directory means that directory's real parent.
      at = link.is_absolute() ? link : at.parent_path() / link;
      if (!names_file(at))
        dnn2brain::detail::throw_io_error(
            "atomic_file", "expected a regular file or a new file name to write, got '" +
                               target.string() + "', a symbolic link to the directory path '" +
                               at.string() + "'");
    }
  }

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
  std::filesystem::path m_destination;
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
