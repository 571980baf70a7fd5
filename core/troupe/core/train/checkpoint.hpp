#pragma once

// Checkpoint files: everything a fit needs to continue exactly where it was
// after one optimizer step, as named sections (messages/checkpoint.hpp).
//
// Layout (little-endian):
//   "TROUPECK"              8 bytes
//   format version          u32
//   header checksum         u32, CRC-32C of the 32 bytes after it
//   step                    i64
//   sections                u64
//   payload size            u64
//   payload checksum        u32, CRC-32C of the whole payload
//   reserved                u32, 0
//   payload: per section    u32 name size, name, u64 size, bytes
//
// A file is written whole to a temporary file, flushed, synced and renamed
// over its name, then the directory is synced; `last` (a text file with the
// newest complete file's name) is replaced the same way after it. A reader
// checks the magic, the version, both checksums and every size before it
// trusts a byte.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>

#include "troupe/core/config/options.hpp"
#include "troupe/messages/checkpoint.hpp"

namespace torch::nn {
class Module;
}

namespace torch::optim {
class Optimizer;
}

namespace troupe::core {

/// The version this troupe writes and the only one it reads.
constexpr uint32_t checkpoint_format_version = 1;

/// A checkpoint in memory.
struct checkpoint {
  int64_t step = 0;
  std::map<std::string, std::string> sections;

  /// The section `name`; throws data_error naming `file` when missing.
  const std::string& section(const std::string& name,
                             const std::string& file) const;

  bool has(const std::string& name) const {
    return sections.count(name) > 0;
  }
};

/// The file's bytes.
std::string encode_checkpoint(const checkpoint& c);

/// Parses and verifies a file's bytes; throws data_error naming `file` and
/// what is wrong (truncated, corrupt, another format version, ...).
checkpoint decode_checkpoint(const std::string& bytes, const std::string& file);

/// Reads and verifies `file`; throws data_error.
checkpoint read_checkpoint(const std::string& file);

/// `step-<12 digits>.ckpt`.
std::string checkpoint_file_name(int64_t step);

/// The checkpoint directory of a run: --checkpoint-dir, or
/// <run-dir>/checkpoints; empty when checkpoints are off ("none").
std::string checkpoint_dir_of(const trainer_options& opts,
                              const std::string& run_dir);

/// Why a checkpoint is kept: `always` (a periodic or the last step), or
/// while its `score` (lower is better) ranks among the best.
struct checkpoint_retention {
  bool always = true;
  std::optional<double> score;
};

/// The "retention" section, and back (throws data_error naming `file`).
std::string encode_retention(const checkpoint_retention& r);
checkpoint_retention decode_retention(const std::string& bytes,
                                      const std::string& file);

/// Writes `c` into `dir` atomically and points `last` at it. Returns the
/// path written. Throws output_error naming the file.
std::string write_checkpoint(const std::string& dir, const checkpoint& c);

/// Removes the checkpoint files of `dir` that are neither among the newest
/// `keep` (0: every file is) nor in `best` (file names).
void prune_checkpoints(const std::string& dir, int64_t keep,
                       const std::vector<std::string>& best);

/// The best checkpoints by score, best first, as `text` lists them (name
/// and score per line, as format_best writes); files not in `dir` are
/// left out.
std::vector<std::pair<std::string, double>> parse_best(const std::string& text,
                                                       const std::string& dir);

std::string
format_best(const std::vector<std::pair<std::string, double>>& best);

/// parse_best of `<dir>/best`.
std::vector<std::pair<std::string, double>> read_best(const std::string& dir);

/// Replaces `<dir>/best` atomically.
void write_best(const std::string& dir,
                const std::vector<std::pair<std::string, double>>& best);

/// The checkpoint files of `dir`, oldest first (by step).
std::vector<std::string> list_checkpoints(const std::string& dir);

/// The file `--resume=spec` names: `last` reads `<dir>/last`. Throws
/// data_error naming what is missing.
std::string resolve_resume(const std::string& spec, const std::string& dir);

/// The options that must be the same to resume (option_table.hpp's
/// free_on_resume is false) and differ between `now` and the configuration
/// a checkpoint recorded (config.json's text): one "KEY: SAVED in the
/// checkpoint, NOW in this run" per difference, in table order.
std::vector<std::string> resume_mismatches(const trainer_options& now,
                                           const std::string& saved_json);

// -- state of LibTorch objects as bytes ---------------------------------------

/// The values of every parameter, then every buffer, in registration
/// order, as raw bytes (module_shapes says how to read them).
std::string module_bytes(const torch::nn::Module& m);

/// One "KIND NAME DTYPE DIMS" line per parameter and buffer (p or b, dims
/// joined by 'x'), to compare a checkpoint's model with a run's.
std::string module_shapes(const torch::nn::Module& m);

/// Loads `bytes` (module_bytes) into `m`, whose shapes must be `shapes`
/// (module_shapes of the saved module): throws data_error naming `file`
/// and the first parameter or buffer that differs.
void load_module(torch::nn::Module& m, const std::string& bytes,
                 const std::string& shapes, const std::string& file);

/// The optimizer's state (torch::save's archive), and back.
std::string optimizer_bytes(const torch::optim::Optimizer& o);
void load_optimizer(torch::optim::Optimizer& o, const std::string& bytes,
                    const std::string& file);

/// A CPU generator's state, and back.
std::string generator_bytes(const at::Generator& g);
void load_generator(at::Generator& g, const std::string& bytes,
                    const std::string& file);

} // namespace troupe::core
