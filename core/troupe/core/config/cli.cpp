#include "troupe/core/config/cli.hpp"

#include <fmt/format.h>

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
  options_.push_back(
    {name, help, [&dst] { return std::to_string(dst); },
     [&dst, name](const std::string& v, bool has) {
       need_value(name, has);
       dst = parse_number<int64_t>(
         name, v,
         [](const std::string& s, size_t* n) { return std::stoll(s, n); },
         "an integer");
     }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     uint64_t& dst) {
  options_.push_back(
    {name, help, [&dst] { return std::to_string(dst); },
     [&dst, name](const std::string& v, bool has) {
       need_value(name, has);
       if (!v.empty() && v[0] == '-')
         throw config_error(name, "expected a non-negative integer, got '" + v
                                    + "'");
       dst = parse_number<uint64_t>(
         name, v,
         [](const std::string& s, size_t* n) { return std::stoull(s, n); },
         "a non-negative integer");
     }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     double& dst) {
  options_.push_back(
    {name, help, [&dst] { return fmt::format("{}", dst); },
     [&dst, name](const std::string& v, bool has) {
       need_value(name, has);
       dst = parse_number<double>(
         name, v,
         [](const std::string& s, size_t* n) { return std::stod(s, n); },
         "a number");
     }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     bool& dst) {
  options_.push_back({name, help, [&dst] { return dst ? "true" : "false"; },
                      [&dst, name](const std::string& v, bool has) {
                        if (!has || v == "true")
                          dst = true;
                        else if (v == "false")
                          dst = false;
                        else
                          throw config_error(name, "expected true or false, "
                                                   "got '"
                                                     + v + "'");
                      }});
}

void arg_parser::add(const std::string& name, const std::string& help,
                     std::string& dst) {
  options_.push_back({name, help, [&dst] { return dst; },
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

bool arg_parser::parse(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return false;
    if (arg.rfind("--", 0) != 0)
      throw config_error(arg, "expected --name=value, got '" + arg + "'");
    auto eq = arg.find('=');
    auto name = arg.substr(2, eq == std::string::npos ? std::string::npos
                                                       : eq - 2);
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
  p.add("replicas", "data-parallel replicas (one stepper each)", o.replicas);
  p.add("accumulate", "micro-batches per replica per optimizer step",
        o.accumulate);
  p.add("batch-size", "samples per micro-batch (per replica)", o.batch_size);
  p.add("lr", "SGD learning rate", o.lr);
  p.add("momentum", "SGD momentum", o.momentum);
  p.add("max-epochs", "epochs to train", o.max_epochs);
  p.add("max-steps", "stop after this many optimizer steps (-1: no limit)",
        o.max_steps);
  p.add("val-every-n-steps", "validate every N steps (0: at epoch ends)",
        o.val_every_n_steps);
  p.add("log-every-n-steps", "write training metrics every N steps",
        o.log_every_n_steps);
  p.add("reduce",
        "window reduction per metric, NAME=SPEC,... with SPEC one of mean, "
        "sum, last, min, max, ema:ALPHA",
        o.reduce);
  p.add("seed", "seed of initialisation and data order", o.seed);
  p.add("shuffle", "shuffle the training set each epoch (true/false)",
        o.shuffle);
  p.add("run-dir", "output directory (default runs/<launcher>/version_<N>)",
        o.run_dir);
  p.add("overwrite", "allow a run directory that already holds metrics",
        o.overwrite);
  p.add("loggers", "comma list of sinks: console, csv, jsonl, tensorboard", o.loggers);
  p.add("report", "write <run-dir>/report.html at the end (true/false)",
        o.report);
  p.add("augment",
        "training augmentation done by the loader: none, or rotate:D, "
        "crop:P, flip joined by '+'",
        o.augment);
  p.add("trace",
        "record inbound messages of these actors to <run-dir>/trace: "
        "coordinator, logger, aggregator, loader, stepper, callback or all",
        o.trace);
  p.add("trace-tensors",
        "how traces record gradients: full (by value, replayable) or digest "
        "(shape, dtype, 64-bit digest)",
        o.trace_tensors);
  p.add("scheduler-threads", "actor system worker threads (0: one per core)",
        o.scheduler_threads);
  p.add("export-params",
        "directory for params_init.pt and params_final.pt (torch::save)",
        o.export_params);
  p.add("device", "device of every replica (cpu)", o.device);
  p.add("eval-batch-size", "samples per forward pass in evaluation",
        o.eval_batch_size);
  p.add("timeout", "seconds without progress before the fit fails",
        o.timeout_seconds);
}

} // namespace troupe::core
