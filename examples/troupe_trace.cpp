// troupe-trace: reads the traces written with --trace.
//
//   troupe-trace dump  FILE      one line per record: index, kind, type, fields
//   troupe-trace stats FILE      records and bytes per message type
//   troupe-trace diff  A B       the first differing record, both sides shown
//   troupe-trace render RUN_DIR --out=DIR [--log-every-n-steps=N]
//                [--reduce=NAME=SPEC,...] [--loggers=csv,jsonl,tensorboard]
//                                rebuilds the metric files from the run's
//                                coordinator trace: no retraining
//
// A truncated or corrupt trace is refused naming the record and byte offset.
// Exit codes: 0 ok (diff: identical), 1 traces differ, 2 bad usage or input.

#include <cstdio>
#include <map>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/core/config/cli.hpp"
#include "troupe/core/trace/render.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/messages/type_ids.hpp"

namespace {

using troupe::core::trace_entry;
using troupe::core::trace_reader;

const char* kind_name(troupe::core::trace_kind k) {
  switch (k) {
    case troupe::core::trace_kind::request:
      return "request";
    case troupe::core::trace_kind::response:
      return "response";
    default:
      return "async";
  }
}

/// The message's first element type, read off its printed form.
std::string type_of(const std::string& printed) {
  auto s = printed.substr(printed.empty() || printed[0] != '(' ? 0 : 1);
  if (s.empty())
    return "empty";
  if (s[0] == '\'')
    return "atom";
  if (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
    return "number";
  if (s.rfind("true", 0) == 0 || s.rfind("false", 0) == 0)
    return "bool";
  return s.substr(0, s.find_first_of("(,)"));
}

/// The record's content as bytes: the comparison diff makes (printed
/// doubles are rounded, bytes are not).
std::vector<char> bytes_of(caf::actor_system& sys, const trace_entry& e) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto k = static_cast<uint8_t>(e.kind);
  if (sink(k, const_cast<caf::message&>(e.content)))
    buf.clear();
  return buf;
}

std::string line_of(const trace_entry& e) {
  auto text = caf::to_string(e.content);
  return fmt::format("{:>6} {:<8} {:<22} {}", e.index, kind_name(e.kind),
                     type_of(text), text);
}

int dump(caf::actor_system& sys, const std::string& path) {
  trace_reader r{sys, path};
  fmt::print("# {} trace, format version {}, {} message types, gradients "
             "recorded {}\n",
             r.header().actor, r.header().version, r.header().types.size(),
             r.header().tensors == "digest" ? "as digests" : "by value");
  trace_entry e;
  while (r.next(e))
    fmt::print("{}\n", line_of(e));
  return 0;
}

int stats(caf::actor_system& sys, const std::string& path) {
  trace_reader r{sys, path};
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;
  uint64_t records = 0;
  uint64_t bytes = 0;
  trace_entry e;
  while (r.next(e)) {
    auto& x = by_type[type_of(caf::to_string(e.content))];
    ++x.first;
    x.second += e.size;
    ++records;
    bytes += e.size;
  }
  fmt::print("# {}: {} records, {} bytes of records\n", r.header().actor,
             records, bytes);
  fmt::print("{:<24} {:>10} {:>12}\n", "type", "records", "bytes");
  for (const auto& [type, x] : by_type)
    fmt::print("{:<24} {:>10} {:>12}\n", type, x.first, x.second);
  return 0;
}

int diff(caf::actor_system& sys, const std::string& a, const std::string& b) {
  trace_reader ra{sys, a};
  trace_reader rb{sys, b};
  trace_entry ea;
  trace_entry eb;
  for (;;) {
    bool ha = ra.next(ea);
    bool hb = rb.next(eb);
    if (!ha && !hb) {
      fmt::print("identical: {} records\n", ea.index + (ea.size > 0 ? 1 : 0));
      return 0;
    }
    if (ha != hb) {
      const auto& longer = ha ? ea : eb;
      fmt::print("{} ends after {} records; the other goes on:\n> {}\n",
                 ha ? b : a, longer.index, line_of(longer));
      return 1;
    }
    if (bytes_of(sys, ea) != bytes_of(sys, eb)) {
      fmt::print("first difference at record {}:\n< {}\n> {}\n", ea.index,
                 line_of(ea), line_of(eb));
      return 1;
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  std::string usage
    = "usage: troupe-trace dump FILE | stats FILE | diff A B |\n"
      "       render RUN_DIR --out=DIR [--log-every-n-steps=N] "
      "[--reduce=NAME=SPEC,...] [--loggers=csv,jsonl,tensorboard] "
      "[--force]\n";
  if (argc >= 2
      && (std::string{argv[1]} == "--help" || std::string{argv[1]} == "-h")) {
    fmt::print("{}", usage);
    return 0;
  }
  std::string cmd = argc >= 2 ? argv[1] : "";
  bool ok = (cmd == "dump" || cmd == "stats") ? argc == 3
    : cmd == "diff"                           ? argc == 4
    : cmd == "render"                         ? argc >= 3
                                              : false;
  if (!ok) {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::troupe>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  try {
    if (cmd == "render") {
      troupe::core::render_options ro;
      ro.run_dir = argv[2];
      troupe::core::arg_parser p("troupe-trace render", "");
      p.add("out", "output directory", ro.out_dir);
      p.add("log-every-n-steps", "logging interval", ro.log_every_n_steps);
      p.add("reduce", "window reduction per metric", ro.reduce);
      p.add("loggers", "csv, jsonl, tensorboard", ro.loggers);
      p.add("force", "replace a run already in --out", ro.force);
      // Options follow the run directory: parse them as their own argv.
      std::vector<const char*> args{"render"};
      for (int i = 3; i < argc; ++i)
        args.push_back(argv[i]);
      if (!p.parse(static_cast<int>(args.size()), args.data())
          || ro.out_dir.empty()) {
        fmt::print(stderr, "{}", usage);
        return 2;
      }
      auto steps = troupe::core::render_metrics(sys, ro);
      fmt::print("rendered {} steps into {}\n", steps, ro.out_dir);
      return 0;
    }
    if (cmd == "dump")
      return dump(sys, argv[2]);
    if (cmd == "stats")
      return stats(sys, argv[2]);
    return diff(sys, argv[2], argv[3]);
  } catch (const troupe::core::trace_error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    // config_error, data_error, output_error: bad arguments or input.
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  }
}
