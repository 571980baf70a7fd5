#pragma once

#include <stdexcept>
#include <string>

namespace troupe::core {

/// An invalid configuration value; `field()` names the option.
class config_error : public std::runtime_error {
public:
  config_error(std::string field, const std::string& what)
      : std::runtime_error("invalid --" + field + ": " + what),
        field_(std::move(field)) {}

  const std::string& field() const noexcept {
    return field_;
  }

private:
  std::string field_;
};

/// Missing, truncated or corrupt input data; `file()` names the file.
class data_error : public std::runtime_error {
public:
  data_error(std::string file, const std::string& what)
      : std::runtime_error(file + ": " + what), file_(std::move(file)) {}

  const std::string& file() const noexcept {
    return file_;
  }

private:
  std::string file_;
};

/// An output location that cannot be used (run directory, sink file).
class output_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace troupe::core
