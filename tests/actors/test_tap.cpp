// The tap sees every message delivered to every actor, in delivery order.

#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include <caf/all.hpp>

#include "boring_model.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/messages/type_ids.hpp"

using namespace troupe;
using namespace troupe::test;

TEST_CASE("the inbound tap sees each actor's messages in delivery order",
          "[actors][tap]") {
  temp_dir dir;
  std::mutex mtx;
  std::map<std::string, std::vector<std::string>> seen;
  std::vector<int64_t> summaries;
  std::map<std::string, std::vector<int64_t>> batches;
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_epochs = 1;
  o.log_every_n_steps = 4;
  o.loggers = {"csv"};
  o.run_dir = dir.path();
  trainer t{o};
  t.add_callback(std::make_shared<core::lr_monitor>());
  t.tap([&](const std::string& actor, const caf::mailbox_element& x) {
    std::lock_guard<std::mutex> guard{mtx};
    const auto& msg = x.content();
    std::string what = "other";
    if (msg.match_elements<start_atom>())
      what = "start";
    else if (msg.match_elements<step_summary>()) {
      what = "step_summary";
      summaries.push_back(msg.get_as<step_summary>(0).step);
    } else if (msg.match_elements<step_batch>()) {
      what = "step_batch";
      batches[actor].push_back(msg.get_as<step_batch>(0).step);
    } else if (msg.match_elements<log_start>())
      what = "log_start";
    else if (msg.match_elements<log_finish>())
      what = "log_finish";
    else if (msg.match_elements<log_batch>())
      what = "log_batch";
    else if (msg.match_elements<train_step_end_event>())
      what = "train_step_end";
    seen[actor].push_back(what);
  });
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(320)); // 10 steps
  REQUIRE(report.status == troupe::fit_status::completed);
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(seen["coordinator"].front() == "start");
  std::vector<int64_t> steps{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(summaries == steps);
  CHECK(batches["stepper[0]"] == steps);
  CHECK(batches["stepper[1]"] == steps);
  CHECK(seen["logger"].front() == "log_start");
  auto& logger = seen["logger"];
  CHECK(std::find(logger.begin(), logger.end(), "log_finish") != logger.end());
  CHECK(std::count(seen["callback:lr_monitor"].begin(),
                   seen["callback:lr_monitor"].end(), "train_step_end")
        == 10);
  CHECK(seen.count("aggregator") == 1);
  CHECK(seen.count("loader") == 1);
}
