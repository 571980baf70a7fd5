#include "troupe/core/config/config_file.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>

#include "troupe/core/config/cli.hpp"
#include "troupe/core/config/option_table.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"
#include "troupe/core/util/numbers.hpp"

namespace troupe::core {

namespace {

/// The command-line text of a config.json value.
std::string as_cli_text(const json_field& f) {
  if (f.is_string)
    return f.value;
  if (!f.value.empty() && f.value.front() == '['
      && f.value.find('"') == std::string::npos) {
    // Numbers (betas): the flag takes them comma-joined.
    std::string out;
    for (char c : f.value.substr(1, f.value.size() - 2))
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
        out += c;
    return out; // "" for [] (an empty list of words)
  }
  if (!f.value.empty() && f.value.front() == '[') {
    std::string out;
    for (const auto& x : parse_json_strings(f.value)) {
      if (x.find(',') != std::string::npos)
        throw std::runtime_error("an item holds a comma: '" + x + "'");
      out += (out.empty() ? "" : ",") + x;
    }
    return out;
  }
  if (!f.value.empty() && f.value.front() == '{') {
    std::string out;
    for (const auto& m : parse_json_object(f.value)) {
      if (!m.is_string)
        throw std::runtime_error("'" + m.key + "' is not a string");
      if (m.key.find_first_of(",=") != std::string::npos
          || m.value.find(',') != std::string::npos)
        throw std::runtime_error("'" + m.key + "': '" + m.value
                                 + "' holds a ',' or '='");
      out += (out.empty() ? "" : ",") + m.key + "=" + m.value;
    }
    return out;
  }
  if (f.value == "null")
    return "none"; // an unset option (only those accept it)
  return f.value;
}

int64_t schedule_field(const std::vector<json_field>& fields,
                       const std::string& path, const char* key, int64_t min) {
  auto f = find_field(fields, key);
  if (f == nullptr)
    throw data_error(path,
                     fmt::format("no field '{}' (written by an older "
                                 "troupe?)",
                                 key));
  int64_t x = 0;
  auto what = f->is_string ? fmt::format("expected an integer, got a string")
                           : parse_int64(f->value, x);
  if (what.empty() && x < min)
    what = fmt::format("must be at least {}, got {}", min, x);
  if (!what.empty())
    throw data_error(path, fmt::format("field '{}': {}", key, what));
  return x;
}

} // namespace

std::string config_json(const trainer_options& options, const schedule& sched,
                        const compute_record& compute) {
  auto text = to_json(options);
  text.pop_back(); // '}'
  text += fmt::format(", \"steps_per_epoch\": {}, \"total_steps\": {}, "
                      "\"train_samples\": {}",
                      sched.steps_per_epoch, sched.total_steps,
                      sched.train_size);
  if (!compute.blas.empty())
    text += fmt::format(", \"blas\": {}, \"blas_core\": {}, "
                        "\"intra_op_threads_used\": {}",
                        json_quote(compute.blas), json_quote(compute.blas_core),
                        compute.intra_op_threads);
  return text + "}";
}

recorded_config parse_config_json(const std::string& text,
                                  const std::string& path) {
  std::vector<json_field> fields;
  try {
    fields = parse_json_object(text);
  } catch (const std::exception& e) {
    throw data_error(path, e.what());
  }
  recorded_config out;
  auto& opts = out.options;
  arg_parser parser{"config.json", ""};
  add_trainer_options(parser, opts);
  // Options by key, then every check of the command line.
  std::string current;
  try {
    for_each_option(opts, [&](const auto& info, auto& field) {
      auto f = find_field(fields, info.key);
      if (f == nullptr)
        return;
      current = info.key;
      using T = std::decay_t<decltype(field)>;
      constexpr bool optional
        = std::is_same_v<
            T,
            std::optional<
              double>> || std::is_same_v<T, std::optional<std::array<double, 2>>>;
      if (!optional && !f->is_string && f->value == "null")
        throw config_error(info.flag, "null is not a value");
      std::string cli_text;
      try {
        cli_text = as_cli_text(*f);
      } catch (const std::exception& e) {
        throw config_error(info.flag, e.what());
      }
      parser.set(info.flag, cli_text);
    });
    current.clear();
    validate(opts); // the table's checks and the rules across options
  } catch (const config_error& e) {
    std::string key = current;
    for_each_option(opts, [&](const auto& info, auto&) {
      if (e.field() == info.flag)
        key = info.key;
    });
    throw data_error(path, fmt::format("field '{}': {}", key, e.what()));
  }
  auto train_samples = schedule_field(fields, path, "train_samples", 1);
  auto steps_per_epoch = schedule_field(fields, path, "steps_per_epoch", 1);
  auto total_steps = schedule_field(fields, path, "total_steps", 1);
  try {
    out.sched = schedule::make(opts, train_samples);
  } catch (const config_error& e) {
    throw data_error(path,
                     fmt::format("the options and train_samples = {} "
                                 "give no schedule: {}",
                                 train_samples, e.what()));
  }
  if (out.sched.steps_per_epoch != steps_per_epoch)
    throw data_error(path,
                     fmt::format("field 'steps_per_epoch' is {}, but "
                                 "the options and train_samples give {}",
                                 steps_per_epoch, out.sched.steps_per_epoch));
  if (out.sched.total_steps != total_steps)
    throw data_error(path,
                     fmt::format("field 'total_steps' is {}, but the "
                                 "options and train_samples give {}",
                                 total_steps, out.sched.total_steps));
  return out;
}

recorded_config read_config_json(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw data_error(path, "is a directory, not a config.json");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw data_error(path, "cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    throw data_error(path, "read failed");
  return parse_config_json(ss.str(), path);
}

} // namespace troupe::core
