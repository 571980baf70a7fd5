#include "troupe/core/trace/render.hpp"

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <caf/message.hpp>
#include <fmt/format.h>

#include "troupe/core/config/config_file.hpp"
#include "troupe/core/config/option_table.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/train/fit_loop.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::core {

int64_t render_metrics(caf::actor_system& sys, const render_options& opts) {
  if (opts.log_every_n_steps < 1)
    throw config_error("log-every-n-steps", "must be at least 1");
  {
    using namespace option_checks;
    auto check = both(known("logger", {"csv", "jsonl", "tensorboard"}),
                      distinct("logger"));
    if (auto what = check(opts.loggers); !what.empty())
      throw config_error("loggers",
                         "render writes csv, jsonl or tensorboard: " + what);
  }
  if (opts.out_dir.empty())
    throw config_error("out", "needs an output directory");
  {
    std::error_code ec;
    if (std::filesystem::equivalent(opts.run_dir, opts.out_dir, ec))
      throw config_error("out",
                         "'" + opts.out_dir
                           + "' is the recorded run itself; render "
                             "into another directory");
  }
  // The recorded run's schedule, with the rendering's logging rule.
  auto recorded = read_config_json(opts.run_dir + "/config.json");
  schedule sched = recorded.sched;
  sched.log_every = opts.log_every_n_steps;
  // What the coordinator received: step summaries, validation and test.
  std::map<int64_t, step_summary> steps;
  std::map<int64_t, eval_summary> validation;
  std::optional<eval_summary> test;
  trace_reader reader{sys, opts.run_dir + "/trace/coordinator.trace"};
  trace_entry e;
  while (reader.next(e)) {
    if (e.content.match_elements<step_summary>()) {
      auto s = e.content.get_as<step_summary>(0);
      steps.emplace(s.step, std::move(s));
    } else if (e.content.match_elements<eval_summary>()) {
      const auto& x = e.content.get_as<eval_summary>(0);
      if (x.kind == eval_kind::test)
        test = x;
      else
        validation.emplace(x.step, x);
    }
  }
  if (steps.empty())
    throw data_error(opts.run_dir + "/trace/coordinator.trace",
                     "holds no step summary");
  // Another run's files are replaced only when asked to (--force).
  auto lock = prepare_run_dir(opts.out_dir, opts.force, "--force");
  std::vector<std::unique_ptr<sink>> sinks;
  for (const auto& l : opts.loggers)
    sinks.push_back(make_sink(l, opts.out_dir));
  int64_t last = steps.rbegin()->first;
  int64_t expected = 1;
  for (const auto& entry : steps) {
    if (entry.first != expected)
      throw data_error(opts.run_dir + "/trace/coordinator.trace",
                       fmt::format("no summary for step {}", expected));
    ++expected;
  }
  // The live run's fit loop, without callbacks, fed what the coordinator
  // received; its log batches go to the sinks.
  fit_loop_config lc;
  lc.sched = sched;
  lc.reduce = opts.reduce;
  lc.skip_nonfinite = recorded.options.on_nonfinite_loss == "skip-step";
  fit_loop loop{lc};
  std::deque<fit_command> todo;
  auto drive = [&](fit_commands cmds) {
    todo.insert(todo.end(), std::make_move_iterator(cmds.begin()),
                std::make_move_iterator(cmds.end()));
    while (!todo.empty()) {
      auto cmd = std::move(todo.front());
      todo.pop_front();
      fit_commands more;
      if (auto* x = std::get_if<send_log>(&cmd)) {
        if (!x->batch.metrics.empty())
          for (auto& s : sinks) {
            s->write(x->batch.step, x->batch.epoch, x->batch.metrics);
            s->flush();
          }
        more = loop.logged();
      } else if (std::holds_alternative<run_test>(cmd) && test) {
        more = loop.eval_arrived(*test);
      }
      todo.insert(todo.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
    }
  };
  drive(loop.start());
  if (last < sched.total_steps)
    drive(loop.stop_at(last, "the recorded run ended here"));
  for (auto& [step, summary] : steps) {
    auto v = validation.find(step);
    if (v != validation.end())
      drive(loop.eval_arrived(std::move(v->second)));
    drive(loop.step_arrived(std::move(summary)));
  }
  // The live run could not have gone on past a validation it never got, nor
  // past replicas that diverged; neither can the rendering.
  if (loop.state().acked < last)
    throw data_error(
      opts.run_dir + "/trace/coordinator.trace",
      fmt::format("step {} cannot be rendered: {}", loop.state().acked + 1,
                  loop.state().error.empty() ? "its validation is missing"
                                             : loop.state().error));
  for (auto& s : sinks)
    s->close();
  return last;
}

} // namespace troupe::core
