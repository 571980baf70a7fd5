#pragma once

#include <string>

namespace troupe::core {

/// `root/name/version_N` with the smallest N not taken yet (as Lightning).
std::string next_version_dir(const std::string& root, const std::string& name);

/// Creates `dir` and proves it writable. A directory that already holds
/// metrics (metrics.csv, metrics.jsonl or summary.json) is refused unless
/// `overwrite`. Throws output_error naming the directory.
void prepare_run_dir(const std::string& dir, bool overwrite);

/// Writes `text` to `path` atomically: temp file, flush, rename. Throws
/// output_error naming the file.
void write_file_atomic(const std::string& path, const std::string& text);

} // namespace troupe::core
