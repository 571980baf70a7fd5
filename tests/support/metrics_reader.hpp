#pragma once

// Reads <run-dir>/metrics.jsonl back (the format troupe's jsonl sink writes).

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::test {

struct point {
  int64_t step = 0;
  int64_t epoch = 0;
  std::string name;
  double value = 0;
};

inline std::string field(const std::string& line, const std::string& key) {
  auto k = "\"" + key + "\": ";
  auto i = line.find(k);
  if (i == std::string::npos)
    throw std::runtime_error("no " + key + " in " + line);
  i += k.size();
  if (line[i] == '"') {
    auto j = line.find('"', i + 1);
    return line.substr(i + 1, j - i - 1);
  }
  auto j = line.find_first_of(",}", i);
  return line.substr(i, j - i);
}

inline std::vector<point> read_points(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::vector<point> out;
  std::string line;
  while (std::getline(in, line)) {
    point p;
    p.step = std::stoll(field(line, "step"));
    p.epoch = std::stoll(field(line, "epoch"));
    p.name = field(line, "name");
    auto v = field(line, "value");
    p.value = v == "null" ? std::numeric_limits<double>::quiet_NaN()
                          : std::stod(v);
    out.push_back(p);
  }
  return out;
}

/// Points of one metric, by step.
inline std::map<int64_t, double> series(const std::vector<point>& ps,
                                        const std::string& name) {
  std::map<int64_t, double> out;
  for (const auto& p : ps)
    if (p.name == name)
      out[p.step] = p.value;
  return out;
}

} // namespace troupe::test
