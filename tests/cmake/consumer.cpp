// A program outside the troupe tree: trains a few steps through the public
// API and checks the outcome.
#include <cstdio>
#include <filesystem>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/datasets.hpp"
#include "troupe/core/model.hpp"

int main() {
  troupe::core::trainer_options opts;
  opts.max_steps = 5;
  opts.batch_size = 16;
  opts.loggers = {"csv"};
  opts.run_dir = (std::filesystem::temp_directory_path() / "troupe-consumer")
                   .string();
  opts.overwrite = true;
  troupe::trainer t{opts, "consumer"};
  auto data = troupe::core::make_synthetic(256, 32, 32, 8, 3);
  auto report = t.fit(troupe::core::mlp_classifier({8, 16, 3}), data);
  std::printf("consumer: %s after %lld steps\n", report.status.c_str(),
              static_cast<long long>(report.global_step));
  return report.status == "completed" && report.global_step == 5 ? 0 : 1;
}
