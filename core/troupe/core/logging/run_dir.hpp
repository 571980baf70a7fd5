#pragma once

// Run directories: one run per directory at a time (an exclusive lock held
// for the whole run), distinct version_N directories under any concurrency,
// and files replaced atomically.

#include <string>
#include <string_view>
#include <vector>

namespace troupe::core {

/// Creates `root/name/version_N` with the smallest N not taken yet and
/// returns it. The directory is created with one mkdir, so two processes
/// never get the same N. Throws output_error naming the directory.
std::string create_version_dir(const std::string& root,
                               const std::string& name);

/// Whether `file` (a name inside a run directory) is something a troupe run
/// writes: metrics.csv, metrics.jsonl, summary.json, config.json,
/// report.html, events.out.tfevents.*, trace/, checkpoints/, and their
/// temporary files.
bool is_run_output(const std::string& file);

/// An exclusive lock on a run directory: `flock` on `<dir>/.troupe.lock`,
/// which records the holder's pid. Released when the object is destroyed
/// (and by the kernel when the process dies, however it dies).
class run_dir_lock {
public:
  run_dir_lock() = default;

  /// Takes the lock without waiting. Throws output_error naming the
  /// directory, and the holder's pid, when another process holds it.
  explicit run_dir_lock(const std::string& dir);

  run_dir_lock(run_dir_lock&& other) noexcept;
  run_dir_lock& operator=(run_dir_lock&& other) noexcept;
  run_dir_lock(const run_dir_lock&) = delete;
  run_dir_lock& operator=(const run_dir_lock&) = delete;
  ~run_dir_lock();

  bool held() const noexcept {
    return fd_ >= 0;
  }

  /// Releases the lock now (also done by the destructor).
  void release() noexcept;

private:
  int fd_ = -1;
};

/// Creates `dir`, locks it and proves it writable. A directory that holds
/// another run's files (is_run_output) is refused unless `overwrite`, which
/// removes every one of them first (links excepted: they are left in place).
/// Returns the lock, to be held for the whole run. Throws output_error
/// naming the directory (and `overwrite_flag`, the option that overwrites).
run_dir_lock prepare_run_dir(const std::string& dir, bool overwrite,
                             const char* overwrite_flag = "--overwrite=true");

/// Writes `text` to `path` atomically: a temporary file of this process,
/// flush, fsync, rename, fsync of the directory. A link is written through (its
/// target replaced, the link kept); anything but a regular file (a device, a
/// FIFO, a directory) is refused. Throws output_error naming the file.
void write_file_atomic(const std::string& path, const std::string& text);

/// The same for a file made of `pieces`, written one after the other (no
/// copy into one buffer); `sync_dir` false leaves the directory's sync to
/// the caller (one sync for several renames).
void write_file_atomic(const std::string& path,
                       const std::vector<std::string_view>& pieces,
                       bool sync_dir = true);

} // namespace troupe::core
