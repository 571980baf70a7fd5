#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "troupe/core/config/cli.hpp"
#include "troupe/core/config/config_file.hpp"
#include "troupe/core/config/option_table.hpp"
#include "troupe/core/train/schedule.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"

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

/// Sets one option of `o` from `--flag=value`, as a launcher would.
void parse_flag(trainer_options& o, const std::string& flag,
                const std::string& value) {
  arg_parser p("test", "test");
  add_trainer_options(p, o);
  auto arg = "--" + flag + "=" + value;
  const char* args[] = {"test", arg.c_str()};
  p.parse(2, args);
}

// -- counting the fields of trainer_options -----------------------------------

/// Converts to a field of any type (unevaluated only): `T{any_field<I>{}...}`
/// compiles while there are no more initialisers than fields.
template <size_t I>
struct any_field {
  template <class T>
  operator T&() const;
};

template <class T, class Indices, class = void>
struct brace_initializable : std::false_type {};

template <class T, size_t... I>
struct brace_initializable<T, std::index_sequence<I...>,
                           std::void_t<decltype(T{any_field<I>{}...})>>
    : std::true_type {};

/// How many fields the aggregate `T` has.
template <class T, size_t N = 0>
constexpr size_t field_count() {
  if constexpr (brace_initializable<T, std::make_index_sequence<N + 1>>::value)
    return field_count<T, N + 1>();
  else
    return N;
}

// -- a valid non-default value of each option, as its flag takes it -----------

/// Candidate flag values for an option of this type; the test takes the
/// first the option accepts that differs from its default.
std::vector<std::string> samples(int64_t x) {
  return {std::to_string(std::max<int64_t>(x, 0) + 3)};
}

std::vector<std::string> samples(uint64_t x) {
  return {std::to_string(x + 3)};
}

std::vector<std::string> samples(double x) {
  return {fmt::format("{}", x == 0 ? 0.5 : x / 2), "0.01"};
}

std::vector<std::string> samples(bool x) {
  return {x ? "false" : "true"};
}

std::vector<std::string> samples(const std::string&) {
  return {"some/dir", "flip",     "cuda:1", "adamw",
          "cosine",   "val/loss", "max",    "skip-step"};
}

std::vector<std::string> samples(const std::vector<std::string>&) {
  return {"csv,tensorboard", "logger,stepper"};
}

std::vector<std::string> samples(const std::map<std::string, reduction_spec>&) {
  return {"train/loss=ema:0.5,train/acc=max"};
}

std::vector<std::string> samples(trace_tensors) {
  return {"full", "digest"};
}

std::vector<std::string> samples(const std::optional<double>&) {
  return {"0.5", "1e-3"};
}

std::vector<std::string> samples(const std::optional<std::array<double, 2>>&) {
  return {"0.5,0.75"};
}

/// A config.json value written back as a flag value: strings unquoted,
/// lists comma-joined, objects as KEY=VALUE,... (the words here need no
/// escapes).
std::string as_flag_value(const json_field& f) {
  if (f.is_string || f.value.empty()
      || (f.value.front() != '[' && f.value.front() != '{'))
    return f.value;
  if (f.value.front() == '{') {
    std::string out;
    for (const auto& x : parse_json_object(f.value))
      out += (out.empty() ? "" : ",") + x.key + "=" + x.value;
    return out;
  }
  std::string out;
  for (char c : f.value.substr(1, f.value.size() - 2))
    if (c != '"' && c != ' ')
      out += c;
  return out;
}

} // namespace

TEST_CASE("every field of trainer_options is in the option table once",
          "[core][config]") {
  trainer_options o;
  std::set<const void*> fields;
  std::set<std::string> flags;
  std::set<std::string> keys;
  size_t entries = 0;
  for_each_option(o, [&](const auto& info, auto& field) {
    ++entries;
    INFO("option " << entries << ": --" << info.flag);
    fields.insert(&field);
    REQUIRE(info.flag != nullptr);
    REQUIRE(info.key != nullptr);
    REQUIRE(info.help != nullptr);
    std::string flag = info.flag;
    std::string key = info.key;
    CHECK(!flag.empty());
    CHECK(!key.empty());
    CHECK(!std::string{info.help}.empty());
    CHECK(flag.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-")
          == std::string::npos);
    CHECK(key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_")
          == std::string::npos);
    CHECK(flags.insert(flag).second);
    CHECK(keys.insert(key).second);
  });
  // A field added to trainer_options but not to the table fails here.
  CHECK(entries == field_count<trainer_options>());
  CHECK(fields.size() == entries);
}

TEST_CASE("every option is in --help, describe() and config.json, in order",
          "[core][config]") {
  trainer_options o;
  arg_parser p("test", "test");
  add_trainer_options(p, o);
  auto help = p.help();
  auto lines = describe(o);
  auto json = parse_json_object(to_json(o));
  size_t i = 0;
  size_t help_at = 0;
  for_each_option(o, [&](const auto& info, const auto&) {
    INFO("--" << info.flag);
    auto at = help.find(fmt::format("\n  --{} ", info.flag));
    CHECK(at != std::string::npos);
    CHECK(at >= help_at);
    help_at = at;
    REQUIRE(i < lines.size());
    CHECK(lines[i].rfind(fmt::format("{:<19} = ", info.flag), 0) == 0);
    REQUIRE(i < json.size());
    CHECK(json[i].key == info.key);
    ++i;
  });
  CHECK(lines.size() == i);
  CHECK(json.size() == i);
}

TEST_CASE("each option round-trips flag, options, config.json, flag",
          "[core][config]") {
  const trainer_options plain;
  for_each_option(plain, [&](const auto& info, const auto& default_value) {
    INFO("--" << info.flag);
    // Options of Adam only are tried on Adam (SGD refuses them).
    trainer_options defaults;
    std::string flag = info.flag;
    if (flag == "betas" || flag == "eps")
      defaults.optimizer = "adam";
    const auto default_json = parse_json_object(to_json(defaults));
    // A value the option accepts and config.json tells from the default.
    trainer_options set;
    std::string chosen;
    for (const auto& text : samples(default_value)) {
      trainer_options o = defaults;
      try {
        parse_flag(o, info.flag, text);
        validate(o);
      } catch (const config_error&) {
        continue;
      }
      if (to_json(o) != to_json(defaults)) {
        set = o;
        chosen = text;
        break;
      }
    }
    REQUIRE(!chosen.empty());
    INFO("--" << info.flag << "=" << chosen);
    // config.json shows the new value under the option's key, and nothing
    // else moves.
    auto json = parse_json_object(to_json(set));
    REQUIRE(json.size() == default_json.size());
    for (size_t i = 0; i < json.size(); ++i) {
      CHECK(json[i].key == default_json[i].key);
      if (json[i].key == info.key)
        CHECK(json[i].value != default_json[i].value);
      else
        CHECK(json[i].value == default_json[i].value);
    }
    // Its config.json value, given back as the flag, sets the same options.
    auto field = find_field(json, info.key);
    REQUIRE(field != nullptr);
    trainer_options again = defaults;
    parse_flag(again, info.flag, as_flag_value(*field));
    CHECK(to_json(again) == to_json(set));
    CHECK(describe(again) == describe(set));
  });
}

TEST_CASE("config.json of the defaults keeps its keys, order and format",
          "[core][config]") {
  // Offline rendering and the trainer (which appends the schedule) read
  // this layout.
  CHECK(to_json(trainer_options{})
        == "{\"replicas\": 1, \"accumulate\": 1, \"batch_size\": 64, "
           "\"optimizer\": \"sgd\", \"lr\": null, \"momentum\": null, "
           "\"nesterov\": false, \"weight_decay\": null, \"betas\": null, "
           "\"eps\": null, \"lr_schedule\": \"constant\", "
           "\"warmup_steps\": 0, \"min_lr\": 0, \"step_size\": 1000, "
           "\"gamma\": 0.1, \"clip_grad_norm\": null, \"max_epochs\": 3, "
           "\"max_steps\": -1, \"val_every_n_steps\": 0, "
           "\"log_every_n_steps\": 50, \"reduce\": {}, \"seed\": 0, "
           "\"shuffle\": true, \"run_dir\": \"\", \"overwrite\": false, "
           "\"loggers\": [\"console\", \"csv\", \"jsonl\"], "
           "\"report\": false, \"augment\": \"\", \"trace\": [], "
           "\"trace_tensors\": \"full\", \"scheduler_threads\": 0, "
           "\"intra_op_threads\": 0, \"retain_memory\": true, "
           "\"capture_output\": true, "
           "\"export_params\": \"\", \"device\": \"cpu\", "
           "\"eval_batch_size\": 1000, \"steps_ahead\": 2, "
           "\"logger_credits\": 64, \"timeout\": 600, "
           "\"checkpoint_every_n_steps\": 0, \"checkpoint_dir\": \"\", "
           "\"keep_checkpoints\": 2, \"resume\": \"\", "
           "\"checkpoint_monitor\": \"\", \"checkpoint_mode\": \"min\", "
           "\"save_top_k\": 1, \"on_nonfinite_loss\": \"stop\"}");
}

TEST_CASE("describe() prints every option, augment's empty value as none",
          "[core][config]") {
  trainer_options o;
  o.trace_tensors = trace_tensors::digest;
  auto lines = describe(o);
  CHECK(std::find(lines.begin(), lines.end(), "augment             = none")
        != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "trace-tensors       = digest")
        != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "timeout             = 600")
        != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "resume              = none")
        != lines.end());
  CHECK(lines.back() == "on-nonfinite-loss   = stop");
}

TEST_CASE("--trace-tensors takes the words full and digest", "[core][config]") {
  trainer_options o;
  parse_flag(o, "trace-tensors", "digest");
  CHECK(o.trace_tensors == trace_tensors::digest);
  CHECK(to_json(o).find("\"trace_tensors\": \"digest\"") != std::string::npos);
  parse_flag(o, "trace-tensors", "full");
  CHECK(o.trace_tensors == trace_tensors::full);
  CHECK_THROWS_WITH(parse_flag(o, "trace-tensors", "half"),
                    "invalid --trace-tensors: expected full or digest, got "
                    "'half'");
}

TEST_CASE("defaults are valid", "[core][config]") {
  CHECK(rejected_field({}) == "");
  trainer_options o;
  CHECK(!o.lr); // the optimizer's
  auto effective = with_optimizer_defaults(o);
  CHECK(effective.lr == 0.02);
  CHECK(effective.momentum == 0.9);
  CHECK(!effective.betas);
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
  CHECK(rejected_field({"--val-every-n-steps=-1"}) == "val-every-n-steps");
  CHECK(rejected_field({"--trace=everyone"}) == "trace");
  CHECK(rejected_field({"--trace-tensors=half"}) == "trace-tensors");
  CHECK(rejected_field({"--scheduler-threads=-1"}) == "scheduler-threads");
  CHECK(rejected_field({"--eval-batch-size=0"}) == "eval-batch-size");
  CHECK(rejected_field({"--steps-ahead=0"}) == "steps-ahead");
  CHECK(rejected_field({"--logger-credits=0"}) == "logger-credits");
  CHECK(rejected_field({"--timeout=0"}) == "timeout");
}

TEST_CASE("bad recipes are refused before training, naming the option",
          "[core][config]") {
  CHECK(rejected_field({"--optimizer=lamb"}) == "optimizer");
  CHECK(rejected_field({"--lr-schedule=exponential"}) == "lr-schedule");
  CHECK(rejected_field({"--optimizer=adam", "--betas=0.9,1"}) == "betas");
  CHECK(rejected_field({"--optimizer=adam", "--betas=-0.1,0.9"}) == "betas");
  CHECK(rejected_field({"--optimizer=adam", "--betas=0.9"}) == "betas");
  CHECK(rejected_field({"--optimizer=adam", "--betas=0.9,0.99,0.9"})
        == "betas");
  CHECK(rejected_field({"--optimizer=adam", "--betas=a,b"}) == "betas");
  CHECK(rejected_field({"--betas=0.9,0.99"}) == "betas"); // sgd has none
  CHECK(rejected_field({"--weight-decay=-0.01"}) == "weight-decay");
  CHECK(rejected_field({"--weight-decay=inf"}) == "weight-decay");
  CHECK(rejected_field({"--clip-grad-norm=0"}) == "clip-grad-norm");
  CHECK(rejected_field({"--clip-grad-norm=-1"}) == "clip-grad-norm");
  CHECK(rejected_field({"--clip-grad-norm=nan"}) == "clip-grad-norm");
  CHECK(rejected_field({"--optimizer=adam", "--momentum=0.9"}) == "momentum");
  CHECK(rejected_field({"--eps=1e-8"}) == "eps");
  CHECK(rejected_field({"--optimizer=adam", "--eps=0"}) == "eps");
  CHECK(rejected_field({"--optimizer=adamw", "--nesterov"}) == "nesterov");
  CHECK(rejected_field({"--momentum=0", "--nesterov"}) == "nesterov");
  CHECK(rejected_field({"--warmup-steps=-1"}) == "warmup-steps");
  CHECK(rejected_field({"--min-lr=0.5"}) == "min-lr"); // above sgd's 0.02
  CHECK(rejected_field({"--gamma=0"}) == "gamma");
  CHECK(rejected_field({"--step-size=0"}) == "step-size");
  CHECK(rejected_field({"--optimizer=adamw", "--betas=0.8,0.9", "--eps=1e-6",
                        "--weight-decay=0", "--lr-schedule=cosine",
                        "--warmup-steps=10", "--clip-grad-norm=1"})
        == "");
  CHECK(rejected_field({"--nesterov", "--momentum=0.5"}) == "");
  // Warmup is checked against the fit's steps, which the data set decides.
  trainer_options o;
  o.warmup_steps = 10;
  o.max_steps = 10;
  CHECK_THROWS_WITH(schedule::make(o, 100'000),
                    Catch::Contains("warmup-steps")
                      && Catch::Contains("less than the fit's 10"));
  o.warmup_steps = 9;
  CHECK(schedule::make(o, 100'000).total_steps == 10);
}

TEST_CASE("the optimizer's own defaults fill what is unset, and only that",
          "[core][config]") {
  trainer_options o;
  o.optimizer = "adamw";
  auto e = with_optimizer_defaults(o);
  CHECK(e.lr == 1e-3);
  CHECK(e.weight_decay == 1e-2);
  CHECK(e.eps == 1e-8);
  CHECK(e.betas == std::array<double, 2>{0.9, 0.999});
  CHECK(!e.momentum);
  o.optimizer = "adam";
  o.lr = 0.5;
  e = with_optimizer_defaults(o);
  CHECK(e.lr == 0.5);
  CHECK(e.weight_decay == 0);
  o.optimizer = "rmsprop";
  o.lr.reset();
  e = with_optimizer_defaults(o);
  CHECK(e.lr == 1e-2);
  CHECK(e.momentum == 0);
  CHECK(!e.betas);
  // config.json of the effective options reads back to the same options.
  auto text = config_json(e, schedule::make(e, 1000));
  auto back = parse_config_json(text, "config.json");
  CHECK(to_json(back.options) == to_json(e));
  o.optimizer = "adam";
  o.betas = std::array<double, 2>{0.5, 0.25};
  back = parse_config_json(config_json(o, schedule::make(o, 1000)), "c.json");
  CHECK(back.options.betas == o.betas);
  CHECK(!back.options.momentum);
}

TEST_CASE("options parse in --name=value form", "[core][config]") {
  trainer_options o;
  arg_parser p("test", "test");
  add_trainer_options(p, o);
  const char* args[] = {"test",
                        "--shuffle=false",
                        "--overwrite",
                        "--loggers=csv,jsonl",
                        "--reduce=train/loss=ema:0.02",
                        "--max-steps=20",
                        "--lr=0.5"};
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
  auto j = to_json(with_optimizer_defaults(o));
  CHECK(j.find("\"lr\": 0.02") != std::string::npos);
  CHECK(j.find("\"reduce\": {\"train/loss\": \"ema:0.5\"}")
        != std::string::npos);
  CHECK(j.find("\"loggers\": [\"console\", \"csv\", \"jsonl\"]")
        != std::string::npos);
}

TEST_CASE("every numeric option has a range: int64 and double extremes, NaN "
          "and infinities are refused naming the option",
          "[core][config]") {
  const std::vector<std::string> ints{
    "9223372036854775807", "-9223372036854775808", "4611686018427387904", "-5"};
  const std::vector<std::string> reals{"nan",   "inf",    "-inf",
                                       "1e308", "-1e308", "1e10"};
  trainer_options defaults;
  size_t numeric = 0;
  for_each_option(defaults, [&](const auto& info, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    std::vector<std::string> extremes;
    if constexpr (std::is_same_v<T, int64_t>)
      extremes = ints;
    else if constexpr (std::is_same_v<
                         T, double> || std::is_same_v<T, std::optional<double>>)
      extremes = reals;
    else
      return;
    ++numeric;
    INFO("--" << info.flag);
    CHECK(info.check); // declared with a range
    for (const auto& x : extremes) {
      INFO(x);
      auto arg = fmt::format("--{}={}", info.flag, x);
      CHECK(rejected_field({arg.c_str()}) == info.flag);
    }
  });
  CHECK(numeric > 10);
}

TEST_CASE("numbers are strict: blanks, signs on unsigned values, overflow "
          "and trailing text are refused",
          "[core][config]") {
  CHECK(rejected_field({"--seed= -1"}) == "seed");
  CHECK(rejected_field({"--seed=+1"}) == "seed");
  CHECK(rejected_field({"--seed=18446744073709551616"}) == "seed");
  CHECK(rejected_field({"--seed=18446744073709551615"}) == "");
  CHECK(rejected_field({"--batch-size= 8"}) == "batch-size");
  CHECK(rejected_field({"--batch-size=8 "}) == "batch-size");
  CHECK(rejected_field({"--batch-size=1e3"}) == "batch-size");
  CHECK(rejected_field({"--batch-size=99999999999999999999"}) == "batch-size");
  CHECK(rejected_field({"--lr=0x10"}) == "lr");
  CHECK(rejected_field({"--lr=1e999"}) == "lr");
  CHECK(rejected_field({"--lr=0.1abc"}) == "lr");
  CHECK(rejected_field({"--trace=all,all"}) == "trace");
  CHECK(rejected_field({"--device=cuda:"}) == "device");
  CHECK(rejected_field({"--device=cuda:99999"}) == "device");
  CHECK(rejected_field({"--device=cuda:1"}) == "");
  CHECK(rejected_field({"--scheduler-threads=100000"}) == "scheduler-threads");
  CHECK(rejected_field({"--timeout=inf"}) == "timeout");
  std::string long_dir(5000, 'd');
  auto arg = "--run-dir=" + long_dir;
  CHECK(rejected_field({arg.c_str()}) == "run-dir");
}

TEST_CASE("the schedule's products are overflow-checked even when validate() "
          "is skipped",
          "[core][config][schedule]") {
  trainer_options o;
  o.batch_size = 4611686018427387904; // x accumulate 4 wraps to 0
  o.accumulate = 4;
  CHECK_THROWS_AS(schedule::make(o, 60000), config_error);
  trainer_options e;
  e.max_epochs = 288230376151711744;
  CHECK_THROWS_WITH(schedule::make(e, 60000), Catch::Contains("--max-epochs"));
  trainer_options n;
  n.max_epochs = -4;
  CHECK_THROWS_AS(schedule::make(n, 60000), config_error);
}

namespace {

/// The data_error of parse_config_json on the defaults' config.json with
/// `key` set to the raw JSON `value` (added when absent), or "" if none.
std::string config_complaint(const std::string& key, const std::string& value) {
  trainer_options o;
  auto text = config_json(o, schedule::make(o, 6400));
  auto fields = parse_json_object(text);
  std::string out = "{";
  bool found = false;
  for (const auto& f : fields) {
    auto v = f.is_string ? json_quote(f.value) : f.value;
    if (f.key == key) {
      v = value;
      found = true;
    }
    if (value.empty() && f.key == key)
      continue; // removed
    out += (out.size() > 1 ? ", " : "") + json_quote(f.key) + ": " + v;
  }
  if (!found && !value.empty())
    out += ", " + json_quote(key) + ": " + value;
  out += "}";
  try {
    parse_config_json(out, "run/config.json");
  } catch (const data_error& e) {
    CHECK(e.file() == "run/config.json");
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("config.json is read through the command line's checks, naming "
          "the file and the field",
          "[core][config]") {
  CHECK(config_complaint("lr", "0.02") == "");
  using Catch::Contains;
  CHECK_THAT(config_complaint("steps_per_epoch", "0"),
             Contains("'steps_per_epoch'"));
  CHECK_THAT(config_complaint("steps_per_epoch", "\"abc\""),
             Contains("'steps_per_epoch'"));
  CHECK_THAT(config_complaint("steps_per_epoch", "-1"),
             Contains("'steps_per_epoch'"));
  CHECK_THAT(config_complaint("steps_per_epoch", "7"),
             Contains("the options and train_samples give 100"));
  CHECK_THAT(config_complaint("total_steps", "99999999999999999999"),
             Contains("does not fit"));
  CHECK_THAT(config_complaint("train_samples", ""),
             Contains("no field 'train_samples'"));
  CHECK_THAT(config_complaint("lr", "\"abc\""), Contains("field 'lr'"));
  CHECK_THAT(config_complaint("max_epochs", "288230376151711744"),
             Contains("field 'max_epochs'"));
  CHECK_THAT(config_complaint("loggers", "[\"csv\", \"csv\"]"),
             Contains("field 'loggers'"));
  CHECK_THAT(config_complaint("loggers", "[1]"), Contains("field 'loggers'"));
  CHECK_THAT(config_complaint("run_dir", "\"\\uZZZZ\""), Contains("at byte"));
  CHECK_THAT(config_complaint("reduce", "{\"train/loss\": \"median\"}"),
             Contains("field 'reduce'"));
  CHECK_THAT(config_complaint("seed", "null"), Contains("field 'seed'"));
}
