#include "troupe/actors/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/actors/aggregator.hpp"
#include "troupe/actors/callback_host.hpp"
#include "troupe/actors/coordinator.hpp"
#include "troupe/actors/logger.hpp"
#include "troupe/actors/stepper.hpp"
#include "troupe/actors/trace_recorder.hpp"
#include "troupe/core/config/config_file.hpp"
#include "troupe/core/data/augment.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/logging/summary.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/runtime/console_capture.hpp"
#include "troupe/core/runtime/interrupt.hpp"
#include "troupe/core/runtime/memory.hpp"
#include "troupe/core/train/checkpoint.hpp"
#include "troupe/core/train/fit_loop.hpp"
#include "troupe/core/train/metric_book.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/train/rng.hpp"
#include "troupe/core/train/schedule.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe {

namespace {

/// LibTorch's initialisers draw from the global generator: serialize model
/// construction across trainers running in one process.
std::mutex init_mutex;

/// Every thread the actor system starts takes LibTorch's intra-op setting
/// before it runs a step (OpenMP counts threads per thread).
class compute_thread_hook : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {
    // nop
  }
  void thread_started() override {
    core::adopt_compute_threads();
  }
  void thread_terminates() override {
    // nop
  }
};

/// How the actor system schedules, chosen by bench/pipeline_overhead and
/// bench/replica_scaling (docs/BENCHMARKS.md, "Scheduling"). Workers steal
/// work; an idle worker tries to steal on every poll of its moderate phase
/// and sleeps 10 us between polls (CAF: every 5th poll, 50 us), so that
/// with several replicas the steppers the aggregator wakes on one worker
/// reach the idle ones quickly. `trainer::configure` runs after this and
/// may override any of it.
/// Holds the fit's console capture; releasing it restores fds 1 and 2 and
/// prints what no logger printed (a fit that failed before its logger ran,
/// or output after log_finish) on every path.
struct output_capture {
  std::shared_ptr<core::console_capture> capture;

  ~output_capture() {
    finish();
  }

  void finish() noexcept {
    if (!capture)
      return;
    capture->stop();
    for (const auto& line : capture->take()) {
      std::fputs(line.c_str(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    // Kept until this guard goes (after the sinks): the console sink
    // points at the capture's terminal.
  }
};

/// Reads the checkpoint `file` and holds it against this run: the settings
/// that must not change, the callbacks, the model's shapes, the optimizer's
/// and the generators' states, every sink's file. Throws config_error or
/// data_error naming the file and the mismatch; changes nothing on disk.
/// On success the callbacks have their saved states.
core::checkpoint
check_resume(const std::string& file, const core::trainer_options& opts,
             const core::schedule& sched, const core::model_def& model,
             const core::optimizer_factory& make_optimizer,
             const std::vector<core::callback_ptr>& callbacks,
             const std::string& run_dir) {
  auto c = core::read_checkpoint(file);
  auto mismatches = core::resume_mismatches(opts, c.section("config", file));
  if (!mismatches.empty())
    throw core::config_error(
      "resume",
      fmt::format("{} was written with other settings: {} (resume with the "
                  "run's own options: those of {}/config.json)",
                  file, fmt::join(mismatches, "; "), run_dir));
  if (c.step < 1 || c.step > sched.total_steps)
    throw core::data_error(file,
                           fmt::format("holds step {}, outside this "
                                       "run's steps 1 to {}",
                                       c.step, sched.total_steps));
  std::string mine;
  for (const auto& cb : callbacks)
    mine += cb->name() + "\n";
  const auto& saved = c.section("callbacks", file);
  if (saved != mine) {
    auto list = [](std::string x) {
      std::replace(x.begin(), x.end(), '\n', ' ');
      return x.empty() ? std::string{"none"} : x;
    };
    throw core::config_error(
      "resume",
      fmt::format("{} was written by a fit with the callbacks "
                  "[{}], this one has [{}]",
                  file, list(saved), list(mine)));
  }
  auto fit = core::decode_fit_resume(c.section("fit", file), file);
  if (fit.step != c.step)
    throw core::data_error(file,
                           fmt::format("corrupt: the fit's state is of "
                                       "step {}, the header says {}",
                                       fit.step, c.step));
  {
    // The model and the optimizer's state, tried on a scratch replica.
    std::shared_ptr<torch::nn::Module> scratch;
    {
      std::lock_guard<std::mutex> guard{init_mutex};
      scratch = model.make();
    }
    core::load_module(*scratch, c.section("model", file),
                      c.section("shapes", file), file);
    auto opt = make_optimizer(scratch->parameters());
    core::load_optimizer(*opt, c.section("optimizer", file), file);
  }
  for (int64_t r = 0; r < opts.replicas; ++r) {
    auto g = core::make_replica_generator(opts.seed, r);
    core::load_generator(g, c.section(fmt::format("generator/{}", r), file),
                         file);
  }
  if (c.has("generator/global")) {
    auto g = core::make_replica_generator(opts.seed, 0);
    core::load_generator(g, c.sections.at("generator/global"), file);
  }
  for (const auto& name : opts.loggers) {
    if (name == "console")
      continue;
    const auto& position = c.section("sink/" + name, file);
    if (position == "dropped")
      throw core::data_error(file,
                             fmt::format("the {} logger had failed before "
                                         "step {} (its file is not "
                                         "whole after that); this "
                                         "checkpoint cannot continue it",
                                         name, c.step));
    core::check_resumable(name, run_dir, position);
  }
  c.section("console.log", file);
  for (size_t i = 0; i < callbacks.size(); ++i) {
    try {
      callbacks[i]->load_state(c.section(fmt::format("callback/{}", i), file));
    } catch (const core::data_error&) {
      throw;
    } catch (const std::exception& e) {
      throw core::data_error(file, e.what());
    }
  }
  return c;
}

/// Removes the checkpoints of `dir` after `step`: they belong to the part
/// of the run a resume from `step` replaces; `last` then names `from` (the
/// file resumed) when it is in `dir`.
void forget_checkpoints_after(const std::string& dir, int64_t step,
                              const std::string& from) {
  auto newer = core::checkpoint_file_name(step);
  for (const auto& path : core::list_checkpoints(dir)) {
    auto name = std::filesystem::path(path).filename().string();
    std::error_code ec;
    if (name > newer)
      std::filesystem::remove(path, ec);
  }
  std::error_code ec;
  auto here = std::filesystem::path(dir)
    / std::filesystem::path(from).filename();
  if (std::filesystem::equivalent(here, from, ec))
    core::write_file_atomic(dir + "/last", here.filename().string() + "\n");
}

void schedule_for_training(caf::actor_system_config& cfg) {
  cfg.set("work-stealing.moderate-steal-interval", size_t{1});
  cfg.set("work-stealing.moderate-sleep-duration",
          caf::timespan{std::chrono::microseconds{10}});
}

} // namespace

trainer::trainer(core::trainer_options opts, std::string name)
    : opts_(core::with_optimizer_defaults(std::move(opts))),
      name_(std::move(name)) {
  // nop
}

trainer& trainer::optimizer(core::optimizer_factory f) {
  optimizer_ = std::move(f);
  return *this;
}

trainer& trainer::lr_schedule(core::lr_schedule f) {
  lr_schedule_ = std::move(f);
  return *this;
}

trainer& trainer::add_callback(core::callback_ptr cb) {
  callbacks_.push_back(std::move(cb));
  return *this;
}

trainer& trainer::on_spawn(actors::spawn_hook hook) {
  on_spawn_ = std::move(hook);
  return *this;
}

trainer& trainer::tap(actors::inbound_tap f) {
  tap_ = std::move(f);
  return *this;
}

trainer& trainer::configure(std::function<void(caf::actor_system_config&)> f) {
  configure_ = std::move(f);
  return *this;
}

int64_t trainer::intra_op_threads() const {
  return opts_.intra_op_threads > 0
    ? opts_.intra_op_threads
    : core::default_intra_op_threads(opts_.replicas);
}

void trainer::system_config(caf::actor_system_config& cfg) const {
  cfg.add_message_types<caf::id_block::troupe>();
  auto threads = opts_.scheduler_threads > 0
    ? static_cast<size_t>(opts_.scheduler_threads)
    : std::max<size_t>(1, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  cfg.add_thread_hook<compute_thread_hook>();
  schedule_for_training(cfg);
  if (configure_)
    configure_(cfg);
}

evaluation trainer::evaluate(const core::model_def& model,
                             const core::data_module& data,
                             std::shared_ptr<torch::nn::Module> module) {
  core::validate(opts_);
  if (opts_.device != "cpu" && !torch::cuda::is_available())
    throw core::config_error("device",
                             "'" + opts_.device
                               + "' requested, but this LibTorch "
                                 "build has no CUDA device");
  core::set_compute_threads(static_cast<int>(intra_op_threads()));
  std::vector<std::shared_ptr<torch::nn::Module>> replicas;
  {
    std::lock_guard<std::mutex> guard{init_mutex};
    torch::manual_seed(opts_.seed);
    for (int64_t r = 0; r < opts_.replicas; ++r) {
      replicas.push_back(module && r == 0 ? module : model.make());
      if (r > 0)
        core::copy_state(*replicas.front(), *replicas.back());
    }
  }
  evaluation out;
  caf::actor_system_config cfg;
  system_config(cfg);
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    // The stand-in coordinator: relays what the aggregator and the steppers
    // report to this thread.
    auto relay = caf::actor_cast<caf::actor>(self);
    auto collector = sys.spawn([relay](actors::summary_sink_actor::pointer)
                                 -> actors::summary_sink_actor::behavior_type {
      return {
        [relay](actor_failure& f) {
          caf::anon_send(relay, std::move(f));
        },
        [](step_summary&) {
          // nothing trains
        },
        [relay](eval_summary& e) {
          caf::anon_send(relay, std::move(e));
        },
      };
    });
    auto aggregator = actors::spawn_aggregator(
      sys, static_cast<int32_t>(opts_.replicas), collector, tap_);
    core::schedule sched;
    sched.replicas = opts_.replicas;
    auto shared = std::make_shared<const core::data_module>(data);
    std::vector<actors::stepper_actor> steppers;
    for (int64_t r = 0; r < opts_.replicas; ++r) {
      actors::stepper_config sc;
      sc.rank = static_cast<int32_t>(r);
      sc.seed = opts_.seed;
      sc.sched = sched;
      sc.module = replicas[static_cast<size_t>(r)];
      sc.model = model;
      sc.make_optimizer = optimizer_ ? optimizer_ : core::make_optimizer(opts_);
      sc.device = opts_.device;
      sc.data = shared;
      sc.eval_batch_size = opts_.eval_batch_size;
      sc.aggregator = aggregator;
      sc.coordinator = collector;
      sc.tap = tap_;
      steppers.push_back(actors::spawn_stepper(sys, std::move(sc)));
    }
    for (auto kind : {eval_kind::validation, eval_kind::test})
      for (const auto& st : steppers)
        self->send(st, eval_request{kind, 0});
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(opts_.timeout_seconds));
    for (int done = 0; done < 2 && out.error.empty();)
      self->receive(
        [&](eval_summary& e) {
          ++done;
          for (auto d : e.param_digests)
            if (d != e.param_digests.front())
              out.error = "replicas differ in their parameters";
          if (e.kind == eval_kind::test)
            out.test = core::metric_book::test(e.reduced);
          else
            out.val = core::to_values(e.reduced, "val/");
        },
        [&](actor_failure& f) {
          out.error = f.actor + ": " + f.what;
        },
        caf::after(timeout) >>
          [&] {
            out.error = fmt::format("no evaluation within {} s (--timeout)",
                                    opts_.timeout_seconds);
          });
    for (const auto& st : steppers)
      self->send_exit(st, caf::exit_reason::user_shutdown);
    self->send_exit(aggregator, caf::exit_reason::user_shutdown);
    self->send_exit(collector, caf::exit_reason::user_shutdown);
  }
  return out;
}

at::Tensor trainer::predict(const core::model_def& model,
                            torch::nn::Module& module,
                            const at::Tensor& inputs) const {
  if (!model.forward)
    throw std::invalid_argument("predict: the model_def has no forward "
                                "function (make_model sets one when the "
                                "module has forward(x))");
  core::set_compute_threads(static_cast<int>(intra_op_threads()));
  torch::NoGradGuard no_grad;
  bool was_training = module.is_training();
  module.eval();
  std::vector<at::Tensor> outputs;
  auto device = torch::Device(opts_.device);
  try {
    for (int64_t i = 0, n = inputs.size(0); i < n; i += opts_.eval_batch_size) {
      auto j = std::min(n, i + opts_.eval_batch_size);
      outputs.push_back(
        model.forward(module, inputs.slice(0, i, j).to(device)).cpu());
    }
  } catch (...) {
    module.train(was_training);
    throw;
  }
  module.train(was_training);
  if (outputs.empty())
    return {};
  return at::cat(outputs);
}

std::vector<std::string> trainer::plan(int64_t train_size) const {
  auto sched = core::schedule::make(opts_, train_size);
  std::vector<std::string> lines;
  lines.push_back(fmt::format("troupe: {} steps ({} per epoch, global batch {} "
                              "= {} replicas x {} micro-batches x {})",
                              sched.total_steps, sched.steps_per_epoch,
                              sched.global_batch, sched.replicas,
                              sched.accumulate, sched.batch_size));
  if (sched.dropped_per_epoch > 0)
    lines.push_back(fmt::format("troupe: the last {} of {} training samples do "
                                "not fill a global batch of {} and are "
                                "dropped each epoch",
                                sched.dropped_per_epoch, sched.train_size,
                                sched.global_batch));
  std::string recipe = optimizer_ ? std::string{"the optimizer of "
                                                "trainer::optimizer()"}
                                  : core::describe_optimizer(opts_);
  if (lr_schedule_)
    recipe += ", learning rate from trainer::lr_schedule()";
  else if (opts_.lr_schedule != "constant" || opts_.warmup_steps > 0) {
    auto p = core::lr_schedule_of(opts_, sched.total_steps);
    recipe += fmt::format(", {} schedule", p.kind);
    if (p.warmup_steps > 0)
      recipe += fmt::format(" after {} warmup steps", p.warmup_steps);
    if (p.kind == "cosine" || p.kind == "linear")
      recipe += fmt::format(" to {} at step {}", p.min_lr, p.total_steps);
    if (p.kind == "step")
      recipe += fmt::format(" (x {} every {} steps)", p.gamma, p.step_size);
  }
  if (opts_.clip_grad_norm)
    recipe += fmt::format(", gradients clipped to norm {}",
                          *opts_.clip_grad_norm);
  lines.push_back("troupe: training with " + recipe);
  auto threads = intra_op_threads();
  lines.push_back(fmt::format("troupe: compute on {}, {} intra-op thread{} "
                              "per replica",
                              core::blas_description(), threads,
                              threads == 1 ? "" : "s"));
  return lines;
}

fit_report trainer::fit(const core::model_def& model,
                        const core::data_module& data) {
  // -- everything that can be wrong is checked before training ----------------
  core::validate(opts_);
  auto sched = core::schedule::make(opts_, data.train.size());
  if (core::parse_augment(opts_.augment).enabled() && data.train.size() > 0)
    core::image_side(data.train.inputs.size(1)); // throws when not square
  if (opts_.device != "cpu" && !torch::cuda::is_available())
    throw core::config_error("device",
                             "'" + opts_.device
                               + "' requested, but this LibTorch "
                                 "build has no CUDA device");
  auto make_optimizer = optimizer_ ? optimizer_ : core::make_optimizer(opts_);
  // A resumed run: the checkpoint is checked whole before anything changes.
  std::shared_ptr<const core::checkpoint> resume;
  std::string resume_file;
  if (!opts_.resume.empty()) {
    if (opts_.run_dir.empty())
      throw core::config_error("resume", "continues a run: give its --run-dir");
    resume_file = core::resolve_resume(
      opts_.resume, core::checkpoint_dir_of(opts_, opts_.run_dir));
    resume = std::make_shared<const core::checkpoint>(
      check_resume(resume_file, opts_, sched, model, make_optimizer, callbacks_,
                   opts_.run_dir));
  }
  // From here on a first SIGINT or SIGTERM stops the fit cleanly.
  core::interrupt_scope interrupts;
  run_dir_ = opts_.run_dir.empty() ? core::create_version_dir("runs", name_)
                                   : opts_.run_dir;
  auto effective = opts_;
  effective.run_dir = run_dir_;
  // Held until this function returns: one run per directory. A resumed
  // run continues the files of its directory.
  auto lock = resume ? core::run_dir_lock(run_dir_)
                     : core::prepare_run_dir(run_dir_, opts_.overwrite);
  if (!opts_.trace.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir_ + "/trace", ec);
    if (ec)
      throw core::output_error(run_dir_
                               + "/trace: cannot create: " + ec.message());
  }
  if (!opts_.export_params.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opts_.export_params, ec);
    if (ec || !std::filesystem::is_directory(opts_.export_params))
      throw core::output_error("--export-params " + opts_.export_params
                               + ": cannot create the directory"
                               + (ec ? ": " + ec.message() : std::string{}));
  }
  auto checkpoint_dir = core::checkpoint_dir_of(opts_, run_dir_);
  if (!resume && !checkpoint_dir.empty()) {
    // A --checkpoint-dir outside the run directory may hold another run's
    // checkpoints (those inside went with --overwrite already).
    auto old = core::list_checkpoints(checkpoint_dir);
    if (!old.empty() && !opts_.overwrite)
      throw core::output_error("checkpoint directory " + checkpoint_dir
                               + " holds another run's checkpoints ("
                               + old.back()
                               + "); pass --overwrite=true to replace them, "
                                 "or --resume=last to continue that run");
    std::error_code ec;
    for (const auto& f : old)
      std::filesystem::remove(f, ec);
    std::filesystem::remove(checkpoint_dir + "/last", ec);
    std::filesystem::remove(checkpoint_dir + "/best", ec);
  }
  if (resume && !checkpoint_dir.empty())
    forget_checkpoints_after(checkpoint_dir, resume->step, resume_file);
  // From here on the run directory exists: whatever fails before training
  // still leaves a summary.json saying why.
  // Declared before the sinks, so released after them on every path: the
  // console sink writes to the capture's terminal.
  output_capture captured;
  std::shared_ptr<std::vector<std::unique_ptr<core::sink>>> sinks;
  std::vector<std::shared_ptr<torch::nn::Module>> replicas;
  try {
    // Replicas first (replica 0 from the seed, the others copied from it),
    // sinks last: a model that fails to build leaves no metrics file behind.
    core::set_compute_threads(static_cast<int>(intra_op_threads()));
    if (opts_.retain_memory)
      core::retain_freed_memory();
    {
      std::lock_guard<std::mutex> guard{init_mutex};
      torch::manual_seed(opts_.seed);
      for (int64_t r = 0; r < opts_.replicas; ++r) {
        replicas.push_back(model.make());
        if (r > 0)
          core::copy_state(*replicas.front(), *replicas.back());
      }
    }
    if (resume) {
      for (auto& m : replicas)
        core::load_module(*m, resume->section("model", resume_file),
                          resume->section("shapes", resume_file), resume_file);
      if (resume->has("generator/global")) {
        auto global = at::detail::getDefaultCPUGenerator();
        core::load_generator(global, resume->sections.at("generator/global"),
                             resume_file);
      }
    }
    sinks = std::make_shared<std::vector<std::unique_ptr<core::sink>>>();
    const auto& loggers = opts_.loggers;
    if (opts_.capture_output
        && std::find(loggers.begin(), loggers.end(), "console")
          != loggers.end())
      captured.capture = std::make_shared<core::console_capture>();
    auto* terminal = captured.capture ? captured.capture->terminal() : stdout;
    for (const auto& name : opts_.loggers) {
      // A resumed file sink continues from its checkpoint's position.
      const std::string* position = nullptr;
      if (resume && name != "console")
        position = &resume->section("sink/" + name, resume_file);
      sinks->push_back(core::make_sink(name, run_dir_, terminal, position));
    }
  } catch (const std::exception& e) {
    fit_report failed;
    failed.status = fit_status::failed;
    failed.error = std::string{"set-up failed: "} + core::error_text(e);
    try {
      core::write_summary(run_dir_, failed);
    } catch (...) {
      // The original error is the one to report.
    }
    throw;
  }
  if (core::interrupt_requested()) {
    fit_report stopped;
    stopped.status = fit_status::stopped;
    stopped.interrupted = true;
    stopped.error = "interrupted by a signal before training started";
    for (auto& s : *sinks)
      s->abandon();
    core::write_summary(run_dir_, stopped);
    return stopped;
  }
  auto lines = plan(data.train.size());
  lines.push_back("troupe: run directory " + run_dir_);
  if (resume)
    lines.push_back(fmt::format("troupe: resuming after step {} of {} from {}",
                                resume->step, sched.total_steps, resume_file));
  else if (!checkpoint_dir.empty())
    lines.push_back(
      opts_.checkpoint_every_n_steps > 0
        ? fmt::format("troupe: checkpoints every {} steps and at the end in {}",
                      opts_.checkpoint_every_n_steps, checkpoint_dir)
        : fmt::format("troupe: a checkpoint at the end in {}", checkpoint_dir));
  // -- the actor system -------------------------------------------------------
  caf::actor_system_config cfg;
  system_config(cfg);
  fit_report report;
  std::unique_ptr<actors::trace_recorder> recorder;
  {
    caf::actor_system sys{cfg};
    // Declared after `sys`, so destroyed before it on every path: no signal
    // reaches the actor system once it shuts down.
    struct forget_signal_callback {
      core::interrupt_scope& scope;
      ~forget_signal_callback() {
        scope.on_signal({});
      }
    } forget{interrupts};
    auto tap = tap_;
    if (!opts_.trace.empty()) {
      recorder = std::make_unique<actors::trace_recorder>(
        sys, run_dir_ + "/trace", opts_.trace, opts_.trace_tensors);
      auto record = recorder->tap();
      tap = [record, user = tap_](const std::string& actor,
                                  const caf::mailbox_element& x) {
        record(actor, x);
        if (user)
          user(actor, x);
      };
    }
    auto hook = [this](const std::string& name, const auto& a) {
      if (on_spawn_)
        on_spawn_(name, caf::actor_cast<caf::actor>(a));
    };
    actors::logger_config lc;
    lc.run_dir = run_dir_;
    lc.sinks = sinks;
    lc.report = opts_.report;
    lc.capture = captured.capture;
    lc.tap = tap;
    if (resume) {
      lc.resumed = true;
      if (resume->has("last-values"))
        lc.last_values = resume->sections.at("last-values");
      try {
        lc.console_log_from
          = std::stoll(resume->section("console.log", resume_file));
      } catch (const std::logic_error&) {
        lc.console_log_from = -1;
      }
    }
    auto logger = actors::spawn_logger(sys, std::move(lc));
    hook("logger", logger);
    actors::coordinator_config cc;
    cc.options = effective;
    cc.sched = sched;
    cc.model = model;
    cc.optimizer = make_optimizer;
    cc.checkpoint_dir = checkpoint_dir;
    cc.resume = resume;
    cc.resume_file = resume_file;
    cc.lr_schedule = lr_schedule_
      ? lr_schedule_
      : core::make_lr_schedule(opts_, sched.total_steps);
    cc.replicas = replicas;
    cc.data = std::make_shared<const core::data_module>(data);
    cc.logger = logger;
    for (const auto& cb : callbacks_) {
      auto host = actors::spawn_callback_host(sys, cb, tap);
      hook("callback:" + cb->name(), host);
      cc.callbacks.emplace_back(cb->name(), host);
    }
    // The configuration plus the schedule it implies (offline rendering
    // needs the epoch boundaries).
    cc.config_json = core::config_json(
      effective, sched,
      core::compute_record{core::blas_vendor(), core::blas_core(),
                           intra_op_threads()});
    cc.start_lines = std::move(lines);
    cc.on_spawn = on_spawn_;
    cc.tap = tap;
    auto coordinator = actors::spawn_coordinator(sys, std::move(cc));
    hook("coordinator", coordinator);
    interrupts.on_signal([coordinator] {
      caf::anon_send(coordinator, interrupt_atom_v);
    });
    caf::scoped_actor self{sys};
    self->request(coordinator, caf::infinite, start_atom_v)
      .receive(
        [&](fit_report& r) {
          report = std::move(r);
        },
        [&](caf::error& err) {
          report.status = fit_status::failed;
          report.error = "coordinator: " + sys.render(err);
        });
  } // every actor has terminated here: traces are complete
  // Every actor is gone: the replicas can be read here, and what the
  // logger did not print goes to the restored terminal.
  captured.finish();
  model_ = replicas.front();
  bool rewrite_summary = false;
  if (report.status == fit_status::failed)
    for (size_t r = 1; r < replicas.size(); ++r)
      if (auto d = core::first_difference(*replicas[0], *replicas[r]);
          !d.empty()) {
        report.error += fmt::format(" (replicas 0 and {} first differ in {})",
                                    r, d);
        rewrite_summary = true;
        break;
      }
  if (rewrite_summary) {
    try {
      core::write_summary(run_dir_, report);
    } catch (const std::exception& e) {
      report.sink_errors.push_back(e.what());
    }
  }
  if (recorder) {
    auto errors = recorder->close();
    for (auto& e : errors) {
      fmt::print(stderr, "troupe: trace: {}\n", e);
      report.sink_errors.push_back("trace: " + e);
    }
    if (!errors.empty()) {
      try {
        core::write_summary(run_dir_, report);
      } catch (const std::exception& e) {
        report.sink_errors.push_back(e.what());
      }
    }
  }
  return report;
}

} // namespace troupe
