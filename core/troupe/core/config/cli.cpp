#include "troupe/core/config/cli.hpp"

#include <fmt/format.h>

#include "troupe/core/config/option_table.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/numbers.hpp"

namespace troupe::core {

namespace {

int64_t parse_int(const std::string& name, const std::string& text) {
  int64_t x = 0;
  if (auto what = parse_int64(text, x); !what.empty())
    throw config_error(name, what);
  return x;
}

uint64_t parse_uint(const std::string& name, const std::string& text) {
  uint64_t x = 0;
  if (auto what = parse_uint64(text, x); !what.empty())
    throw config_error(name, what);
  return x;
}

double parse_real(const std::string& name, const std::string& text) {
  double x = 0;
  if (auto what = parse_double(text, x); !what.empty())
    throw config_error(name, what);
  return x;
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
                     int64_t& dst, check_fn<int64_t> check) {
  options_.push_back({name, help,
                      [&dst] {
                        return std::to_string(dst);
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = parse_int(name, v);
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     uint64_t& dst, check_fn<uint64_t> check) {
  options_.push_back({name, help,
                      [&dst] {
                        return std::to_string(dst);
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = parse_uint(name, v);
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     double& dst, check_fn<double> check) {
  options_.push_back({name, help,
                      [&dst] {
                        return fmt::format("{}", dst);
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = parse_real(name, v);
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::optional<double>& dst,
                     check_fn<std::optional<double>> check) {
  options_.push_back({name, help,
                      [&dst] {
                        return dst ? fmt::format("{}", *dst)
                                   : std::string{"none"};
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        if (v == "none")
                          dst.reset();
                        else
                          dst = parse_real(name, v);
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::optional<std::array<double, 2>>& dst,
                     check_fn<std::optional<std::array<double, 2>>> check) {
  options_.push_back(
    {name, help,
     [&dst] {
       return dst ? fmt::format("{},{}", (*dst)[0], (*dst)[1])
                  : std::string{"none"};
     },
     [&dst, name](const std::string& v, bool has) {
       need_value(name, has);
       if (v == "none")
         return dst.reset();
       auto comma = v.find(',');
       if (comma == std::string::npos || v.find(',', comma + 1) != v.npos)
         throw config_error(name, "expected two numbers A,B, got '" + v + "'");
       dst = std::array<double, 2>{parse_real(name, v.substr(0, comma)),
                                   parse_real(name, v.substr(comma + 1))};
     },
     bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     bool& dst, check_fn<bool> check) {
  options_.push_back(
    {name, help,
     [&dst] {
       return dst ? "true" : "false";
     },
     [&dst, name](const std::string& v, bool has) {
       if (!has || v == "true")
         dst = true;
       else if (v == "false")
         dst = false;
       else
         throw config_error(name, "expected true or false, got '" + v + "'");
     },
     bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::string& dst, check_fn<std::string> check) {
  options_.push_back({name, help,
                      [&dst] {
                        return dst;
                      },
                      [&dst, name](const std::string& v, bool has) {
                        need_value(name, has);
                        dst = v;
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::vector<std::string>& dst,
                     check_fn<std::vector<std::string>> check) {
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
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::map<std::string, reduction_spec>& dst,
                     check_fn<std::map<std::string, reduction_spec>> check) {
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
                      },
                      bind_check(dst, std::move(check))});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     trace_tensors& dst, check_fn<trace_tensors> check) {
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
     },
     bind_check(dst, std::move(check))});
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
  check();
  return true;
}

void arg_parser::set(const std::string& name, const std::string& text) {
  for (auto& opt : options_)
    if (opt.name == name)
      return opt.set(text, true);
  throw config_error(name, "unknown option");
}

void arg_parser::check() const {
  for (const auto& opt : options_)
    if (opt.check)
      if (auto what = opt.check(); !what.empty())
        throw config_error(opt.name, what);
}

bool arg_parser::has(const std::string& name) const {
  for (const auto& opt : options_)
    if (opt.name == name)
      return true;
  return false;
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
    p.add(info.flag, info.help, value, info.check);
  });
}

} // namespace troupe::core
