#include "troupe/core/config/cli.hpp"

#include <fmt/format.h>

#include "troupe/core/config/option_table.hpp"
#include "troupe/core/util/errors.hpp"

namespace troupe::core {

namespace {

template <class T, class Parse>
T parse_number(const std::string& name, const std::string& text, Parse parse,
               const char* kind) {
  size_t used = 0;
  T result{};
  try {
    result = parse(text, &used);
  } catch (...) {
    used = 0;
  }
  if (text.empty() || used != text.size())
    throw config_error(name, fmt::format("expected {}, got '{}'", kind, text));
  return result;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    auto end = text.find(',', pos);
    if (end == std::string::npos)
      end = text.size();
    if (end > pos)
      out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

void need_value(const std::string& name, bool has_value) {
  if (!has_value)
    throw config_error(name, "needs a value (--" + name + "=VALUE)");
}

} // namespace

arg_parser::arg_parser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  // nop
}

void arg_parser::add(const std::string& name, const std::string& help,
                     int64_t& dst) {
  options_.push_back({name, help,
                      [&dst] {
                        return std::to_string(dst);
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = parse_number<int64_t>(
                          name, v,
                          [](const std::string& s, size_t* n) {
                            return std::stoll(s, n);
                          },
                          "an integer");
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     uint64_t& dst) {
  options_.push_back(
    {name, help,
     [&dst] {
       return std::to_string(dst);
     },
     [&dst, name](const std::string& v, bool has) {
       need_value(name, has);
       if (!v.empty() && v[0] == '-')
         throw config_error(name,
                            "expected a non-negative integer, got '" + v + "'");
       dst = parse_number<uint64_t>(
         name, v,
         [](const std::string& s, size_t* n) {
           return std::stoull(s, n);
         },
         "a non-negative integer");
     }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     double& dst) {
  options_.push_back({name, help,
                      [&dst] {
                        return fmt::format("{}", dst);
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = parse_number<double>(
                          name, v,
                          [](const std::string& s, size_t* n) {
                            return std::stod(s, n);
                          },
                          "a number");
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     bool& dst) {
  options_.push_back({name, help,
                      [&dst] {
                        return dst ? "true" : "false";
                      },
                      [&dst, name](const std::string& v, bool has) {
                        if (!has || v == "true")
                          dst = true;
                        else if (v == "false")
                          dst = false;
                        else
                          throw config_error(name,
                                             "expected true or false, "
                                             "got '"
                                               + v + "'");
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::string& dst) {
  options_.push_back({name, help,
                      [&dst] {
                        return dst;
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = v;
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::vector<std::string>& dst) {
  options_.push_back({name, help,
                      [&dst] {
                        std::string out;
                        for (const auto& x : dst)
                          out += (out.empty() ? "" : ",") + x;
                        return out;
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = split(v);
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::map<std::string, reduction_spec>& dst) {
  options_.push_back({name, help,
                      [&dst] {
                        std::string out;
                        for (const auto& [k, v] : dst)
                          out += (out.empty() ? "" : ",") + k + "="
                            + to_string(v);
                        return out;
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        for (auto& [k, spec] : parse_reductions(v, name))
                          dst[k] = spec;
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     trace_tensors& dst) {
  options_.push_back(
    {name, help,
     [&dst] {
       return std::string{to_string(dst)};
     },
     [&dst, name](const std::string& v, bool has) {
       need_value(name, has);
       auto x = parse_trace_tensors(v);
       if (!x)
         throw config_error(name, "expected full or digest, got '" + v + "'");
       dst = *x;
     }});
}

bool arg_parser::parse(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return false;
    if (arg.rfind("--", 0) != 0)
      throw config_error(arg, "expected --name=value, got '" + arg + "'");
    auto eq = arg.find('=');
    auto name
      = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto value = eq == std::string::npos ? std::string{} : arg.substr(eq + 1);
    bool found = false;
    for (auto& opt : options_) {
      if (opt.name == name) {
        opt.set(value, eq != std::string::npos);
        found = true;
        break;
      }
    }
    if (!found)
      throw config_error(name, "unknown option (see --help)");
  }
  return true;
}

std::string arg_parser::help() const {
  std::string out = fmt::format("usage: {} [--name=value ...]\n\n{}\n\n",
                                program_, summary_);
  for (const auto& opt : options_)
    out += fmt::format("  --{:<22} {} (default: {})\n", opt.name, opt.help,
                       opt.current());
  out += fmt::format("  --{:<22} {}\n", "help", "print this text");
  return out;
}

void add_trainer_options(arg_parser& p, trainer_options& o) {
  for_each_option(o, [&p](const auto& info, auto& value) {
    p.add(info.flag, info.help, value);
  });
}

} // namespace troupe::core
