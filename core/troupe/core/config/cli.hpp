#pragma once

// Command-line options in `--name=value` form. CAF 0.17's own option parser
// rejects `--flag=false`, so launchers use this one.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "troupe/core/config/options.hpp"

namespace troupe::core {

class arg_parser {
public:
  arg_parser(std::string program, std::string summary);

  void add(const std::string& name, const std::string& help, int64_t& dst);
  void add(const std::string& name, const std::string& help, uint64_t& dst);
  void add(const std::string& name, const std::string& help, double& dst);
  /// Accepts `--name`, `--name=true` and `--name=false`.
  void add(const std::string& name, const std::string& help, bool& dst);
  void add(const std::string& name, const std::string& help, std::string& dst);
  /// A comma-separated list.
  void add(const std::string& name, const std::string& help,
           std::vector<std::string>& dst);
  /// `NAME=SPEC[,NAME=SPEC...]`.
  void add(const std::string& name, const std::string& help,
           std::map<std::string, reduction_spec>& dst);
  /// `full` or `digest`.
  void add(const std::string& name, const std::string& help,
           trace_tensors& dst);

  /// Parses `argv`; returns false when `--help` was given. Throws
  /// config_error naming the option for unknown options and bad values.
  bool parse(int argc, const char* const* argv);

  /// The usage text, with each option's help and current (default) value.
  std::string help() const;

private:
  struct option {
    std::string name;
    std::string help;
    std::function<std::string()> current;
    std::function<void(const std::string&, bool has_value)> set;
  };

  std::string program_;
  std::string summary_;
  std::vector<option> options_;
};

/// Registers every trainer option of option_table.hpp under its flag, in
/// the table's order.
void add_trainer_options(arg_parser& parser, trainer_options& opts);

} // namespace troupe::core
