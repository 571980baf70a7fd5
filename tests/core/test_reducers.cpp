#include <catch2/catch.hpp>

#include <cmath>

#include "troupe/core/train/reducers.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe;
using namespace troupe::core;

TEST_CASE("reduction specs parse and print back", "[core][reducers]") {
  CHECK(parse_reduction("mean").kind == reduction_spec::mean);
  CHECK(parse_reduction("sum").kind == reduction_spec::sum);
  CHECK(parse_reduction("last").kind == reduction_spec::last);
  CHECK(parse_reduction("min").kind == reduction_spec::min);
  CHECK(parse_reduction("max").kind == reduction_spec::max);
  auto ema = parse_reduction("ema:0.02");
  CHECK(ema.kind == reduction_spec::ema);
  CHECK(ema.alpha == 0.02);
  CHECK(to_string(ema) == "ema:0.02");
  auto many = parse_reductions("train/loss=ema:0.1,train/acc=max");
  REQUIRE(many.size() == 2);
  CHECK(many["train/loss"].alpha == 0.1);
  CHECK(many["train/acc"].kind == reduction_spec::max);
}

TEST_CASE("bad reduction specs name the field", "[core][reducers]") {
  for (auto bad : {"median", "ema:", "ema:0", "ema:1.5", "ema:x", "ema:0.1x"}) {
    INFO(bad);
    try {
      parse_reduction(bad);
      FAIL("accepted " << bad);
    } catch (const config_error& e) {
      CHECK(e.field() == "reduce");
      CHECK(std::string{e.what()}.find(bad) != std::string::npos);
    }
  }
  CHECK_THROWS_AS(parse_reductions("train/loss"), config_error);
  CHECK_THROWS_AS(parse_reductions("=mean"), config_error);
}

TEST_CASE("window reducers follow their definitions", "[core][reducers]") {
  // Three steps: values 1, 4, 2 with sample weights 10, 30, 20.
  std::vector<std::pair<double, double>> steps{{1, 10}, {4, 30}, {2, 20}};
  auto run = [&](const char* spec) {
    window_reducer w{parse_reduction(spec)};
    for (auto [x, n] : steps)
      w.add(x * n, n);
    return w.value();
  };
  CHECK(run("mean") == Approx((10.0 + 120 + 40) / 60));
  CHECK(run("sum") == Approx(7.0));
  CHECK(run("last") == 2.0);
  CHECK(run("min") == 1.0);
  CHECK(run("max") == 4.0);
  double e = 1;
  e = 0.5 * 4 + 0.5 * e;
  e = 0.5 * 2 + 0.5 * e;
  CHECK(run("ema:0.5") == Approx(e));
}

TEST_CASE("a window resets, an EMA carries over", "[core][reducers]") {
  window_reducer mean{parse_reduction("mean")};
  mean.add(10, 10);
  mean.reset();
  CHECK(mean.empty());
  mean.add(6, 2);
  CHECK(mean.value() == 3.0);
  window_reducer ema{parse_reduction("ema:0.25")};
  ema.add(4, 1);
  ema.reset();
  ema.add(8, 1);
  CHECK(ema.value() == Approx(0.25 * 8 + 0.75 * 4));
}

TEST_CASE("metric windows flush once per window, per name",
          "[core][reducers]") {
  metric_windows w{{{"train/acc", parse_reduction("max")}}};
  w.add_step({{"loss", 2, 2}, {"acc", 1, 2}}, "train/");
  w.add_step({{"loss", 6, 2}, {"acc", 2, 2}}, "train/");
  auto out = w.flush();
  REQUIRE(out.size() == 2);
  CHECK(out[0].name == "train/loss");
  CHECK(out[0].value == 2.0);
  CHECK(out[1].name == "train/acc");
  CHECK(out[1].value == 1.0);
  CHECK(w.flush().empty());
}

TEST_CASE("rank-ordered reduction of metric sums", "[core][reducers]") {
  std::vector<metric_sums> ranks{{{"loss", 1.5, 3}, {"acc", 1, 3}},
                                 {{"loss", 0.5, 1}, {"acc", 0, 1}}};
  auto r = reduce_in_rank_order(ranks);
  REQUIRE(r.size() == 2);
  CHECK(r[0].sum == 2.0);
  CHECK(r[0].weight == 4.0);
  auto v = to_values(r, "train/");
  CHECK(v[0].name == "train/loss");
  CHECK(v[0].value == 0.5);
  CHECK(v[1].value == 0.25);
  CHECK(std::isnan(to_values({{"x", 0, 0}})[0].value));
}
