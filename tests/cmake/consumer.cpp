// A program outside the troupe tree: trains a few steps through the public
// API and checks the outcome.
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/model.hpp"

int main() {
  troupe::core::trainer_options opts;
  opts.max_steps = 5;
  opts.batch_size = 16;
  opts.loggers = {"csv"};
  auto tmpl
    = (std::filesystem::temp_directory_path() / "troupe-consumer-XXXXXX")
        .string();
  opts.run_dir = std::string{mkdtemp(tmpl.data())} + "/run";
  troupe::trainer t{opts, "consumer"};
  auto data = troupe::core::make_synthetic(256, 32, 32, 8, 3);
  auto report = t.fit(troupe::core::mlp_classifier({8, 16, 3}), data);
  std::printf("consumer: %s after %lld steps\n", to_string(report.status),
              static_cast<long long>(report.global_step));
  bool ok = report.status == troupe::fit_status::completed
    && report.global_step == 5
    && std::filesystem::exists(opts.run_dir + "/summary.json");
  std::filesystem::remove_all(
    std::filesystem::path(opts.run_dir).parent_path());
  return ok ? 0 : 1;
}
