#include "troupe/actors/checkpointer.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/core/train/checkpoint.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

struct checkpointer_state {
  static inline const char* name = "checkpointer";

  checkpointer_config cfg;
  /// Shares of steps not complete yet.
  std::map<int64_t, std::vector<checkpoint_part>> pending;
  std::set<int64_t> written;
  /// The best checkpoints by score, best (lowest) first.
  std::vector<std::pair<std::string, double>> best;
  std::set<int64_t> failed;
  /// One line per checkpoint not written.
  std::vector<std::string> errors;
  std::map<int64_t,
           std::vector<caf::typed_response_promise<std::vector<std::string>>>>
    waiting;
};

using checkpointer_impl
  = tapped_stateful<checkpointer_actor, checkpointer_state>;

/// Removes what a killed write left behind (write_file_atomic's
/// `<name>.tmp.<pid>`).
void remove_leftovers(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator i(dir, ec), end; !ec && i != end;
       i.increment(ec)) {
    auto name = i->path().filename().string();
    if (name.find(".tmp.") != std::string::npos
        && (name.rfind("step-", 0) == 0 || name.rfind("last", 0) == 0))
      fs::remove(i->path(), ec);
  }
}

void answer(checkpointer_impl* self, int64_t step) {
  auto& st = self->state;
  auto i = st.waiting.find(step);
  if (i == st.waiting.end())
    return;
  for (auto& p : i->second)
    p.deliver(st.errors);
  st.waiting.erase(i);
}

/// Writes the checkpoint of `step` from its shares.
void write(checkpointer_impl* self, int64_t step,
           std::vector<checkpoint_part> parts) {
  auto& st = self->state;
  core::checkpoint c;
  c.step = step;
  try {
    for (auto& p : parts)
      for (auto& s : p.sections)
        if (!c.sections.emplace(s.name, std::move(s.bytes)).second)
          throw std::runtime_error(fmt::format("two shares of step {} hold "
                                               "section '{}' (the second "
                                               "from {})",
                                               step, s.name, p.from));
    core::checkpoint_retention keep;
    if (c.has("retention"))
      keep = core::decode_retention(c.sections["retention"], st.cfg.dir);
    auto name = core::checkpoint_file_name(step);
    bool enters = keep.score && !std::isnan(*keep.score)
      && (static_cast<int64_t>(st.best.size()) < st.cfg.top_k
          || *keep.score < st.best.back().second);
    if (keep.always || enters) {
      auto best = st.best;
      if (enters) {
        auto at = std::find_if(best.begin(), best.end(), [&](const auto& b) {
          return *keep.score < b.second;
        });
        best.insert(at, {name, *keep.score});
        if (static_cast<int64_t>(best.size()) > st.cfg.top_k)
          best.pop_back();
      }
      // The ranking goes into the file too: a fit resumed from it ranks on
      // from there.
      c.sections["best"] = core::format_best(best);
      core::write_checkpoint(st.cfg.dir, c);
      if (enters) {
        st.best = std::move(best);
        core::write_best(st.cfg.dir, st.best);
      }
      std::vector<std::string> protect;
      for (const auto& b : st.best)
        protect.push_back(b.first);
      core::prune_checkpoints(st.cfg.dir, st.cfg.keep, protect);
    }
    // A candidate that did not rank is not written at all.
    st.written.insert(step);
  } catch (const std::exception& e) {
    auto what = fmt::format("troupe: the checkpoint of step {} was not "
                            "written; training continues: {}",
                            step, e.what());
    st.failed.insert(step);
    st.errors.push_back(what);
    fmt::print(st.cfg.errors, "{}\n", what);
    std::fflush(st.cfg.errors);
  }
  answer(self, step);
}

checkpointer_actor::behavior_type checkpointer(checkpointer_impl* self,
                                               checkpointer_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  self->tap("checkpointer", st.cfg.tap);
  remove_leftovers(st.cfg.dir);
  st.best = st.cfg.resumed_best
    ? core::parse_best(*st.cfg.resumed_best, st.cfg.dir)
    : core::read_best(st.cfg.dir);
  return {
    [=](checkpoint_part& p) {
      auto& st = self->state;
      auto step = p.step;
      auto& shares = st.pending[step];
      shares.push_back(std::move(p));
      if (static_cast<int64_t>(shares.size()) < st.cfg.parts)
        return;
      auto complete = std::move(shares);
      st.pending.erase(step);
      write(self, step, std::move(complete));
    },
    [=](const checkpoint_flush& f) -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      if (st.written.count(f.step) > 0 || st.failed.count(f.step) > 0)
        return st.errors;
      auto rp = self->make_response_promise<std::vector<std::string>>();
      st.waiting[f.step].push_back(rp);
      return rp;
    },
  };
}

} // namespace

checkpointer_actor spawn_checkpointer(caf::actor_system& sys,
                                      checkpointer_config cfg) {
  return sys.spawn<caf::detached>(checkpointer, std::move(cfg));
}

} // namespace troupe::actors
