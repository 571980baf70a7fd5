#pragma once

// Output sinks. Only the logger actor calls them, one record at a time, so a
// sink needs no locking. A sink reports I/O failure by throwing output_error.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "troupe/messages/logging.hpp"

namespace troupe::core {

class sink {
public:
  virtual ~sink();

  /// The name used in --loggers.
  virtual std::string name() const = 0;

  /// The file written, if any (for error messages).
  virtual std::string path() const {
    return {};
  }

  /// Lines to show before training (console only).
  virtual void start(const std::vector<std::string>& lines);

  /// The effective configuration, as the JSON of config.json.
  virtual void hyperparameters(const std::string& config_json);

  /// Metrics logged at `step`; several calls may share one step.
  virtual void write(int64_t step, int64_t epoch, const metric_values& metrics)
    = 0;

  /// A text line (console only).
  virtual void line(const std::string& text);

  /// A progress update (console only).
  virtual void progress(const progress_info& p);

  /// End of one log batch: make everything so far durable on disk.
  virtual void flush();

  /// Writes what is pending and releases the file. Idempotent.
  virtual void close();

  /// After this sink threw: gives up on it, leaving its file cut back to
  /// the last whole record (never half a line or half an event). Nothing
  /// is written after it.
  virtual void abandon() noexcept;

  /// Where the sink stands after the last flush, as text a checkpoint
  /// keeps: a sink created with it (make_sink) drops whatever was written
  /// after that point and goes on from there. Empty: nothing to resume
  /// (the console).
  virtual std::string position() const;
};

/// The console: one progress line (epoch, step, loss, it/s, ETA) redrawn in
/// place on a terminal, which text lines never tear; plain lines otherwise.
class console_sink : public sink {
public:
  /// `interactive`: draw with carriage returns (default: isatty(out)).
  explicit console_sink(FILE* out = stdout, int interactive = -1);

  std::string name() const override;
  void start(const std::vector<std::string>& lines) override;
  void write(int64_t step, int64_t epoch, const metric_values& ms) override;
  void line(const std::string& text) override;
  void progress(const progress_info& p) override;
  void close() override;

private:
  /// True once writing to `out_` failed (a closed pipe): nothing more is
  /// written, and that is not a failure of the run.
  bool gone();
  void clear_bar();
  void draw_bar();

  FILE* out_;
  bool interactive_;
  bool gone_ = false;
  bool bar_shown_ = false;
  std::string bar_;
  std::chrono::steady_clock::time_point t0_;
  int64_t step0_ = -1;
};

/// A sink that writes one file: owns the handle and closes it once.
class file_sink : public sink {
public:
  ~file_sink() override;

  std::string path() const override;

  /// Closes the file; throws output_error when that fails.
  void close() override;

  void abandon() noexcept override;

protected:
  file_sink(std::string path, const char* mode);

  /// The open file; throws output_error after close.
  FILE* file() const;

  bool is_open() const noexcept {
    return file_ != nullptr;
  }

  /// Closes the handle (errors ignored) and opens `path_` again with `mode`.
  void reopen(const char* mode);

  /// Appends one whole record and flushes it.
  void append_record(const std::string& text);

  /// The file as it is now ends with a whole record (after an amend).
  void mark_whole();

  /// The size of the file up to its last whole record.
  long whole_size() const noexcept {
    return whole_;
  }

  std::string path_;
  /// A whole record taken off the end of the file (to be written again,
  /// amended); abandon() puts it back.
  std::string taken_back_;

private:
  FILE* file_ = nullptr;
  long whole_ = 0; ///< size of the file up to its last whole record
};

/// `<run-dir>/metrics.csv`: columns step, epoch, then metric names sorted;
/// one row per step with every metric logged at that step. A new name
/// rewrites the file with the wider header (temp file + rename). The row of
/// the latest step is written at each flush and amended in place when more
/// values for that step arrive, so a crash loses no flushed record.
class csv_sink : public file_sink {
public:
  explicit csv_sink(std::string path);

  /// Continues the file at `position` (csv_sink::position): the header and
  /// rows as they were then, later rows and columns dropped.
  csv_sink(std::string path, const std::string& position);

  std::string position() const override;

  std::string name() const override;
  void write(int64_t step, int64_t epoch, const metric_values& ms) override;
  void flush() override;
  void close() override;

private:
  void write_row();
  void rewrite_with_header();

  std::vector<std::string> columns_; ///< sorted metric names in the file
  int64_t final_rows_ = 0;           ///< rows on disk before the current one
  bool widened_ = false;
  bool have_row_ = false;
  bool row_on_disk_ = false; ///< the current row is the file's last line
  long row_offset_ = 0;      ///< where that line starts
  std::string row_text_;     ///< that line
  int64_t row_step_ = 0;
  int64_t row_epoch_ = 0;
  std::map<std::string, double> row_;
};

/// `<run-dir>/metrics.jsonl`: one object per value: step, epoch, name, value.
class jsonl_sink : public file_sink {
public:
  explicit jsonl_sink(std::string path);

  /// Continues the file cut back to `position` (its size then).
  jsonl_sink(std::string path, const std::string& position);

  std::string position() const override;

  std::string name() const override;
  void write(int64_t step, int64_t epoch, const metric_values& ms) override;
};

/// `<run-dir>/events.out.tfevents.<time>.<host>` for TensorBoard: scalars as
/// Summary.Value{tag, simple_value} events, the configuration as a text
/// summary (`hparams`). Each event is framed in memory and written with one
/// call, then flushed: a clean stop never leaves half a record.
class tensorboard_sink : public file_sink {
public:
  explicit tensorboard_sink(const std::string& run_dir);

  /// Continues the events file `position` names, cut back to the size it
  /// had then (a whole event): TensorBoard reads the steps written after it
  /// by the resumed run, never the dropped ones.
  tensorboard_sink(const std::string& run_dir, const std::string& position);

  std::string position() const override;

  std::string name() const override;
  void hyperparameters(const std::string& config_json) override;
  void write(int64_t step, int64_t epoch, const metric_values& ms) override;

private:
  void append(const std::string& event);
};

/// Creates the sink `name` writing into `run_dir` (the console sink to
/// `terminal`); with `position` (sink::position of an earlier sink of the
/// same run), one that continues from there. Throws output_error.
std::unique_ptr<sink>
make_sink(const std::string& name, const std::string& run_dir,
          FILE* terminal = stdout, const std::string* position = nullptr);

/// Whether the sink `name` can continue from `position` in `run_dir`
/// (its file exists and holds at least what the position says); throws
/// data_error naming the file otherwise. Changes nothing.
void check_resumable(const std::string& name, const std::string& run_dir,
                     const std::string& position);

/// Formats a metric value for CSV: shortest round-trip text.
std::string format_value(double x);

} // namespace troupe::core
