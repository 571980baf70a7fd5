#include "troupe/core/trace/render.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"
#include "troupe/core/train/metric_book.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::core {

namespace {

int64_t config_int(const std::vector<json_field>& cfg, const std::string& path,
                   const std::string& key) {
  auto f = find_field(cfg, key);
  if (f == nullptr)
    throw data_error(path, "no '" + key + "' (recorded by an older troupe?)");
  return std::stoll(f->value);
}

} // namespace

int64_t render_metrics(caf::actor_system& sys, const render_options& opts) {
  if (opts.log_every_n_steps < 1)
    throw config_error("log-every-n-steps", "must be at least 1");
  for (const auto& l : opts.loggers)
    if (l != "csv" && l != "jsonl" && l != "tensorboard")
      throw config_error("loggers", "render writes csv, jsonl or tensorboard, "
                                    "not '" + l + "'");
  auto config_path = opts.run_dir + "/config.json";
  std::ifstream in(config_path);
  if (!in)
    throw data_error(config_path, "cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<json_field> cfg;
  try {
    cfg = parse_json_object(ss.str());
  } catch (const std::exception& e) {
    throw data_error(config_path, e.what());
  }
  auto steps_per_epoch = config_int(cfg, config_path, "steps_per_epoch");
  auto total_steps = config_int(cfg, config_path, "total_steps");
  // What the coordinator received: step summaries, validation and test.
  std::map<int64_t, step_summary> steps;
  std::map<int64_t, metric_sums> validation;
  std::optional<eval_summary> test;
  trace_reader reader{sys, opts.run_dir + "/trace/coordinator.trace"};
  trace_entry e;
  while (reader.next(e)) {
    if (e.content.match_elements<step_summary>()) {
      auto s = e.content.get_as<step_summary>(0);
      steps.emplace(s.step, std::move(s));
    } else if (e.content.match_elements<eval_summary>()) {
      const auto& x = e.content.get_as<eval_summary>(0);
      if (x.kind == static_cast<int32_t>(eval_kind::test))
        test = x;
      else
        validation.emplace(x.step, x.reduced);
    }
  }
  if (steps.empty())
    throw data_error(opts.run_dir + "/trace/coordinator.trace",
                     "holds no step summary");
  prepare_run_dir(opts.out_dir, true);
  std::vector<std::unique_ptr<sink>> sinks;
  for (const auto& l : opts.loggers)
    sinks.push_back(make_sink(l, opts.out_dir));
  auto write = [&](int64_t step, int64_t epoch, const metric_values& ms) {
    if (ms.empty())
      return;
    for (auto& s : sinks) {
      s->write(step, epoch, ms);
      s->flush();
    }
  };
  metric_book book{opts.reduce, opts.log_every_n_steps};
  int64_t last = steps.rbegin()->first;
  int64_t expected = 1;
  for (const auto& [step, summary] : steps) {
    if (step != expected)
      throw data_error(opts.run_dir + "/trace/coordinator.trace",
                       fmt::format("no summary for step {}", expected));
    ++expected;
    auto v = validation.find(step);
    bool epoch_end = step % steps_per_epoch == 0 || step == total_steps;
    auto log = book.add_step(summary, v != validation.end() ? &v->second : nullptr,
                             epoch_end);
    write(step, (step - 1) / steps_per_epoch, log.records);
  }
  if (test)
    write(last, (last - 1) / steps_per_epoch, metric_book::test(test->reduced));
  for (auto& s : sinks)
    s->close();
  return last;
}

} // namespace troupe::core
