#include "troupe/core/logging/run_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "troupe/core/util/errors.hpp"

namespace fs = std::filesystem;

namespace troupe::core {

namespace {

constexpr const char* lock_name = ".troupe.lock";

std::string errno_text(int err) {
  return std::strerror(err);
}

} // namespace

std::string create_version_dir(const std::string& root,
                               const std::string& name) {
  auto base = fs::path(root) / name;
  std::error_code ec;
  fs::create_directories(base, ec);
  if (ec)
    throw output_error(base.string() + ": cannot create: " + ec.message());
  for (int n = 0; n < 1'000'000; ++n) {
    auto dir = base / ("version_" + std::to_string(n));
    // mkdir is atomic: exactly one process creates a given version_N.
    if (::mkdir(dir.c_str(), 0777) == 0)
      return dir.string();
    if (errno != EEXIST)
      throw output_error(dir.string()
                         + ": cannot create: " + errno_text(errno));
  }
  throw output_error(base.string() + ": a million versions exist already");
}

bool is_run_output(const std::string& file) {
  static const char* fixed[] = {"metrics.csv", "metrics.jsonl", "summary.json",
                                "config.json", "report.html",   "trace",
                                "checkpoints", "console.log"};
  for (const char* f : fixed) {
    auto n = std::strlen(f);
    // The file itself, or a temporary file of it (NAME.tmp, NAME.tmp.PID).
    if (file.compare(0, n, f) == 0
        && (file.size() == n || file.compare(n, 4, ".tmp") == 0))
      return true;
  }
  return file.rfind("events.out.tfevents.", 0) == 0;
}

// -- lock ---------------------------------------------------------------------

run_dir_lock::run_dir_lock(const std::string& dir) {
  auto path = (fs::path(dir) / lock_name).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw output_error("run directory " + dir + ": cannot open its lock file "
                       + path + ": " + errno_text(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    char buf[32] = {0};
    auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw output_error("run directory " + dir + ": cannot lock " + path + ": "
                         + errno_text(err));
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    throw output_error(fmt::format(
      "run directory {} is in use by another troupe run ({}); wait for it "
      "or choose another --run-dir",
      dir, pid.empty() ? "pid unknown" : "pid " + pid));
  }
  // Ours: record who holds it.
  auto text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0
      || ::pwrite(fd, text.data(), text.size(), 0)
        != static_cast<ssize_t>(text.size())) {
    auto err = errno;
    ::close(fd);
    throw output_error("run directory " + dir + ": cannot write its lock file "
                       + path + ": " + errno_text(err));
  }
  fd_ = fd;
}

run_dir_lock::run_dir_lock(run_dir_lock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

run_dir_lock& run_dir_lock::operator=(run_dir_lock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

run_dir_lock::~run_dir_lock() {
  release();
}

void run_dir_lock::release() noexcept {
  if (fd_ >= 0) {
    // The file stays: removing it would let a third process lock a new
    // file while a second still waits on the old one.
    ::close(fd_);
    fd_ = -1;
  }
}

// -- preparing ----------------------------------------------------------------

run_dir_lock prepare_run_dir(const std::string& dir, bool overwrite,
                             const char* overwrite_flag) {
  if (dir.empty())
    throw output_error("run directory: empty path");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw output_error("run directory " + dir
                       + ": cannot create: " + ec.message());
  if (!fs::is_directory(dir, ec))
    throw output_error("run directory " + dir + ": not a directory");
  run_dir_lock lock{dir};
  std::vector<fs::path> old;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end;
       it.increment(ec))
    if (is_run_output(it->path().filename().string()))
      old.push_back(it->path());
  if (ec)
    throw output_error("run directory " + dir
                       + ": cannot list: " + ec.message());
  if (!old.empty() && !overwrite)
    throw output_error("run directory " + dir + " holds another run ("
                       + old.front().filename().string() + "); pass "
                       + overwrite_flag + " to replace it");
  for (const auto& p : old) {
    // A link is the user's (to a file elsewhere): left in place, written
    // through.
    if (fs::is_symlink(fs::symlink_status(p, ec)))
      continue;
    fs::remove_all(p, ec);
    if (ec)
      throw output_error("run directory " + dir + ": cannot remove "
                         + p.string()
                         + " of the previous run: " + ec.message());
  }
  auto probe = (fs::path(dir) / ".troupe-write-probe").string();
  FILE* f = std::fopen(probe.c_str(), "w");
  if (f == nullptr || std::fputs("x", f) < 0 || std::fflush(f) != 0) {
    auto err = errno_text(errno);
    if (f != nullptr)
      std::fclose(f);
    std::remove(probe.c_str());
    throw output_error("run directory " + dir + " is not writable: " + err);
  }
  std::fclose(f);
  std::remove(probe.c_str());
  return lock;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, std::vector<std::string_view>{text});
}

void write_file_atomic(const std::string& path,
                       const std::vector<std::string_view>& pieces,
                       bool sync_dir) {
  // A link is written through: its target is replaced, the link stays.
  std::string target = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto resolved = fs::weakly_canonical(path, ec);
    if (ec)
      throw output_error(path + ": cannot resolve the link: " + ec.message());
    target = resolved.string();
  }
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw output_error(path
                       + ": exists and is not a regular file; "
                         "refusing to replace it");
  auto tmp = fmt::format("{}.tmp.{}", target, ::getpid());
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr)
    throw output_error(path + ": cannot write: " + errno_text(errno));
  bool ok = true;
  for (const auto& piece : pieces)
    ok = ok && std::fwrite(piece.data(), 1, piece.size(), f) == piece.size();
  ok = ok && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  auto err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    throw output_error(path + ": cannot write: " + errno_text(err));
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    throw output_error(path + ": cannot rename: " + errno_text(err));
  }
  // The rename itself is durable once the directory is synced.
  if (!sync_dir)
    return;
  auto dir = fs::path(target).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

} // namespace troupe::core
