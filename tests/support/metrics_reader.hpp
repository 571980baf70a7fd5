#pragma once

// Reads <run-dir>/metrics.jsonl back (the format troupe's jsonl sink writes).

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "troupe/core/util/json.hpp"

namespace troupe::test {

struct point {
  int64_t step = 0;
  int64_t epoch = 0;
  std::string name;
  double value = 0;
};

inline std::vector<point> read_points(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::vector<point> out;
  std::string line;
  while (std::getline(in, line)) {
    auto fields = core::parse_json_object(line);
    auto get = [&](const char* key) {
      auto f = core::find_field(fields, key);
      if (f == nullptr)
        throw std::runtime_error(std::string{"no "} + key + " in " + line);
      return f->value;
    };
    point p;
    p.step = std::stoll(get("step"));
    p.epoch = std::stoll(get("epoch"));
    p.name = get("name");
    auto v = get("value");
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
