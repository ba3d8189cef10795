#ifndef DNN2BRAIN_IO_DETAIL_MAT_HDF5_ISOLATION_HPP
#define DNN2BRAIN_IO_DETAIL_MAT_HDF5_ISOLATION_HPP
// IWYU pragma: private

// HDF5 1.10 trusts its own file structures: hostile bytes in a v7.3 file can make it copy from
// NULL, allocate 2^44 bytes or loop, inside calls that dnn2brain's checks (mat_hdf5.hpp) must make
// themselves (H5Literate over a corrupted local heap). Those parsers cannot be validated from
// outside without reimplementing HDF5, so mat_file first lets a forked child process do
// everything HDF5 will do with the file: the structural check, Mat_Open, Mat_GetDir and
// Mat_VarRead of every variable (matio 1.5.23 reads v7.3 cells, structs and their data
// completely in Mat_VarRead; mat_value works on that memory only), Mat_VarFree and Mat_Close.
// The parent does the same only after the child reported that it finished.
//
// - The child reports through a pipe: "k" (HDF5 finished), or "e" and the text of the io_error
//   that the check threw (the parent throws the same io_error). It ends with _exit: no atexit
//   handlers (HDF5's own would close the program's HDF5 files), no second flush of stdio buffers.
// - The child's stdout and stderr go to a second pipe, never to the terminal: a library does not
//   print. If the child crashes, the last line it wrote there (a sanitizer's SUMMARY, an assertion)
//   is quoted in the io_error, so sanitizer findings stay visible.
// - Deadline: 30 s plus 1 s per MiB of the file (mat_v73_isolation_deadline); then the child is
//   killed with SIGKILL. Every child is reaped (waitpid) before the function returns or throws.
// - Cost: HDF5 structures and data of the file are read twice, once in each process.
// - Limitations: fork() duplicates the process (copy-on-write); programs that cannot fork (MPI
//   with RDMA, some GPU runtimes) turn isolation off (mat_options). The file can change between
//   the check and the parent's reading (TOCTOU). The child calls only HDF5, matio and malloc; a
//   program that uses HDF5 from another thread while mat_file opens a file can leave the child
//   waiting on a lock until the deadline. With SIGCHLD ignored, the exit status is lost and only
//   the child's report counts.

#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <matio.h>

#include <dnn2brain/core/error.hpp>
#include <dnn2brain/io/detail/binary_file.hpp>
#include <dnn2brain/io/detail/mat_hdf5.hpp>

namespace dnn2brain::io::detail {

/// How long the child may take for a file of `size` bytes: 30 s plus 1 s per MiB.
[[nodiscard]] inline std::chrono::milliseconds mat_v73_isolation_deadline(std::uint64_t size) {
  const std::uint64_t seconds = 30 + size / (std::uint64_t{1} << 20);
  return std::chrono::seconds(std::min<std::uint64_t>(seconds, 1'000'000));
}

/// Everything HDF5 does with a v7.3 file when mat_file opens it and reads from it, in one order:
/// the structural check, Mat_Open, Mat_GetDir, Mat_VarRead of every variable and of a name that
/// is not there (which visits every variable's information), Mat_VarFree, Mat_Close. Failures of
/// matio are not errors here (the parent reports them where a user meets them).
/// \throws io_error from check_mat_v73.
inline void use_mat_v73_as_mat_file_does(const std::filesystem::path& path) {
  check_mat_v73(path);
  const hdf5_errors_off quiet;
  struct close_mat {
    void operator()(mat_t* mat) const noexcept { Mat_Close(mat); }
  };
  const std::unique_ptr<mat_t, close_mat> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) return;
  std::size_t count = 0;
  char* const* names = Mat_GetDir(mat.get(), &count);
  for (std::size_t v = 0; v < count && names != nullptr; ++v)
    if (names[v] != nullptr) Mat_VarFree(Mat_VarRead(mat.get(), names[v]));
  Mat_VarFree(Mat_VarRead(mat.get(), "/"));  // no variable has this name: HDF5 forbids it
}

/// A file descriptor closed when it goes out of scope.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : m_fd(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return m_fd; }
  void reset() noexcept {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  int m_fd = -1;
};

/// A forked child that is killed (SIGKILL) and reaped unless it was reaped already, also when an
/// exception unwinds: no zombie is left behind.
class child_process {
 public:
  explicit child_process(pid_t pid) noexcept : m_pid(pid) {}
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (m_pid > 0) kill_and_reap();
  }

  /// Kills the child and waits for it; its status afterwards.
  int kill_and_reap() noexcept {
    ::kill(m_pid, SIGKILL);
    return reap(0);
  }

  /// waitpid with `options` (0 or WNOHANG), retried on EINTR. Returns true once the child is
  /// reaped (or cannot be waited for: SIGCHLD ignored, m_status stays -1).
  bool try_reap(int options) noexcept {
    int status = 0;
    pid_t done = -1;
    do {
      done = ::waitpid(m_pid, &status, options);
    } while (done < 0 && errno == EINTR);
    if (done == 0) return false;
    m_pid = -1;
    m_status = done > 0 ? status : -1;
    return true;
  }

  [[nodiscard]] int status() const noexcept { return m_status; }

 private:
  int reap(int options) noexcept {
    try_reap(options);
    return m_status;
  }

  pid_t m_pid;
  int m_status = -1;
};

/// Writes all of `text` to `fd` (the child's report), retrying after EINTR.
inline bool write_all(int fd, const std::string& text) noexcept {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// The line a crashed child left on stderr that says the most: a sanitizer's "SUMMARY:" line if
/// there is one, else the last line that is not empty; bounded, non-printable bytes escaped.
inline std::string last_words(const std::string& said) {
  std::size_t at = said.rfind("SUMMARY:");
  std::string line;
  if (at != std::string::npos) {
    line = said.substr(at, said.find('\n', at) - at);
  } else {
    std::size_t end = said.find_last_not_of("\r\n \t");
    if (end == std::string::npos) return {};
    at = said.rfind('\n', end);
    line = said.substr(at == std::string::npos ? 0 : at + 1, end + 1 - (at + 1));
  }
  return "; it wrote: " + printable(line, 240);
}

/// \brief Runs body() in a forked child process and returns once the child reports that body
/// returned. If body threw io_error, throws the same io_error here.
/// \throws io_error naming origin's function and file if fork() fails, the child crashes, ends
/// without a report, or is still running after `limit` (then it is killed).
template <typename Body>
void run_in_child_process(const file_origin& origin, std::chrono::milliseconds limit, Body&& body) {
  int report_pipe[2] = {-1, -1}, output_pipe[2] = {-1, -1};
  if (::pipe2(report_pipe, O_CLOEXEC) != 0)
    origin.fail("expected pipes to a process that checks the file, got pipe() failing (",
                std::strerror(errno), ")");
  unique_fd report_in(report_pipe[0]), report_out(report_pipe[1]);
  if (::pipe2(output_pipe, O_CLOEXEC) != 0)
    origin.fail("expected pipes to a process that checks the file, got pipe() failing (",
                std::strerror(errno), ")");
  unique_fd output_in(output_pipe[0]), output_out(output_pipe[1]);

  const pid_t pid = ::fork();
  if (pid < 0)
    origin.fail("expected to check the file with HDF5 in a separate process, got fork() failing (",
                std::strerror(errno), "); a program that cannot fork opens v7.3 files with ",
                "mat_options{.isolate_hdf5 = false}");
  if (pid == 0) {
    // The child: only HDF5, matio and malloc from here on, and _exit at the end.
    ::dup2(output_pipe[1], STDOUT_FILENO);
    ::dup2(output_pipe[1], STDERR_FILENO);
    std::string report = "k";
    try {
      body();
    } catch (const io_error& error) {
      report = std::string("e") + error.what();
    } catch (const std::exception& error) {
      report = std::string("x") + error.what();
    } catch (...) {
      report = "x";
    }
    ::_exit(write_all(report_pipe[1], report) ? 0 : 3);
  }

  child_process child(pid);
  report_out.reset();
  output_out.reset();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const auto time_left = [&] {
    return std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                        std::chrono::steady_clock::now());
  };
  constexpr std::size_t keep = 4096;  // of what the child printed: its last bytes
  std::string report, said;
  bool timed_out = false;
  char buffer[4096];
  pollfd fds[2] = {{report_in.get(), POLLIN, 0}, {output_in.get(), POLLIN, 0}};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left = time_left();
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready =
        ::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0)
      origin.fail("expected to wait for the process that checks the file, got poll() failing (",
                  std::strerror(errno), ")");
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || fds[k].revents == 0) continue;
      const ssize_t n = ::read(fds[k].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[k].fd = -1;  // end of file (the child exited) or a broken pipe
        continue;
      }
      std::string& text = k == 0 ? report : said;
      if (k == 0 && text.size() > 65536) continue;  // no io_error message is that long
      text.append(buffer, static_cast<std::size_t>(n));
      if (k == 1 && text.size() > 2 * keep) text.erase(0, text.size() - keep);
    }
  }
  // Both pipes are closed: the child is gone or going. Wait for it, within the deadline.
  if (!timed_out)
    for (auto pause = std::chrono::microseconds(100); !child.try_reap(WNOHANG);
         pause = std::min(pause * 2, std::chrono::microseconds(20'000))) {
      if (time_left().count() <= 0) {
        timed_out = true;
        break;
      }
      std::this_thread::sleep_for(pause);
    }
  if (timed_out) {
    child.kill_and_reap();
    const std::string within = limit.count() % 1000 == 0
                                   ? std::to_string(limit.count() / 1000) + " s"
                                   : std::to_string(limit.count()) + " ms";
    origin.fail("expected an HDF5 file that HDF5 reads within ", within,
                " (30 s + 1 s per MiB), got one on which HDF5 was still working after that ",
                "time in a separate process (a cycle in the file?), which was killed");
  }
  const int status = child.status();
  const bool reported =
      !report.empty() && (report[0] == 'k' || report[0] == 'e' || report[0] == 'x');
  const bool exited_cleanly = status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (reported && exited_cleanly) {
    if (report[0] == 'e') throw io_error(report.substr(1));
    if (report[0] == 'x')
      origin.fail("expected an HDF5 file that can be checked, got one whose check failed in a ",
                  "separate process: ", report.substr(1));
    return;
  }
  if (status != -1 && WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = ::strsignal(signal);
    origin.fail("expected an HDF5 file HDF5 can read, got one that made HDF5 crash (signal ",
                signal, name != nullptr ? ", " : "", name != nullptr ? name : "",
                ") while it was checked in a separate process", last_words(said));
  }
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
    origin.fail("expected an HDF5 file HDF5 can read, got one that made HDF5 crash (exit status ",
                WEXITSTATUS(status), ") while it was checked in a separate process",
                last_words(said));
  origin.fail("expected an HDF5 file HDF5 can read, got one on which the separate process that ",
              "checked it ended without a report", last_words(said));
}

}  // namespace dnn2brain::io::detail

#endif  // DNN2BRAIN_IO_DETAIL_MAT_HDF5_ISOLATION_HPP
