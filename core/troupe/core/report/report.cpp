#include "troupe/core/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "troupe/core/config/config_file.hpp"
#include "troupe/core/logging/csv.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/numbers.hpp"

namespace troupe::core {

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw data_error(path, "cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json_field> read_object(const std::string& path) {
  if (!std::filesystem::exists(path))
    return {};
  try {
    return parse_json_object(read_all(path));
  } catch (const std::runtime_error& e) {
    throw data_error(path, e.what());
  }
}

void add_point(run_record& run, const std::string& name, int64_t step,
               double value) {
  auto& s = run.series[name];
  if (s.empty())
    run.names.push_back(name);
  s.emplace_back(step, value);
}

double to_double(const std::string& text) {
  if (text == "null")
    return std::numeric_limits<double>::quiet_NaN();
  double x = 0;
  if (auto what = parse_double(text, x); !what.empty())
    throw std::runtime_error(what);
  return x;
}

int64_t to_step(const std::string& text) {
  int64_t x = 0;
  auto what = parse_int64(text, x);
  if (what.empty() && x < 0)
    what = fmt::format("a step is not negative, got {}", x);
  if (!what.empty())
    throw std::runtime_error("step: " + what);
  return x;
}

void read_jsonl(run_record& run, const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw data_error(path, "cannot read");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty())
      continue;
    try {
      auto fields = parse_json_object(line);
      auto step = find_field(fields, "step");
      auto name = find_field(fields, "name");
      auto value = find_field(fields, "value");
      if (!step || !name || !value)
        throw std::runtime_error("needs step, name and value");
      if (!name->is_string || step->is_string || value->is_string)
        throw std::runtime_error("name is a string, step and value numbers");
      add_point(run, name->value, to_step(step->value),
                to_double(value->value));
    } catch (const std::exception& e) {
      throw data_error(path, fmt::format("line {}: {}", n, e.what()));
    }
  }
}

void read_csv(run_record& run, const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw data_error(path, "cannot read");
  std::vector<std::string> cols;
  std::vector<std::string> cells;
  int64_t n = 1;
  try {
    if (!read_csv_record(in, cols) || cols.size() < 2 || cols[0] != "step")
      throw std::runtime_error("expected a header starting with step");
    for (n = 2; read_csv_record(in, cells); ++n) {
      if (cells.size() > cols.size())
        throw std::runtime_error(
          fmt::format("{} cells for {} columns", cells.size(), cols.size()));
      auto step = to_step(cells[0]);
      for (size_t i = 2; i < cells.size(); ++i)
        if (!cells[i].empty())
          add_point(run, cols[i], step, to_double(cells[i]));
    }
  } catch (const std::exception& e) {
    throw data_error(path, fmt::format("record {}: {}", n, e.what()));
  }
}

std::string escape(const std::string& x) {
  std::string out;
  for (char c : x) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// Round tick values covering [lo, hi]: at most about 2 x target of them,
/// whatever the magnitude (ranges near the resolution of a double, or as
/// wide as the doubles, included).
std::vector<double> ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi))
    return {lo};
  double raw = hi / target - lo / target; // no overflow at +-1e308
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  if (!(step > 0) || !std::isfinite(step))
    return {lo, hi};
  // Ticks by index, never by repeated addition (which stalls once the step
  // is below the spacing of doubles at lo).
  double first = std::ceil(lo / step);
  double last = std::floor(hi / step + 1e-9);
  if (!(last - first >= 0 && last - first <= 4.0 * target))
    return {lo, hi};
  std::vector<double> out;
  for (double k = first; k <= last; ++k) {
    double t = k * step;
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

struct line_spec {
  std::string name;  ///< series name (data-series)
  std::string label; ///< legend text
  std::vector<std::pair<int64_t, double>> points;
  std::string color;
  double opacity = 1.0;
  double width = 2.0;
};

const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                         "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/// One chart: an SVG with axes, gridlines and one path per line (a single
/// point becomes a circle). Each path carries data-series and data-points.
std::string chart(const std::string& title, const std::vector<line_spec>& lines,
                  int64_t max_step) {
  constexpr double w = 760, h = 300, left = 64, right = 16, top = 28,
                   bottom = 40;
  double ymin = INFINITY, ymax = -INFINITY;
  for (const auto& l : lines)
    for (const auto& [s, v] : l.points)
      if (std::isfinite(v)) {
        ymin = std::min(ymin, v);
        ymax = std::max(ymax, v);
      }
  if (!std::isfinite(ymin)) {
    ymin = 0;
    ymax = 1;
  }
  // Halves keep every difference finite, even between -1e308 and 1e308.
  double span = ymax / 2 - ymin / 2;
  if (span <= std::max(std::abs(ymax), std::abs(ymin)) * 1e-12) {
    // A constant (to the resolution of a double): a band around it, not
    // around zero.
    double half = std::max(std::abs(ymax) * 0.1, 1e-6);
    ymin -= half;
    ymax += half;
  }
  constexpr double biggest = std::numeric_limits<double>::max();
  ymin = std::max(-biggest, ymin);
  ymax = std::min(biggest, ymax);
  span = ymax / 2 - ymin / 2;
  double pad = span * 0.1;
  ymin = std::max(-biggest, ymin - pad);
  ymax = std::min(biggest, ymax + pad);
  span = ymax / 2 - ymin / 2;
  double xmax = static_cast<double>(std::max<int64_t>(max_step, 1));
  auto x = [&](double s) {
    return left + (w - left - right) * s / xmax;
  };
  auto y = [&](double v) {
    return top + (h - top - bottom) * (1 - (v / 2 - ymin / 2) / span);
  };
  std::string svg = fmt::format(
    "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
    "height=\"{}\" viewBox=\"0 0 {} {}\" data-title=\"{}\">\n",
    w, h, w, h, escape(title));
  svg += fmt::format("<text x=\"{}\" y=\"18\" class=\"title\">{}</text>\n",
                     left, escape(title));
  for (double t : ticks(ymin, ymax))
    svg += fmt::format(
      "<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" "
      "y1=\"{:.1f}\" y2=\"{:.1f}\"/><text class=\"tick\" "
      "x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4g}</text>\n",
      left, w - right, y(t), y(t), left - 6, y(t) + 4, t);
  for (double t : ticks(0, xmax))
    svg += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" "
                       "y1=\"{:.1f}\" y2=\"{:.1f}\"/><text class=\"tick\" "
                       "x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.0f}"
                       "</text>\n",
                       x(t), x(t), top, h - bottom, x(t), h - bottom + 16, t);
  svg += fmt::format("<text class=\"axis\" x=\"{:.1f}\" y=\"{:.1f}\" "
                     "text-anchor=\"middle\">optimizer step</text>\n",
                     left + (w - left - right) / 2, h - 6);
  double legend_x = left + 8;
  for (const auto& l : lines) {
    std::string d;
    size_t n = 0;
    for (const auto& [s, v] : l.points) {
      if (!std::isfinite(v))
        continue;
      d += fmt::format("{}{:.2f},{:.2f}", n == 0 ? "M" : " L",
                       x(static_cast<double>(s)), y(v));
      ++n;
    }
    if (n == 1) {
      auto [s, v] = l.points.front();
      svg += fmt::format("<circle data-marker=\"{}\" "
                         "cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"4\" fill=\"{}\"/>\n",
                         escape(l.name), x(static_cast<double>(s)), y(v),
                         l.color);
    }
    svg += fmt::format("<path data-series=\"{}\" data-points=\"{}\" d=\"{}\" "
                       "fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                       "stroke-opacity=\"{}\"/>\n",
                       escape(l.name), n, d, l.color, l.width, l.opacity);
    if (l.opacity >= 1.0) {
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" "
                         "height=\"3\" fill=\"{}\"/><text class=\"legend\" "
                         "x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                         legend_x, top + 6, l.color, legend_x + 16, top + 10,
                         escape(l.label));
      legend_x += 24 + 7.0 * static_cast<double>(l.label.size());
    }
  }
  svg += "</svg>\n";
  return svg;
}

std::string table(const std::string& title, const std::vector<json_field>& xs) {
  std::string out = fmt::format("<h2>{}</h2>\n<table class=\"kv\" "
                                "data-table=\"{}\">\n",
                                escape(title), escape(title));
  for (const auto& f : xs)
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", escape(f.key),
                       escape(f.value));
  out += "</table>\n";
  return out;
}

/// "train/acc" -> "acc"; names without a split prefix stay as they are.
std::string family(const std::string& name) {
  for (const char* prefix : {"train/", "val/", "test/"})
    if (name.rfind(prefix, 0) == 0)
      return name.substr(std::string{prefix}.size());
  return name;
}

} // namespace

run_record load_run(const std::string& dir) {
  run_record run;
  run.dir = dir;
  auto jsonl = dir + "/metrics.jsonl";
  auto csv = dir + "/metrics.csv";
  if (std::filesystem::exists(jsonl) && std::filesystem::file_size(jsonl) > 0)
    read_jsonl(run, jsonl);
  else if (std::filesystem::exists(csv))
    read_csv(run, csv);
  else
    throw data_error(jsonl, "no metrics: run with --loggers=jsonl or csv");
  auto config = dir + "/config.json";
  if (std::filesystem::exists(config))
    read_config_json(config); // validated as the command line validates
  run.config = read_object(config);
  run.summary = read_object(dir + "/summary.json");
  for (auto& [name, pts] : run.series)
    std::stable_sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
  return run;
}

std::vector<double> smooth(const std::vector<double>& xs, double weight) {
  std::vector<double> out;
  out.reserve(xs.size());
  double last = 0;
  int64_t n = 0;
  for (double x : xs) {
    if (!std::isfinite(x)) {
      out.push_back(x);
      continue;
    }
    last = last * weight + (1 - weight) * x;
    ++n;
    out.push_back(last / (1 - std::pow(weight, static_cast<double>(n))));
  }
  return out;
}

std::string render_report(const run_record& run) {
  int64_t max_step = 1;
  for (const auto& [name, pts] : run.series)
    for (const auto& p : pts)
      max_step = std::max(max_step, p.first);
  auto smoothed = [](const std::vector<std::pair<int64_t, double>>& pts) {
    std::vector<double> ys;
    for (const auto& p : pts)
      ys.push_back(p.second);
    auto s = smooth(ys);
    std::vector<std::pair<int64_t, double>> out;
    for (size_t i = 0; i < pts.size(); ++i)
      out.emplace_back(pts[i].first, s[i]);
    return out;
  };
  // Charts by family: "loss" first (train and validation, raw and smoothed),
  // then every other family in order of first appearance.
  std::vector<std::string> families;
  for (const auto& n : run.names)
    if (std::find(families.begin(), families.end(), family(n))
        == families.end())
      families.push_back(family(n));
  auto loss = std::find(families.begin(), families.end(), "loss");
  if (loss != families.end())
    std::rotate(families.begin(), loss, loss + 1);
  std::string charts;
  for (const auto& fam : families) {
    std::vector<line_spec> lines;
    size_t color = 0;
    for (const auto& n : run.names) {
      if (family(n) != fam)
        continue;
      const auto& pts = run.series.at(n);
      auto c = palette[color++ % (sizeof(palette) / sizeof(palette[0]))];
      if (pts.size() > 2) {
        lines.push_back({n + " (raw)", n + " raw", pts, c, 0.3, 1.5});
        lines.push_back({n, n + " (smoothed)", smoothed(pts), c, 1.0, 2.0});
      } else {
        lines.push_back({n, n, pts, c, 1.0, 2.0});
      }
    }
    charts += chart(fam, lines, max_step);
  }
  std::string title = "troupe run " + run.dir;
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
         "charset=\"utf-8\">\n";
  out += fmt::format("<title>{}</title>\n", escape(title));
  out += "<style>\n"
         "body{font-family:sans-serif;margin:24px;color:#222;max-width:820px}\n"
         "svg.chart{display:block;margin:12px 0 24px;background:#fff;"
         "border:1px solid #ddd}\n"
         ".grid{stroke:#eee;stroke-width:1}\n"
         ".tick,.axis,.legend{font-size:11px;fill:#555}\n"
         ".title{font-size:14px;font-weight:bold;fill:#222}\n"
         "table.kv{border-collapse:collapse;font-size:13px}\n"
         "table.kv th{text-align:left;padding:2px 16px 2px 0;font-weight:"
         "normal;color:#555}\n"
         "table.kv td{font-family:monospace}\n"
         "</style>\n</head>\n<body>\n";
  out += fmt::format("<h1>{}</h1>\n", escape(title));
  out += "<p>Every curve is on the optimizer-step axis; faint lines are raw "
         "values, solid ones smoothed (debiased EMA, weight 0.6).</p>\n";
  out += charts;
  out += table("Summary", run.summary);
  out += table("Configuration", run.config);
  // After layout, record what the browser drew (checked by the tests
  // through --dump-dom). Inline, no network.
  out += "<script>\n"
         "for (const p of document.querySelectorAll('path[data-series]'))\n"
         "  p.setAttribute('data-rendered-length', "
         "p.getTotalLength().toFixed(1));\n"
         "document.body.setAttribute('data-rendered', 'yes');\n"
         "</script>\n";
  out += "</body>\n</html>\n";
  return out;
}

std::string write_report(const std::string& dir, const std::string& out) {
  auto path = out.empty() ? dir + "/report.html" : out;
  write_file_atomic(path, render_report(load_run(dir)));
  return path;
}

} // namespace troupe::core
