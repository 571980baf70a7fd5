#include <catch2/catch.hpp>

#include <filesystem>
#include <vector>

#include "temp_dir.hpp"
#include "tfevents_reader.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/logging/tfevents.hpp"
#include "troupe/core/util/crc32c.hpp"

using namespace troupe;
using namespace troupe::core;
using namespace troupe::test;

TEST_CASE("CRC-32C matches its check value", "[core][tensorboard]") {
  const char* check = "123456789";
  CHECK(crc32c(check, 9) == 0xE3069283u);
  CHECK(bitwise_crc32c(reinterpret_cast<const unsigned char*>(check), 9)
        == 0xE3069283u);
  CHECK(masked_crc32c(check, 9) == masked(0xE3069283u));
}

TEST_CASE("CRC-32C agrees with a bitwise reference at every length and "
          "alignment",
          "[core][tensorboard]") {
  // crc32c takes eight bytes per step where the CPU allows; the tail and
  // unaligned starts must give the same value as one bit at a time.
  std::vector<unsigned char> bytes(300);
  uint32_t x = 12345;
  for (auto& b : bytes) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<unsigned char>(x >> 24);
  }
  for (size_t start = 0; start < 9; ++start)
    for (size_t n = 0; start + n <= bytes.size(); n += 7) {
      INFO("start " << start << ", " << n << " bytes");
      REQUIRE(crc32c(bytes.data() + start, n)
              == bitwise_crc32c(bytes.data() + start, n));
    }
}

TEST_CASE("the TensorBoard sink writes framed events a reader parses",
          "[core][tensorboard]") {
  temp_dir dir;
  {
    tensorboard_sink tb{dir.path()};
    tb.hyperparameters(
      "{\"lr\": 0.02, \"loggers\": [\"csv\"], \"run_dir\": \"x\"}");
    tb.write(10, 0, {{"train/loss", 0.5}, {"lr", 0.02}});
    tb.write(20, 0, {{"train/loss", 0.25}});
    tb.close();
  }
  auto path = events_file(dir.path());
  REQUIRE(!path.empty());
  CHECK(path.find("events.out.tfevents.") != std::string::npos);
  auto events = read_tf_events(path);
  REQUIRE(events.size() == 4);
  CHECK(events[0].file_version == "brain.Event:2");
  CHECK(events[0].wall_time > 1.6e9);
  REQUIRE(events[1].values.size() == 1);
  CHECK(events[1].values[0].tag == "hparams");
  CHECK(events[1].values[0].plugin_name == "text");
  REQUIRE(events[1].values[0].strings.size() == 1);
  CHECK(events[1].values[0].strings[0].find("| lr | 0.02 |")
        != std::string::npos);
  CHECK(events[2].step == 10);
  REQUIRE(events[2].values.size() == 2);
  CHECK(events[2].values[0].tag == "train/loss");
  CHECK(events[2].values[0].has_simple_value);
  CHECK(events[2].values[0].simple_value == 0.5f);
  CHECK(events[2].values[1].simple_value == 0.02f);
  CHECK(events[3].step == 20);
}

TEST_CASE("a corrupted or truncated event file is detected",
          "[core][tensorboard]") {
  temp_dir dir;
  {
    tensorboard_sink tb{dir.path()};
    tb.write(1, 0, {{"a", 1.0}});
    tb.write(2, 0, {{"a", 2.0}});
    tb.close();
  }
  auto bytes = read_text(events_file(dir.path()));
  REQUIRE_NOTHROW(read_tf_records(bytes));
  auto records = read_tf_records(bytes);
  REQUIRE(records.size() == 3);
  auto second = 12 + records[0].size() + 4; // offset of record 1
  SECTION("a flipped data byte") {
    auto bad = bytes;
    bad[second + 12 + 3] ^= 0x01;
    try {
      read_tf_records(bad);
      FAIL("accepted");
    } catch (const std::runtime_error& e) {
      CHECK(std::string{e.what()}
            == "record 1 at byte " + std::to_string(second)
              + ": data CRC mismatch");
    }
  }
  SECTION("a flipped length byte") {
    auto bad = bytes;
    bad[second] ^= 0x04;
    CHECK_THROWS_WITH(read_tf_records(bad),
                      Catch::Contains("length CRC mismatch"));
  }
  SECTION("a truncated file") {
    CHECK_THROWS_WITH(read_tf_records(bytes.substr(0, bytes.size() - 3)),
                      Catch::Contains("record 2"));
  }
}
