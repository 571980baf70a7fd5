#include "troupe/core/logging/summary.hpp"

#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/util/json.hpp"

namespace troupe::core {

std::string summary_json(const fit_report& report) {
  json_object j;
  j.add("status", std::string{to_string(report.status)});
  if (!report.error.empty())
    j.add("error", report.error);
  if (!report.sink_errors.empty()) {
    // Training may have completed, but not every output is whole: the
    // launchers exit 3 (README, "Exit status").
    j.add("outputs_lost", true);
    std::string all;
    for (const auto& e : report.sink_errors)
      all += (all.empty() ? "" : "; ") + e;
    j.add("sink_errors", all);
  }
  j.add("global_step", report.global_step)
    .add("epochs", report.epochs)
    .add("samples", report.samples)
    .add("wall_seconds", report.wall_seconds);
  for (const auto& m : report.last)
    j.add(m.name, m.value);
  return j.str();
}

void write_summary(const std::string& run_dir, const fit_report& report) {
  write_file_atomic(run_dir + "/summary.json", summary_json(report) + "\n");
}

} // namespace troupe::core
