// Tracing costs: the synthetic example with and without --trace=all
// (alternating A B, median of the ratios), and the replay speed of a
// million-record logger trace through the replay harness under the
// deterministic scheduler.
//
//   ./build/bench/trace_overhead [--pairs=5] [--records=1000000]

#include <filesystem>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "bench_util.hpp"
#include "troupe/actors/logger.hpp"
#include "troupe/actors/replay.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/config/cli.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/messages/type_ids.hpp"

namespace {

using bench::clock_type;
using bench::median;
using bench::seconds_since;
using troupe::core::trace_tensors;

double run(const troupe::core::data_module& data, const std::string& dir,
           std::vector<std::string> trace, trace_tensors tensors) {
  troupe::core::trainer_options o;
  o.max_epochs = 2;
  o.replicas = 2;
  o.log_every_n_steps = 10;
  o.loggers = {"csv"};
  o.run_dir = dir;
  o.overwrite = true;
  o.trace = std::move(trace);
  o.trace_tensors = tensors;
  troupe::trainer t{o, "bench"};
  auto t0 = clock_type::now();
  auto r = t.fit(troupe::core::mlp_classifier({32, 64, 4}), data);
  auto dt = seconds_since(t0);
  if (r.status != troupe::fit_status::completed)
    throw std::runtime_error(r.error);
  return dt;
}

} // namespace

int main(int argc, char** argv) {
  int64_t pairs = 5;
  int64_t records = 1000000;
  troupe::core::arg_parser p("trace_overhead", "tracing costs");
  p.add("pairs", "A/B pairs", pairs);
  p.add("records", "records in the replayed logger trace", records);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  troupe::core::set_compute_threads(1);
  auto tmp = std::filesystem::temp_directory_path() / "troupe-bench-trace";
  auto data = troupe::core::make_synthetic(65536, 1024, 1024);
  std::vector<double> full_ratios;
  std::vector<double> digest_ratios;
  for (int64_t i = 0; i < pairs; ++i) {
    // A B A C: each traced run is compared with the untraced run before it.
    auto a = run(data, (tmp / "plain").string(), {}, trace_tensors::full);
    auto b = run(data, (tmp / "full").string(), {"all"}, trace_tensors::full);
    auto a2 = run(data, (tmp / "plain").string(), {}, trace_tensors::full);
    auto c = run(data, (tmp / "digest").string(), {"all"},
                 trace_tensors::digest);
    full_ratios.push_back(b / a);
    digest_ratios.push_back(c / a2);
    fmt::print("pair {}: untraced {:.3f} s, --trace=all {:.3f} s (x{:.3f}); "
               "untraced {:.3f} s, --trace=all --trace-tensors=digest {:.3f} s "
               "(x{:.3f})\n",
               i + 1, a, b, b / a, a2, c, c / a2);
  }
  auto bytes_of = [&](const char* name) {
    uint64_t n = 0;
    for (const auto& f :
         std::filesystem::directory_iterator(tmp / name / "trace"))
      n += std::filesystem::file_size(f.path());
    return n;
  };
  // A logger trace of `records` log batches, replayed into a fresh logger.
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::troupe>();
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  std::filesystem::create_directories(tmp / "replay");
  auto path = (tmp / "replay/logger.trace").string();
  {
    troupe::core::trace_writer w{sys, path, "logger",
                                 troupe::core::troupe_type_names()};
    for (int64_t s = 1; s <= records; ++s) {
      troupe::log_batch b;
      b.step = s;
      b.metrics = {{"train/loss", 1.0 / static_cast<double>(s)}, {"lr", 0.02}};
      w.append(troupe::core::trace_kind::request, 1, static_cast<uint64_t>(s),
               caf::make_message(b));
    }
    w.close();
  }
  {
    // Where replay time goes: reading and decoding alone.
    auto t0 = clock_type::now();
    troupe::core::trace_reader r{sys, path};
    troupe::core::trace_entry e;
    size_t n = 0;
    while (r.next(e))
      ++n;
    fmt::print("read and decoded {} records in {:.2f} s\n", n,
               seconds_since(t0));
  }
  troupe::actors::replay_session replay{sys};
  troupe::actors::logger_config lc;
  lc.run_dir = (tmp / "replay").string();
  lc.sinks
    = std::make_shared<std::vector<std::unique_ptr<troupe::core::sink>>>();
  auto logger = troupe::actors::spawn_logger(sys, std::move(lc), false);
  auto t0 = clock_type::now();
  auto out = replay.run(logger, path);
  auto dt = seconds_since(t0);
  fmt::print("replayed {} records in {:.2f} s ({} answers)\n", out.replayed, dt,
             out.messages.size());
  fmt::print("RESULT trace_all_overhead_ratio {:.3f}\n", median(full_ratios));
  fmt::print("RESULT trace_all_bytes {}\n", bytes_of("full"));
  fmt::print("RESULT trace_digest_overhead_ratio {:.3f}\n",
             median(digest_ratios));
  fmt::print("RESULT trace_digest_bytes {}\n", bytes_of("digest"));
  fmt::print("RESULT replay_records_per_second {:.0f}\n",
             static_cast<double>(out.replayed) / dt);
  fmt::print("RESULT replay_1m_seconds {:.2f}\n",
             dt * 1e6 / static_cast<double>(std::max<size_t>(out.replayed, 1)));
  return 0;
}
