#pragma once

// Command-line options in `--name=value` form. CAF 0.17's own option parser
// rejects `--flag=false`, so launchers use this one.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "troupe/core/config/options.hpp"

namespace troupe::core {

class arg_parser {
public:
  /// What is wrong with a value, "" when it is valid.
  template <class T>
  using check_fn = std::function<std::string(const T&)>;

  arg_parser(std::string program, std::string summary);

  // Each option may come with a check: parse() applies it to the value the
  // option ends with (given or default) and throws config_error naming the
  // option when it complains.

  void add(const std::string& name, const std::string& help, int64_t& dst,
           check_fn<int64_t> check = {});
  void add(const std::string& name, const std::string& help, uint64_t& dst,
           check_fn<uint64_t> check = {});
  void add(const std::string& name, const std::string& help, double& dst,
           check_fn<double> check = {});
  /// A number, or `none` (unset: the default it stands for applies).
  void add(const std::string& name, const std::string& help,
           std::optional<double>& dst,
           check_fn<std::optional<double>> check = {});
  /// `A,B` (two numbers), or `none`.
  void add(const std::string& name, const std::string& help,
           std::optional<std::array<double, 2>>& dst,
           check_fn<std::optional<std::array<double, 2>>> check = {});
  /// Accepts `--name`, `--name=true` and `--name=false`.
  void add(const std::string& name, const std::string& help, bool& dst,
           check_fn<bool> check = {});
  void add(const std::string& name, const std::string& help, std::string& dst,
           check_fn<std::string> check = {});
  /// A comma-separated list.
  void add(const std::string& name, const std::string& help,
           std::vector<std::string>& dst,
           check_fn<std::vector<std::string>> check = {});
  /// `NAME=SPEC[,NAME=SPEC...]`.
  void add(const std::string& name, const std::string& help,
           std::map<std::string, reduction_spec>& dst,
           check_fn<std::map<std::string, reduction_spec>> check = {});
  /// `full` or `digest`.
  void add(const std::string& name, const std::string& help, trace_tensors& dst,
           check_fn<trace_tensors> check = {});

  /// Parses `argv`, then checks every option; returns false when `--help`
  /// was given. Throws config_error naming the option for unknown options,
  /// bad values and values out of range. Numbers are strict: no blanks, no
  /// sign on unsigned values, nothing that does not fit the type.
  bool parse(int argc, const char* const* argv);

  /// Sets option `name` from `text` as `--name=text` would (no check).
  /// Throws config_error naming the option.
  void set(const std::string& name, const std::string& text);

  /// Runs every option's check on its current value.
  void check() const;

  /// True when an option `name` was registered.
  bool has(const std::string& name) const;

  /// The usage text, with each option's help and current (default) value.
  std::string help() const;

private:
  struct option {
    std::string name;
    std::string help;
    std::function<std::string()> current;
    std::function<void(const std::string&, bool has_value)> set;
    std::function<std::string()> check;
  };

  template <class T>
  static std::function<std::string()>
  bind_check(const T& dst, check_fn<T> check) {
    if (!check)
      return {};
    return [&dst, check] {
      return check(dst);
    };
  }

  std::string program_;
  std::string summary_;
  std::vector<option> options_;
};

/// Registers every trainer option of option_table.hpp under its flag, in
/// the table's order.
void add_trainer_options(arg_parser& parser, trainer_options& opts);

} // namespace troupe::core
