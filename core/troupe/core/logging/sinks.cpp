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

std::string sink::position() const {
  return {};
}

// -- resuming -----------------------------------------------------------------

namespace {

int64_t parse_size(const std::string& text, const std::string& file) {
  char* end = nullptr;
  errno = 0;
  auto x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end == text.c_str() || *end != 0 || errno != 0 || x < 0)
    throw data_error(file,
                     "the checkpoint's position '" + text + "' is not a size");
  return x;
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw data_error(path,
                     std::string{"cannot resume it: "} + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw data_error(path, "cannot resume it: not a regular file");
  return st.st_size;
}

/// Checks that `path` holds at least `size` bytes.
void check_size(const std::string& path, int64_t size) {
  auto have = file_size(path);
  if (have < size)
    throw data_error(path,
                     fmt::format("cannot resume it: {} bytes, the "
                                 "checkpoint saw {} (the file was cut "
                                 "or replaced)",
                                 have, size));
}

/// `path` after cutting it back to `size` bytes.
std::string cut_to(const std::string& path, int64_t size) {
  check_size(path, size);
  if (::truncate(path.c_str(), size) != 0)
    io_failure(path, "cannot cut back to the checkpoint");
  return path;
}

/// A tensorboard position: the events file's name, then its size.
std::pair<std::string, int64_t> tb_position(const std::string& run_dir,
                                            const std::string& position) {
  auto nl = position.find('\n');
  auto name = position.substr(0, nl);
  if (nl == std::string::npos || name.empty()
      || name.find('/') != std::string::npos
      || name.rfind("events.out.tfevents.", 0) != 0)
    throw data_error(run_dir,
                     "the checkpoint's tensorboard position does "
                     "not name an events file");
  auto path = run_dir + "/" + name;
  return {path, parse_size(position.substr(nl + 1), path)};
}

/// A csv position, as csv_sink::position writes it.
struct csv_position {
  int64_t rows = 0; ///< data rows on disk
  std::vector<std::string> columns;
  int64_t step = 0, epoch = 0;
  std::string open_row; ///< the last row's line while it may be amended
};

csv_position parse_csv_position(const std::string& text,
                                const std::string& path) {
  std::istringstream in(text);
  std::string rows, step, epoch, columns;
  csv_position p;
  if (!std::getline(in, rows) || !std::getline(in, step)
      || !std::getline(in, epoch) || !std::getline(in, columns))
    throw data_error(path, "the checkpoint's csv position is incomplete");
  p.rows = parse_size(rows, path);
  p.step = parse_size(step, path);
  p.epoch = parse_size(epoch, path);
  try {
    p.columns = parse_json_strings(columns);
  } catch (const std::exception& e) {
    throw data_error(path,
                     std::string{"the checkpoint's csv columns do not "
                                 "parse: "}
                       + e.what());
  }
  std::getline(in, p.open_row);
  return p;
}

/// The file as it was at position `p`: its header then, its rows then
/// (cells of later columns dropped: they were empty then), the open row as
/// it was. Throws data_error when the file holds less than that.
std::string csv_restored(const std::string& path, const csv_position& p) {
  file_size(path);
  std::ifstream in(path);
  if (!in)
    throw data_error(path, "cannot resume it: cannot read it");
  std::vector<std::string> header;
  if (!read_csv_record(in, header) || header.size() < 2 || header[0] != "step"
      || header[1] != "epoch")
    throw data_error(path, "cannot resume it: no step,epoch header");
  std::string out = "step,epoch";
  for (const auto& c : p.columns)
    out += "," + csv_field(c);
  out += "\n";
  // Where each column of the file goes in the checkpoint's header.
  std::vector<int64_t> where(header.size(), -1);
  where[0] = 0;
  where[1] = 1;
  for (size_t i = 2; i < header.size(); ++i) {
    auto it = std::find(p.columns.begin(), p.columns.end(), header[i]);
    if (it != p.columns.end())
      where[i] = 2 + (it - p.columns.begin());
  }
  auto keep = p.rows - (p.open_row.empty() ? 0 : 1);
  std::vector<std::string> cells;
  for (int64_t r = 0; r < keep; ++r) {
    if (!read_csv_record(in, cells))
      throw data_error(path,
                       fmt::format("cannot resume it: {} rows, the "
                                   "checkpoint saw {}",
                                   r, p.rows));
    std::vector<std::string> row(2 + p.columns.size());
    for (size_t i = 0; i < cells.size() && i < where.size(); ++i) {
      if (where[i] >= 0)
        row[static_cast<size_t>(where[i])] = std::move(cells[i]);
      else if (!cells[i].empty())
        throw data_error(path,
                         fmt::format("cannot resume it: row {} has a "
                                     "value for '{}', a column the "
                                     "checkpoint did not have",
                                     r + 1, header[i]));
    }
    for (size_t i = 0; i < row.size(); ++i)
      out += (i > 0 ? "," : "") + csv_field(row[i]);
    out += "\n";
  }
  return out;
}

} // namespace

void check_resumable(const std::string& name, const std::string& run_dir,
                     const std::string& position) {
  if (name == "jsonl") {
    auto path = run_dir + "/metrics.jsonl";
    check_size(path, parse_size(position, path));
  } else if (name == "tensorboard") {
    auto [path, size] = tb_position(run_dir, position);
    check_size(path, size);
  } else if (name == "csv") {
    auto path = run_dir + "/metrics.csv";
    csv_restored(path, parse_csv_position(position, path));
  }
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

csv_sink::csv_sink(std::string path, const std::string& position)
    : file_sink(path, "a") {
  auto p = parse_csv_position(position, path_);
  auto text = csv_restored(path_, p);
  columns_ = p.columns;
  if (!p.open_row.empty()) {
    row_offset_ = static_cast<long>(text.size());
    row_text_ = p.open_row + "\n";
    text += row_text_;
    have_row_ = true;
    row_on_disk_ = true;
    row_step_ = p.step;
    row_epoch_ = p.epoch;
    // The open row's values, to amend it: cells after step and epoch, by
    // column (shortest round-trip text parses back to the same double).
    std::istringstream in(row_text_);
    std::vector<std::string> cells;
    read_csv_record(in, cells);
    for (size_t i = 2; i < cells.size() && i - 2 < columns_.size(); ++i)
      if (!cells[i].empty())
        row_[columns_[i - 2]] = std::strtod(cells[i].c_str(), nullptr);
    final_rows_ = p.rows - 1;
  } else {
    final_rows_ = p.rows;
  }
  write_file_atomic(path_, text);
  reopen("a");
}

std::string csv_sink::position() const {
  bool open = have_row_ && row_on_disk_;
  std::string cols = "[";
  for (size_t i = 0; i < columns_.size(); ++i)
    cols += (i > 0 ? "," : "") + json_quote(columns_[i]);
  cols += "]";
  auto row = open ? row_text_.substr(0, row_text_.size() - 1) : std::string{};
  return fmt::format("{}\n{}\n{}\n{}\n{}", final_rows_ + (open ? 1 : 0),
                     open ? row_step_ : 0, open ? row_epoch_ : 0, cols, row);
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
    ++final_rows_;
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

jsonl_sink::jsonl_sink(std::string path, const std::string& position)
    : file_sink(cut_to(path, parse_size(position, path)), "a") {
  mark_whole();
}

std::string jsonl_sink::position() const {
  return fmt::format("{}", whole_size());
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

tensorboard_sink::tensorboard_sink(const std::string& run_dir,
                                   const std::string& position)
    : file_sink(cut_to(tb_position(run_dir, position).first,
                       tb_position(run_dir, position).second),
                "ab") {
  mark_whole();
}

std::string tensorboard_sink::position() const {
  auto slash = path_.rfind('/');
  return fmt::format("{}\n{}", path_.substr(slash + 1), whole_size());
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
                                const std::string& run_dir, FILE* terminal,
                                const std::string* position) {
  if (name == "console")
    return std::make_unique<console_sink>(terminal);
  if (name == "csv")
    return position
      ? std::make_unique<csv_sink>(run_dir + "/metrics.csv", *position)
      : std::make_unique<csv_sink>(run_dir + "/metrics.csv");
  if (name == "jsonl")
    return position
      ? std::make_unique<jsonl_sink>(run_dir + "/metrics.jsonl", *position)
      : std::make_unique<jsonl_sink>(run_dir + "/metrics.jsonl");
  if (name == "tensorboard")
    return position ? std::make_unique<tensorboard_sink>(run_dir, *position)
                    : std::make_unique<tensorboard_sink>(run_dir);
  throw output_error("unknown logger '" + name + "'");
}

} // namespace troupe::core
