#include "troupe/core/logging/sinks.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "troupe/core/logging/csv.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/tfevents.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/file_io.hpp"
#include "troupe/core/util/json.hpp"

namespace troupe::core {

namespace {

[[noreturn]] void io_failure(const std::string& path, const char* what) {
  throw output_error(
    fmt::format("{}: {}: {}", path, what, std::strerror(errno)));
}

FILE* open_file(const std::string& path, const char* mode) {
  FILE* f = std::fopen(path.c_str(), mode);
  if (f == nullptr)
    io_failure(path, "cannot open");
  return f;
}

void put(FILE* f, const std::string& path, const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size())
    io_failure(path, "write failed");
}

void flush_file(FILE* f, const std::string& path) {
  if (std::fflush(f) != 0)
    io_failure(path, "write failed");
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600)
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

} // namespace

std::string format_value(double x) {
  return fmt::format("{}", x);
}

// -- sink ---------------------------------------------------------------------

sink::~sink() = default;

void sink::start(const std::vector<std::string>&) {
  // nop
}

void sink::hyperparameters(const std::string&) {
  // nop
}

void sink::line(const std::string&) {
  // nop
}

void sink::progress(const progress_info&) {
  // nop
}

void sink::flush() {
  // nop
}

void sink::close() {
  // nop
}

void sink::abandon() noexcept {
  // nop
}

// -- console ------------------------------------------------------------------

console_sink::console_sink(FILE* out, int interactive)
    : out_(out), interactive_(interactive < 0 ? isatty(fileno(out)) != 0
                                              : interactive != 0),
      t0_(std::chrono::steady_clock::now()) {
  // nop
}

std::string console_sink::name() const {
  return "console";
}

bool console_sink::gone() {
  // A closed pipe or terminal (`| head`): console output stops, the run
  // goes on (the launchers ignore SIGPIPE).
  if (!gone_ && std::ferror(out_) != 0)
    gone_ = true;
  return gone_;
}

void console_sink::clear_bar() {
  if (interactive_ && bar_shown_) {
    std::fputs("\r\033[2K", out_);
    bar_shown_ = false;
  }
}

void console_sink::draw_bar() {
  if (interactive_ && !bar_.empty()) {
    std::fputs(bar_.c_str(), out_);
    bar_shown_ = true;
  }
  std::fflush(out_);
}

void console_sink::start(const std::vector<std::string>& lines) {
  for (const auto& l : lines)
    line(l);
}

void console_sink::write(int64_t step, int64_t epoch, const metric_values& ms) {
  // Validation, test and epoch values get a line of their own; the running
  // training values show in the progress line.
  std::string text;
  for (const auto& m : ms) {
    bool own_line = m.name.rfind("val/", 0) == 0
      || m.name.rfind("test/", 0) == 0
      || m.name.find("_epoch") != std::string::npos;
    if (own_line)
      text += fmt::format("  {} {:.4f}", m.name, m.value);
  }
  if (!text.empty())
    line(fmt::format("epoch {} step {}:{}", epoch + 1, step, text));
}

void console_sink::line(const std::string& text) {
  if (gone())
    return;
  clear_bar();
  std::fputs(text.c_str(), out_);
  std::fputc('\n', out_);
  draw_bar();
}

void console_sink::progress(const progress_info& p) {
  if (gone())
    return;
  auto now = std::chrono::steady_clock::now();
  if (step0_ < 0) {
    step0_ = p.step;
    t0_ = now;
  }
  double dt = std::chrono::duration<double>(now - t0_).count();
  double rate = dt > 0 ? static_cast<double>(p.step - step0_) / dt : 0.0;
  double eta = rate > 0 ? static_cast<double>(p.total_steps - p.step) / rate
                        : NAN;
  auto loss = std::isfinite(p.loss) ? fmt::format("{:.4f}", p.loss)
                                    : std::string{"-"};
  bar_ = fmt::format("epoch {}/{} step {}/{} loss {} {:.1f} it/s ETA {}",
                     p.epoch + 1, p.max_epochs, p.step, p.total_steps, loss,
                     rate, format_duration(eta));
  if (interactive_) {
    clear_bar();
    draw_bar();
  } else {
    std::fputs(bar_.c_str(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void console_sink::close() {
  if (gone())
    return;
  if (interactive_ && bar_shown_) {
    std::fputc('\n', out_);
    bar_shown_ = false;
  }
  std::fflush(out_);
}

// -- file sinks ---------------------------------------------------------------

file_sink::file_sink(std::string path, const char* mode)
    : path_(std::move(path)) {
  file_ = open_file(path_, mode);
}

file_sink::~file_sink() {
  if (file_ != nullptr)
    std::fclose(file_);
}

std::string file_sink::path() const {
  return path_;
}

FILE* file_sink::file() const {
  if (file_ == nullptr)
    throw output_error(path_ + ": written after close");
  return file_;
}

void file_sink::reopen(const char* mode) {
  if (file_ != nullptr)
    std::fclose(file_);
  file_ = nullptr;
  file_ = open_file(path_, mode);
  mark_whole();
}

void file_sink::append_record(const std::string& text) {
  auto f = file();
  if (std::fseek(f, 0, SEEK_END) != 0)
    io_failure(path_, "cannot seek");
  put(f, path_, text);
  flush_file(f, path_);
  mark_whole();
}

void file_sink::mark_whole() {
  struct stat st {};
  if (std::fflush(file()) != 0 || ::fstat(fileno(file()), &st) != 0)
    io_failure(path_, "cannot stat");
  whole_ = st.st_size;
}

void file_sink::abandon() noexcept {
  if (file_ == nullptr)
    return;
  // Cut back to the last whole record (and the record an amend took back):
  // a reader never sees half a line or half an event.
  cut_back_and_close(file_, whole_, taken_back_);
  file_ = nullptr;
}

void file_sink::close() {
  if (file_ == nullptr)
    return;
  auto rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0)
    io_failure(path_, "close failed");
}

// -- csv ----------------------------------------------------------------------

csv_sink::csv_sink(std::string path) : file_sink(std::move(path), "w") {
  append_record("step,epoch\n");
}

std::string csv_sink::name() const {
  return "csv";
}

void csv_sink::write(int64_t step, int64_t epoch, const metric_values& ms) {
  auto f = file();
  if (have_row_ && step != row_step_) {
    // The previous step is final.
    if (!row_on_disk_)
      write_row();
    have_row_ = false;
    row_on_disk_ = false;
    row_.clear();
  }
  if (have_row_ && row_on_disk_) {
    // More values for the step already on disk: take its line back.
    if (std::fflush(f) != 0 || ftruncate(fileno(f), row_offset_) != 0
        || std::fseek(f, 0, SEEK_END) != 0)
      io_failure(path_, "cannot amend the last row");
    // Until the amended row is written, the old one is what abandon()
    // puts back.
    taken_back_ = row_text_;
    mark_whole();
    row_on_disk_ = false;
  }
  if (!have_row_) {
    have_row_ = true;
    row_step_ = step;
    row_epoch_ = epoch;
  }
  for (const auto& m : ms) {
    row_[m.name] = m.value;
    if (!std::binary_search(columns_.begin(), columns_.end(), m.name)) {
      columns_.insert(
        std::upper_bound(columns_.begin(), columns_.end(), m.name), m.name);
      widened_ = true;
    }
  }
}

void csv_sink::rewrite_with_header() {
  // Re-read what is on disk, map it onto the wider header, then replace the
  // file atomically: the old file stays intact until the rename.
  flush_file(file(), path_);
  std::ifstream in(path_);
  if (!in)
    io_failure(path_, "cannot re-read");
  std::string out = "step,epoch";
  for (const auto& c : columns_)
    out += "," + csv_field(c);
  out += "\n";
  try {
    std::vector<std::string> old_cols;
    if (!read_csv_record(in, old_cols) || old_cols.size() < 2)
      throw std::runtime_error("no header");
    // Where each old column goes in the new header.
    std::vector<size_t> where(old_cols.size());
    for (size_t i = 0; i < old_cols.size(); ++i) {
      if (i < 2) {
        where[i] = i;
        continue;
      }
      auto it = std::find(columns_.begin(), columns_.end(), old_cols[i]);
      if (it == columns_.end())
        throw std::runtime_error("column '" + old_cols[i] + "' is unknown");
      where[i] = 2 + static_cast<size_t>(it - columns_.begin());
    }
    std::vector<std::string> old_cells;
    while (read_csv_record(in, old_cells)) {
      if (old_cells.size() > where.size())
        throw std::runtime_error("a row has more cells than the header");
      std::vector<std::string> cells(2 + columns_.size());
      for (size_t i = 0; i < old_cells.size(); ++i)
        cells[where[i]] = std::move(old_cells[i]);
      for (size_t i = 0; i < cells.size(); ++i)
        out += (i > 0 ? "," : "") + csv_field(cells[i]);
      out += "\n";
    }
  } catch (const std::runtime_error& e) {
    throw output_error(path_ + ": cannot widen the header: " + e.what());
  }
  in.close();
  write_file_atomic(path_, out);
  reopen("a");
  widened_ = false;
}

void csv_sink::flush() {
  if (have_row_ && !row_on_disk_)
    write_row();
}

void csv_sink::write_row() {
  if (widened_)
    rewrite_with_header();
  auto f = file();
  if (std::fseek(f, 0, SEEK_END) != 0)
    io_failure(path_, "cannot seek");
  row_offset_ = std::ftell(f);
  std::string out = fmt::format("{},{}", row_step_, row_epoch_);
  for (const auto& c : columns_) {
    out += ',';
    auto i = row_.find(c);
    if (i != row_.end())
      out += format_value(i->second);
  }
  out += '\n';
  put(f, path_, out);
  flush_file(f, path_);
  mark_whole();
  taken_back_.clear();
  row_text_ = std::move(out);
  row_on_disk_ = true;
}

void csv_sink::close() {
  if (!is_open())
    return;
  flush(); // the pending row
  file_sink::close();
}

// -- jsonl --------------------------------------------------------------------

jsonl_sink::jsonl_sink(std::string path) : file_sink(std::move(path), "w") {
  // nop
}

std::string jsonl_sink::name() const {
  return "jsonl";
}

void jsonl_sink::write(int64_t step, int64_t epoch, const metric_values& ms) {
  auto f = file();
  std::string out;
  for (const auto& m : ms)
    out += fmt::format("{{\"step\": {}, \"epoch\": {}, \"name\": {}, "
                       "\"value\": {}}}\n",
                       step, epoch, json_quote(m.name), json_number(m.value));
  append_record(out);
}

// -- tensorboard --------------------------------------------------------------

namespace {

double unix_seconds() {
  return std::chrono::duration<double>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0)
    return "localhost";
  return buf;
}

} // namespace

tensorboard_sink::tensorboard_sink(const std::string& run_dir)
    : file_sink(fmt::format("{}/events.out.tfevents.{}.{}", run_dir,
                            static_cast<int64_t>(unix_seconds()), hostname()),
                "wb") {
  append(encode_file_version_event(unix_seconds()));
}

std::string tensorboard_sink::name() const {
  return "tensorboard";
}

void tensorboard_sink::append(const std::string& event) {
  append_record(frame_record(event));
}

void tensorboard_sink::hyperparameters(const std::string& config_json) {
  // A markdown table: TensorBoard's text plugin renders it.
  std::string text = "| option | value |\n|---|---|\n";
  for (const auto& f : parse_json_object(config_json))
    text += fmt::format("| {} | {} |\n", f.key,
                        f.is_string ? json_quote(f.value) : f.value);
  append(encode_text_event(unix_seconds(), 0, "hparams", text));
}

void tensorboard_sink::write(int64_t step, int64_t, const metric_values& ms) {
  std::vector<std::pair<std::string, float>> values;
  values.reserve(ms.size());
  for (const auto& m : ms)
    values.emplace_back(m.name, static_cast<float>(m.value));
  append(encode_scalars_event(unix_seconds(), step, values));
}

// -- factory ------------------------------------------------------------------

std::unique_ptr<sink> make_sink(const std::string& name,
                                const std::string& run_dir, FILE* terminal) {
  if (name == "console")
    return std::make_unique<console_sink>(terminal);
  if (name == "csv")
    return std::make_unique<csv_sink>(run_dir + "/metrics.csv");
  if (name == "jsonl")
    return std::make_unique<jsonl_sink>(run_dir + "/metrics.jsonl");
  if (name == "tensorboard")
    return std::make_unique<tensorboard_sink>(run_dir);
  throw output_error("unknown logger '" + name + "'");
}

} // namespace troupe::core
