#include "troupe/core/logging/run_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <unistd.h>

#include "troupe/core/util/errors.hpp"

namespace fs = std::filesystem;

namespace troupe::core {

std::string next_version_dir(const std::string& root, const std::string& name) {
  auto base = fs::path(root) / name;
  for (int n = 0;; ++n) {
    auto dir = base / ("version_" + std::to_string(n));
    std::error_code ec;
    if (!fs::exists(dir, ec))
      return dir.string();
  }
}

void prepare_run_dir(const std::string& dir, bool overwrite) {
  if (dir.empty())
    throw output_error("run directory: empty path");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw output_error("run directory " + dir
                       + ": cannot create: " + ec.message());
  if (!fs::is_directory(dir, ec))
    throw output_error("run directory " + dir + ": not a directory");
  for (const char* f : {"metrics.csv", "metrics.jsonl", "summary.json"}) {
    if (fs::exists(fs::path(dir) / f, ec) && !overwrite)
      throw output_error("run directory " + dir + " already holds " + f
                         + " (pass --overwrite=true to replace it)");
  }
  auto probe = (fs::path(dir) / ".troupe-write-probe").string();
  FILE* f = std::fopen(probe.c_str(), "w");
  if (f == nullptr || std::fputs("x", f) < 0 || std::fflush(f) != 0) {
    auto err = std::string{std::strerror(errno)};
    if (f != nullptr)
      std::fclose(f);
    throw output_error("run directory " + dir + " is not writable: " + err);
  }
  std::fclose(f);
  std::remove(probe.c_str());
}

void write_file_atomic(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr)
    throw output_error(path + ": cannot write: " + std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size()
    && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  auto err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw output_error(path + ": cannot write: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw output_error(path + ": cannot rename: " + std::strerror(errno));
}

} // namespace troupe::core
