#include "troupe/actors/logger.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/summary.hpp"
#include "troupe/core/report/report.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

struct logger_state {
  static inline const char* name = "logger";

  logger_config cfg;
  /// Sinks still working; a failed one is reported once and dropped.
  std::vector<core::sink*> live;
  /// Last value of every metric, in order of first appearance.
  std::vector<std::string> order;
  std::map<std::string, double> last;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  int64_t step = 0;
  /// One line per sink that failed (reported once each).
  std::vector<std::string> sink_errors;
  /// <run-dir>/console.log; null before log_start, after log_finish, and
  /// once writing it failed (reported like a sink).
  FILE* console_log = nullptr;
};

using logger_impl = tapped_stateful<logger_actor, logger_state>;

/// Runs `f` on every live sink; a sink that throws is reported with its path
/// and dropped, the others keep every record.
template <class F>
void each_sink(logger_impl* self, int64_t step, F f) {
  auto& st = self->state;
  for (auto i = st.live.begin(); i != st.live.end();) {
    try {
      f(**i);
      ++i;
    } catch (const std::exception& e) {
      auto msg = fmt::format("troupe: logger '{}' failed at step {} and is "
                             "disabled; the other loggers continue: {}",
                             (*i)->name(), step, e.what());
      (*i)->abandon();
      i = st.live.erase(i);
      st.sink_errors.push_back(msg);
      fmt::print(st.cfg.errors, "{}\n", msg);
      std::fflush(st.cfg.errors);
    }
  }
}

/// Reports a failure of console.log once, like a sink's.
void console_log_failed(logger_impl* self, const std::string& what) {
  auto& st = self->state;
  if (st.console_log != nullptr)
    std::fclose(st.console_log);
  st.console_log = nullptr;
  auto msg = fmt::format("troupe: {}/console.log failed at step {} and is "
                         "disabled; the loggers continue: {}",
                         st.cfg.run_dir, st.step, what);
  st.sink_errors.push_back(msg);
  fmt::print(st.cfg.errors, "{}\n", msg);
  std::fflush(st.cfg.errors);
}

/// One text line to every sink and to console.log.
void print_lines(logger_impl* self, int64_t step,
                 const std::vector<std::string>& lines) {
  auto& st = self->state;
  if (lines.empty())
    return;
  each_sink(self, step, [&](core::sink& s) {
    for (const auto& l : lines)
      s.line(l);
    s.flush();
  });
  if (st.console_log == nullptr)
    return;
  for (const auto& l : lines)
    if (std::fputs(l.c_str(), st.console_log) < 0
        || std::fputc('\n', st.console_log) == EOF)
      return console_log_failed(self, std::strerror(errno));
  if (std::fflush(st.console_log) != 0)
    console_log_failed(self, std::strerror(errno));
}

/// Prints what the capture took since the last time.
void drain_capture(logger_impl* self) {
  auto& st = self->state;
  if (!st.cfg.capture)
    return;
  auto lines = st.cfg.capture->take();
  print_lines(self, st.step, {lines.begin(), lines.end()});
}

logger_actor::behavior_type logger(logger_impl* self, logger_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  self->tap("logger", st.cfg.tap);
  for (auto& s : *st.cfg.sinks)
    st.live.push_back(s.get());
  // A resumed run's last values so far (its checkpoint's "last-values").
  std::istringstream saved{st.cfg.last_values};
  for (std::string line; std::getline(saved, line);) {
    auto tab = line.rfind('\t');
    if (tab == std::string::npos)
      continue;
    auto name = line.substr(0, tab);
    if (st.last.count(name) == 0)
      st.order.push_back(name);
    st.last[name] = std::strtod(line.c_str() + tab + 1, nullptr);
  }
  self->attach_functor([self] {
    // Nothing wakes this actor once it is gone.
    if (self->state.cfg.capture)
      self->state.cfg.capture->on_lines({});
    if (self->state.console_log != nullptr)
      std::fclose(self->state.console_log);
    self->state.console_log = nullptr;
  });
  return {
    [=](const log_start& x) -> caf::result<bool> {
      auto& st = self->state;
      st.t0 = std::chrono::steady_clock::now();
      try {
        core::write_file_atomic(st.cfg.run_dir + "/config.json",
                                x.config_json + "\n");
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
      each_sink(self, 0, [&](core::sink& s) {
        if (!st.cfg.resumed)
          s.hyperparameters(x.config_json);
        s.start(x.lines);
      });
      auto path = st.cfg.run_dir + "/console.log";
      // A resumed run continues console.log from the checkpoint's size.
      bool resumed = st.cfg.resumed && st.cfg.console_log_from >= 0;
      if (!resumed || ::truncate(path.c_str(), st.cfg.console_log_from) == 0
          || errno == ENOENT)
        st.console_log = std::fopen(path.c_str(), resumed ? "a" : "w");
      if (st.console_log == nullptr)
        console_log_failed(self, std::strerror(errno));
      for (const auto& l : x.lines)
        if (st.console_log != nullptr)
          std::fprintf(st.console_log, "%s\n", l.c_str());
      if (st.cfg.capture) {
        // From here on the reader thread wakes this actor (any thread may
        // send it a message); what came before is printed now.
        auto me = caf::actor_cast<caf::actor>(self);
        st.cfg.capture->on_lines([me] {
          caf::anon_send(me, console_atom_v);
        });
        drain_capture(self);
      }
      return true;
    },
    [=](console_atom) {
      drain_capture(self);
    },
    [=](const checkpoint_request& r) {
      auto& st = self->state;
      checkpoint_part p;
      p.step = r.step;
      p.from = "logger";
      // A sink dropped after a failure has no position to continue from.
      for (const auto& s : *st.cfg.sinks) {
        bool live = std::find(st.live.begin(), st.live.end(), s.get())
          != st.live.end();
        p.sections.push_back(
          {"sink/" + s->name(), live ? s->position() : "dropped"});
      }
      // The last value of every metric, for summary.json after a resume.
      std::string last;
      for (const auto& name : st.order)
        last += fmt::format("{}\t{:a}\n", name, st.last[name]);
      p.sections.push_back({"last-values", last});
      long at = -1;
      if (st.console_log != nullptr && std::fflush(st.console_log) == 0)
        at = std::ftell(st.console_log);
      p.sections.push_back({"console.log", std::to_string(at)});
      return p;
    },
    [=](const log_batch& b) {
      auto& st = self->state;
      st.step = b.step;
      // Captured output first: it was written before this step's records
      // arrived.
      drain_capture(self);
      each_sink(self, b.step, [&](core::sink& s) {
        if (!b.metrics.empty())
          s.write(b.step, b.epoch, b.metrics);
      });
      print_lines(self, b.step, b.lines);
      each_sink(self, b.step, [&](core::sink& s) {
        if (b.progress.total_steps > 0)
          s.progress(b.progress);
        s.flush();
      });
      for (const auto& m : b.metrics) {
        if (st.last.count(m.name) == 0)
          st.order.push_back(m.name);
        st.last[m.name] = m.value;
      }
      return b.step;
    },
    [=](const log_finish& f) -> caf::result<fit_report> {
      auto& st = self->state;
      if (st.cfg.capture) {
        // The terminal goes back to the process; what was written up to
        // now is printed before the sinks close.
        st.cfg.capture->on_lines({});
        st.cfg.capture->stop();
        drain_capture(self);
      }
      if (st.console_log != nullptr && std::fclose(st.console_log) != 0) {
        st.console_log = nullptr;
        console_log_failed(self, std::strerror(errno));
      }
      st.console_log = nullptr;
      each_sink(self, st.step, [&](core::sink& s) {
        s.close();
      });
      auto report = f.report;
      // The checkpointer's lost outputs come first (the coordinator put them
      // in), then the sinks'.
      report.sink_errors.insert(report.sink_errors.end(),
                                st.sink_errors.begin(), st.sink_errors.end());
      report.wall_seconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - st.t0)
                              .count();
      for (const auto& name : st.order)
        report.last.push_back({name, st.last[name]});
      // summary.json says which outputs were lost; one that fails to be
      // written is itself a lost output (the exit status says so).
      auto summarize = [&] {
        try {
          core::write_summary(st.cfg.run_dir, report);
          return true;
        } catch (const std::exception& e) {
          auto msg = fmt::format("troupe: summary.json not written: {}",
                                 e.what());
          fmt::print(st.cfg.errors, "{}\n", msg);
          report.sink_errors.push_back(msg);
          return false;
        }
      };
      auto summarized = summarize();
      if (st.cfg.report) {
        try {
          core::write_report(st.cfg.run_dir);
        } catch (const std::exception& e) {
          auto msg = fmt::format("troupe: report.html not written: {}",
                                 e.what());
          fmt::print(st.cfg.errors, "{}\n", msg);
          report.sink_errors.push_back(msg);
          if (summarized)
            summarize();
        }
      }
      std::fflush(st.cfg.errors);
      return report;
    },
  };
}

} // namespace

logger_actor spawn_logger(caf::actor_system& sys, logger_config cfg,
                          bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(logger, std::move(cfg));
  return sys.spawn(logger, std::move(cfg));
}

} // namespace troupe::actors
