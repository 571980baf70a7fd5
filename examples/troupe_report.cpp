// troupe-report: renders <run-dir>/report.html (or --out=FILE) from a run's
// metrics, configuration and summary; one self-contained HTML file.
//
//   ./build/examples/troupe-report runs/fashion_mnist/version_0

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "troupe/core/report/report.hpp"
#include "troupe/core/util/errors.hpp"

int main(int argc, char** argv) {
  std::string dir;
  std::string out;
  bool force = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("usage: troupe-report RUN_DIR [--out=FILE] [--force]\n\n"
                 "Writes a self-contained HTML report (inline SVG charts of "
                 "every metric on the optimizer-step axis, the configuration "
                 "and the summary) to RUN_DIR/report.html or FILE. An "
                 "existing FILE is replaced only with --force, and never "
                 "when it is not a regular file.\n");
      return 0;
    }
    if (arg.rfind("--out=", 0) == 0)
      out = arg.substr(6);
    else if (arg == "--force" || arg == "--force=true")
      force = true;
    else if (arg.rfind("--", 0) == 0 || !dir.empty()) {
      fmt::print(stderr, "error: unexpected argument '{}' (see --help)\n", arg);
      return 2;
    } else
      dir = arg;
  }
  if (dir.empty()) {
    fmt::print(stderr, "error: no run directory given (see --help)\n");
    return 2;
  }
  std::error_code ec;
  if (!out.empty() && !force && std::filesystem::exists(out, ec)) {
    fmt::print(stderr,
               "error: {} exists; pass --force to replace it (see --help)\n",
               out);
    return 2;
  }
  try {
    fmt::print("{}\n", troupe::core::write_report(dir, out));
    return 0;
  } catch (const troupe::core::data_error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const troupe::core::output_error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
