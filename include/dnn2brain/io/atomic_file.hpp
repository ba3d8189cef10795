#ifndef DNN2BRAIN_IO_ATOMIC_FILE_HPP
#define DNN2BRAIN_IO_ATOMIC_FILE_HPP

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
/// - a new name in an existing directory: the file is created, with the umask's default mode
///   (0666 without the umask's bits);
/// - an existing regular file: it is replaced, and keeps its permission bits (rwx for user,
///   group and others; set-user-ID, set-group-ID and sticky bits are dropped). Ownership is that
///   of the writing process, and other hard links keep the old content, as with any rename;
/// - a symbolic link, or a chain of them: followed to the file it finally names, which is then
///   replaced or created as above (the temporary goes next to that file). The links are kept. A
///   dangling link is written through: the file it points to is created (as the shell's `>` and
///   open(O_CREAT) do; GNU cp refuses instead), provided its directory exists. As Linux's
///   fs.protected_symlinks does, a link in a sticky, world-writable directory (/tmp) is followed
///   only when its owner is the directory's owner or the writing process (effective user ID);
///   every link of a chain is checked. Anyone else's link there is refused with io_error, since
///   another user may have planted it to make us overwrite a file of our own;
/// - anything else (a directory, a FIFO, a socket, a character or block device, a chain of more
///   than 40 links) is refused with io_error: renaming over it would replace it by a regular
///   file, and writing into it would not be atomic.
///
/// The temporary is created at construction, new (O_EXCL, so nothing already there is reused)
/// and with mode 0600, so content that replaces a private file is never readable by others while
/// it is written; commit() gives it the final mode just before the rename. Its name is
/// ".dnn2brain-<random>-" followed by the final file's own name, so C libraries that choose
/// compression or format by extension (nifti_clib and ".nii.gz") can open temporary_path()
/// directly (reopening an existing file keeps its mode 0600). For a name too long to take the
/// prefix within 255 bytes, the name's beginning is dropped; its end, the extension, is kept.
class atomic_file {
 public:
  /// \throws io_error if `target` names no file (ends in a separator) or names something other
  /// than a regular file (see the class documentation), or if the temporary cannot be created
  /// (the message gives the system's reason).
  explicit atomic_file(std::filesystem::path target)
      : m_target(std::move(target)),
        m_destination(resolve(m_target)),
        m_temporary(create_temporary(m_destination, m_target)) {}

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
      errno = 0;
      m_stream.open(m_temporary, std::ios::binary | std::ios::trunc);
      if (!m_stream)
        dnn2brain::detail::throw_io_error(
            "atomic_file", "cannot open the temporary '" + m_temporary.string() + "' next to '" +
                               m_target.string() + "': " + reason(errno));
    }
    return m_stream;
  }

  /// The path as given.
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return m_target; }
  /// The file commit() replaces or creates: target() with symbolic links followed.
  [[nodiscard]] const std::filesystem::path& destination() const noexcept { return m_destination; }
  /// The temporary file (already created, empty, mode 0600) that commit() renames.
  [[nodiscard]] const std::filesystem::path& temporary_path() const noexcept { return m_temporary; }

  /// Flushes and closes the stream (if stream() was used), gives the temporary the permission
  /// bits of the file it replaces (or the umask's default for a new file), then renames it over
  /// destination(). Throws io_error if any write failed or destination() has meanwhile become
  /// something other than a regular file or cannot be examined; the target is then left as it
  /// was, and the destructor removes the temporary.
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
    fs::perms mode = fs::perms::none;
    if (existing.type() == fs::file_type::regular) {
      constexpr auto rwx = fs::perms::owner_all | fs::perms::group_all | fs::perms::others_all;
      mode = existing.permissions() & rwx;
    } else if (existing.type() == fs::file_type::not_found) {
      mode = new_file_mode();
    } else if (error) {
      dnn2brain::detail::throw_io_error("atomic_file",
                                        "cannot examine '" + m_destination.string() +
                                            "' before replacing it: " + error.message());
    } else {
      refuse(m_target, m_destination, existing.type());
    }
    fs::permissions(m_temporary, mode, fs::perm_options::replace, error);
    if (error)
      dnn2brain::detail::throw_io_error("atomic_file",
                                        "cannot give the temporary '" + m_temporary.string() +
                                            "' its final permissions: " + error.message());
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
  /// Longest file name (one path component) the common file systems accept, in bytes.
  static constexpr std::size_t max_name_bytes = 255;

  [[nodiscard]] static std::string reason(int code) {
    return code == 0 ? std::string("unknown reason") : std::generic_category().message(code);
  }

  [[noreturn]] static void refuse(const std::filesystem::path& target,
                                  const std::filesystem::path& destination,
                                  std::filesystem::file_type type) {
    std::string where = "'" + target.string() + "'";
    if (destination != target) where += " (through symbolic links: '" + destination.string() + "')";
    dnn2brain::detail::throw_io_error(
        "atomic_file", "expected a regular file or a new file name to write, got " + where +
                           ", which is " + detail::file_type_name(type));
  }

  /// Linux's fs.protected_symlinks rule for the link `link` met while resolving `target`: in a
  /// sticky, world-writable directory, only links owned by the directory's owner or by us are
  /// followed.
  static void check_link_owner(const std::filesystem::path& target,
                               const std::filesystem::path& link) {
    struct stat link_info {};
    if (::lstat(link.c_str(), &link_info) != 0)
      dnn2brain::detail::throw_io_error("atomic_file", "cannot examine the symbolic link '" +
                                                           link.string() + "': " + reason(errno));
    const std::filesystem::path directory =
        link.has_parent_path() ? link.parent_path() : std::filesystem::path(".");
    struct stat directory_info {};
    if (::stat(directory.c_str(), &directory_info) != 0)
      dnn2brain::detail::throw_io_error("atomic_file", "cannot examine the directory '" +
                                                           directory.string() + "' of the link '" +
                                                           link.string() + "': " + reason(errno));
    constexpr mode_t sticky_and_world_writable = S_ISVTX | S_IWOTH;
    if ((directory_info.st_mode & sticky_and_world_writable) != sticky_and_world_writable) return;
    const uid_t me = ::geteuid();
    if (link_info.st_uid == directory_info.st_uid || link_info.st_uid == me) return;
    std::string what = "the symbolic link '" + link.string() + "'";
    if (link != target) what += " (met following '" + target.string() + "')";
    dnn2brain::detail::throw_io_error(
        "atomic_file",
        "expected a symbolic link in the sticky, world-writable directory '" + directory.string() +
            "' to be owned by that directory's owner (uid " +
            std::to_string(directory_info.st_uid) + ") or by this process (uid " +
            std::to_string(me) + "), got " + what + " owned by uid " +
            std::to_string(link_info.st_uid) +
            "; not followed, since another user may have planted it to redirect the write "
            "(Linux's fs.protected_symlinks rule)");
  }

  /// The file a write to `target` must replace or create: `target` with symbolic links followed.
  /// Only the last component is resolved here; the system resolves directories on the way (and
  /// applies fs.protected_symlinks to them itself).
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
      check_link_owner(target, at);
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

  /// A fresh name next to `destination`: ".dnn2brain-<12 hex digits>-" and the file's name, whose
  /// beginning is dropped (at a character boundary) when the whole would exceed max_name_bytes.
  static std::filesystem::path temporary_name(const std::filesystem::path& destination) {
    static std::atomic<std::uint64_t> counter{0};
    // Clock, thread, process and a counter, mixed (splitmix64's finaliser); O_EXCL catches the
    // rare collision.
    std::uint64_t x =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    x ^= std::hash<std::thread::id>{}(std::this_thread::get_id()) * 0x9e3779b97f4a7c15ULL;
    x ^= (static_cast<std::uint64_t>(::getpid()) << 32) + counter.fetch_add(1);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    std::string tag = ".dnn2brain-";
    constexpr std::string_view hex = "0123456789abcdef";
    for (int d = 0; d < 12; ++d) tag += hex[(x >> (4 * d)) & 0xf];
    tag += '-';
    std::string name = destination.filename().string();
    if (tag.size() + name.size() > max_name_bytes) {
      std::size_t drop = tag.size() + name.size() - max_name_bytes;
      // Not in the middle of a UTF-8 sequence: skip its continuation bytes too.
      while (drop < name.size() && (static_cast<unsigned char>(name[drop]) & 0xc0) == 0x80) ++drop;
      name.erase(0, drop);
    }
    return destination.parent_path() / (tag + name);
  }

  /// Creates the temporary for `destination`: new, empty, mode 0600.
  static std::filesystem::path create_temporary(const std::filesystem::path& destination,
                                                const std::filesystem::path& target) {
    constexpr int attempts = 16;
    int code = 0;
    std::filesystem::path name;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      name = temporary_name(destination);
      const int fd =
          ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
      if (fd >= 0) {
        // 0600 even under a umask that takes the owner's write bit (the stream must open it).
        const bool made_private = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0;
        code = made_private ? 0 : errno;
        ::close(fd);
        if (made_private) return name;
        ::unlink(name.c_str());
        break;
      }
      code = errno;
      if (code != EEXIST) break;
    }
    dnn2brain::detail::throw_io_error("atomic_file", "cannot create the temporary '" +
                                                         name.string() + "' next to '" +
                                                         target.string() + "': " + reason(code));
  }

  /// The process's umask. Linux reports it in /proc/self/status (since 4.7), which changes
  /// nothing. Elsewhere the only way is to set it and set it back: files other threads create in
  /// that moment get the umask 022 instead of theirs. So this is done once per process and the
  /// value kept (a later umask() call is then not seen).
  static mode_t process_umask() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      constexpr std::string_view key = "Umask:";
      if (!line.starts_with(key)) continue;
      std::size_t first = key.size();
      while (first < line.size() && (line[first] == ' ' || line[first] == '\t')) ++first;
      unsigned value = 0;
      const auto [end, parsed] =
          std::from_chars(line.data() + first, line.data() + line.size(), value, 8);
      if (parsed == std::errc() && end != line.data() + first) return static_cast<mode_t>(value);
      break;
    }
    static std::once_flag once;
    static mode_t cached = 0;
    std::call_once(once, [] {
      cached = ::umask(S_IWGRP | S_IWOTH);
      ::umask(cached);
    });
    return cached;
  }

  /// The mode open(O_CREAT) with 0666 gives a new file: 0666 without the umask's bits.
  static std::filesystem::perms new_file_mode() {
    return static_cast<std::filesystem::perms>(0666U & ~static_cast<unsigned>(process_umask()));
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
