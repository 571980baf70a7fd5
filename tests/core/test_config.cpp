#include <catch2/catch.hpp>

#include "troupe/core/config/cli.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe::core;

namespace {

/// Parses `args` into default options and validates them; returns the
/// field named by the error, or "" when everything was accepted.
std::string rejected_field(std::vector<const char*> args) {
  trainer_options o;
  arg_parser p("test", "test");
  add_trainer_options(p, o);
  args.insert(args.begin(), "test");
  try {
    p.parse(static_cast<int>(args.size()), args.data());
    validate(o);
  } catch (const config_error& e) {
    return e.field();
  }
  return "";
}

} // namespace

TEST_CASE("defaults are valid", "[core][config]") {
  CHECK(rejected_field({}) == "");
  trainer_options o;
  CHECK(o.lr == 0.02);
  CHECK(o.momentum == 0.9);
  CHECK(o.batch_size == 64);
  CHECK(o.max_epochs == 3);
  CHECK(o.log_every_n_steps == 50);
}

TEST_CASE("invalid values are rejected naming the field", "[core][config]") {
  CHECK(rejected_field({"--accumulate=0"}) == "accumulate");
  CHECK(rejected_field({"--log-every-n-steps=0"}) == "log-every-n-steps");
  CHECK(rejected_field({"--lr=-0.1"}) == "lr");
  CHECK(rejected_field({"--lr=nan"}) == "lr");
  CHECK(rejected_field({"--replicas=0"}) == "replicas");
  CHECK(rejected_field({"--batch-size=-3"}) == "batch-size");
  CHECK(rejected_field({"--momentum=1"}) == "momentum");
  CHECK(rejected_field({"--loggers=console,wandb"}) == "loggers");
  CHECK(rejected_field({"--loggers=csv,csv"}) == "loggers");
  CHECK(rejected_field({"--reduce=train/loss=median"}) == "reduce");
  CHECK(rejected_field({"--reduce=loss=ema:0.1"}) == "reduce");
  CHECK(rejected_field({"--reduce=val/loss=max"}) == "reduce");
  CHECK(rejected_field({"--max-steps=0"}) == "max-steps");
  CHECK(rejected_field({"--device=tpu"}) == "device");
  CHECK(rejected_field({"--batch-size=abc"}) == "batch-size");
  CHECK(rejected_field({"--shuffle=maybe"}) == "shuffle");
  CHECK(rejected_field({"--no-such-option=1"}) == "no-such-option");
  CHECK(rejected_field({"--seed=-1"}) == "seed");
}

TEST_CASE("options parse in --name=value form", "[core][config]") {
  trainer_options o;
  arg_parser p("test", "test");
  add_trainer_options(p, o);
  const char* args[] = {"test", "--shuffle=false", "--overwrite",
                        "--loggers=csv,jsonl", "--reduce=train/loss=ema:0.02",
                        "--max-steps=20", "--lr=0.5"};
  REQUIRE(p.parse(7, args));
  CHECK_FALSE(o.shuffle);
  CHECK(o.overwrite);
  CHECK(o.loggers == std::vector<std::string>{"csv", "jsonl"});
  CHECK(o.reduce.at("train/loss").alpha == 0.02);
  CHECK(o.max_steps == 20);
  CHECK(o.lr == 0.5);
  const char* help[] = {"test", "--help"};
  CHECK_FALSE(p.parse(2, help));
  CHECK(p.help().find("--log-every-n-steps") != std::string::npos);
}

TEST_CASE("the configuration serializes to JSON", "[core][config]") {
  trainer_options o;
  o.reduce["train/loss"] = parse_reduction("ema:0.5");
  auto j = to_json(o);
  CHECK(j.find("\"lr\": 0.02") != std::string::npos);
  CHECK(j.find("\"reduce\": {\"train/loss\": \"ema:0.5\"}") != std::string::npos);
  CHECK(j.find("\"loggers\": [\"console\", \"csv\", \"jsonl\"]")
        != std::string::npos);
}
