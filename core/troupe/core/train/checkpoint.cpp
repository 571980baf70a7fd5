#include "troupe/core/train/checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/core/config/option_table.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/util/crc32c.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"

namespace fs = std::filesystem;

namespace troupe::core {

namespace {

constexpr char magic[8] = {'T', 'R', 'O', 'U', 'P', 'E', 'C', 'K'};
constexpr size_t header_size = 48;

void put_u32(std::string& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

uint64_t get(const std::string& in, size_t at, int bytes) {
  uint64_t x = 0;
  for (int i = 0; i < bytes; ++i)
    x |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i]))
      << (8 * i);
  return x;
}

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  throw data_error(file, what);
}

} // namespace

const std::string& checkpoint::section(const std::string& name,
                                       const std::string& file) const {
  auto i = sections.find(name);
  if (i == sections.end())
    bad(file, "the checkpoint has no section '" + name + "'");
  return i->second;
}

namespace {

/// The file as pieces: the header, then per section its prefix (name size,
/// name, size) and its bytes, pointing into `c` and `prefixes` (which
/// must outlive them).
std::vector<std::string_view>
checkpoint_pieces(const checkpoint& c, std::string& header,
                  std::vector<std::string>& prefixes) {
  std::vector<std::string_view> pieces(1);
  prefixes.clear();
  prefixes.reserve(c.sections.size());
  uint32_t crc = 0;
  uint64_t payload = 0;
  for (const auto& [name, bytes] : c.sections) {
    auto& prefix = prefixes.emplace_back();
    put_u32(prefix, static_cast<uint32_t>(name.size()));
    prefix += name;
    put_u64(prefix, bytes.size());
    crc = crc32c_extend(crc, prefix.data(), prefix.size());
    crc = crc32c_extend(crc, bytes.data(), bytes.size());
    payload += prefix.size() + bytes.size();
    pieces.emplace_back(prefix);
    pieces.emplace_back(bytes);
  }
  std::string head;
  put_u64(head, static_cast<uint64_t>(c.step));
  put_u64(head, c.sections.size());
  put_u64(head, payload);
  put_u32(head, crc);
  put_u32(head, 0);
  header.assign(magic, sizeof(magic));
  put_u32(header, checkpoint_format_version);
  put_u32(header, crc32c(head.data(), head.size()));
  header += head;
  pieces.front() = header;
  return pieces;
}

} // namespace

std::string encode_checkpoint(const checkpoint& c) {
  std::string header;
  std::vector<std::string> prefixes;
  std::string out;
  for (const auto& piece : checkpoint_pieces(c, header, prefixes))
    out += piece;
  return out;
}

checkpoint decode_checkpoint(const std::string& in, const std::string& file) {
  if (in.size() < header_size) {
    if (in.size() >= sizeof(magic)
        && std::memcmp(in.data(), magic, sizeof(magic)) != 0)
      bad(file, "not a troupe checkpoint (no TROUPECK header)");
    bad(file,
        fmt::format("truncated: {} bytes, shorter than the {}-byte "
                    "header",
                    in.size(), header_size));
  }
  if (std::memcmp(in.data(), magic, sizeof(magic)) != 0)
    bad(file, "not a troupe checkpoint (no TROUPECK header)");
  auto version = static_cast<uint32_t>(get(in, 8, 4));
  if (version != checkpoint_format_version)
    bad(file,
        fmt::format("checkpoint format version {}; this troupe reads "
                    "version {}",
                    version, checkpoint_format_version));
  auto head_crc = static_cast<uint32_t>(get(in, 12, 4));
  if (crc32c(in.data() + 16, 32) != head_crc)
    bad(file, "corrupt: the header's checksum does not match");
  checkpoint c;
  c.step = static_cast<int64_t>(get(in, 16, 8));
  auto count = get(in, 24, 8);
  auto size = get(in, 32, 8);
  auto crc = static_cast<uint32_t>(get(in, 40, 4));
  if (in.size() - header_size != size)
    bad(file,
        fmt::format("{}: the payload is {} bytes, the header says {}",
                    in.size() - header_size < size ? "truncated" : "corrupt",
                    in.size() - header_size, size));
  if (crc32c(in.data() + header_size, size) != crc)
    bad(file, "corrupt: the payload's checksum does not match");
  size_t at = header_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (in.size() - at < 4)
      bad(file, "corrupt: a section runs past the end");
    auto n = get(in, at, 4);
    at += 4;
    if (in.size() - at < n + 8)
      bad(file, "corrupt: a section runs past the end");
    auto name = in.substr(at, n);
    at += n;
    auto m = get(in, at, 8);
    at += 8;
    if (in.size() - at < m)
      bad(file, "corrupt: section '" + name + "' runs past the end");
    c.sections[name] = in.substr(at, m);
    at += m;
  }
  if (at != in.size())
    bad(file, "corrupt: bytes after the last section");
  return c;
}

checkpoint read_checkpoint(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    bad(file, "no such checkpoint");
  if (!fs::is_regular_file(file, ec))
    bad(file, "not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    bad(file, std::string{"cannot open: "} + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad())
    bad(file, "cannot read");
  return decode_checkpoint(bytes.str(), file);
}

std::string checkpoint_file_name(int64_t step) {
  return fmt::format("step-{:012}.ckpt", step);
}

std::string checkpoint_dir_of(const trainer_options& opts,
                              const std::string& run_dir) {
  if (opts.checkpoint_dir == "none")
    return {};
  if (!opts.checkpoint_dir.empty())
    return opts.checkpoint_dir;
  return run_dir + "/checkpoints";
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator i(dir, ec), end; !ec && i != end;
       i.increment(ec)) {
    auto name = i->path().filename().string();
    // step-<12 digits>.ckpt; names sort by step.
    if (name.size() == 22 && name.rfind("step-", 0) == 0
        && name.compare(17, 5, ".ckpt") == 0
        && std::all_of(name.begin() + 5, name.begin() + 17, [](char ch) {
             return ch >= '0' && ch <= '9';
           }))
      out.push_back(i->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string encode_retention(const checkpoint_retention& r) {
  return fmt::format("{} {}", r.always ? "always" : "if-best",
                     r.score ? fmt::format("{:a}", *r.score) : "-");
}

checkpoint_retention decode_retention(const std::string& bytes,
                                      const std::string& file) {
  checkpoint_retention r;
  auto sp = bytes.find(' ');
  auto kind = bytes.substr(0, sp);
  if (sp == std::string::npos || (kind != "always" && kind != "if-best"))
    bad(file, "corrupt: the retention section is '" + bytes + "'");
  r.always = kind == "always";
  auto score = bytes.substr(sp + 1);
  if (score != "-") {
    char* end = nullptr;
    r.score = std::strtod(score.c_str(), &end);
    if (end == score.c_str() || *end != 0)
      bad(file, "corrupt: the retention section is '" + bytes + "'");
  }
  return r;
}

void prune_checkpoints(const std::string& dir, int64_t keep,
                       const std::vector<std::string>& best) {
  if (keep <= 0)
    return;
  auto all = list_checkpoints(dir);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    auto name = fs::path(all[i]).filename().string();
    if (std::find(best.begin(), best.end(), name) == best.end())
      fs::remove(all[i], ec);
  }
}

std::vector<std::pair<std::string, double>> read_best(const std::string& dir) {
  std::ifstream in(dir + "/best");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_best(text.str(), dir);
}

std::string
format_best(const std::vector<std::pair<std::string, double>>& best) {
  std::string text;
  for (const auto& [name, score] : best)
    text += fmt::format("{} {}\n", name, score);
  return text;
}

std::vector<std::pair<std::string, double>> parse_best(const std::string& text,
                                                       const std::string& dir) {
  std::vector<std::pair<std::string, double>> out;
  std::istringstream in(text);
  std::string name, score;
  std::error_code ec;
  while (in >> name >> score) {
    char* end = nullptr;
    double x = std::strtod(score.c_str(), &end);
    if (end != score.c_str() && *end == 0 && name.find('/') == std::string::npos
        && fs::exists(dir + "/" + name, ec))
      out.emplace_back(name, x);
  }
  return out;
}

void write_best(const std::string& dir,
                const std::vector<std::pair<std::string, double>>& best) {
  write_file_atomic(dir + "/best", format_best(best));
}

std::string write_checkpoint(const std::string& dir, const checkpoint& c) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw output_error(dir + ": cannot create the checkpoint directory"
                       + (ec ? ": " + ec.message() : std::string{}));
  auto name = checkpoint_file_name(c.step);
  auto path = dir + "/" + name;
  // Written piece by piece: no copy of the sections into one buffer.
  std::string header;
  std::vector<std::string> prefixes;
  // One sync of the directory makes both renames durable, in order.
  write_file_atomic(path, checkpoint_pieces(c, header, prefixes), false);
  write_file_atomic(dir + "/last", name + "\n");
  return path;
}

std::string resolve_resume(const std::string& spec, const std::string& dir) {
  if (spec != "last")
    return spec;
  if (dir.empty())
    throw config_error("resume",
                       "last needs a checkpoint directory, and "
                       "--checkpoint-dir is none");
  auto pointer = dir + "/last";
  std::ifstream in(pointer);
  if (!in)
    bad(pointer, "no checkpoint to resume from (the file 'last' is missing)");
  std::string name;
  std::getline(in, name);
  if (name.empty() || name.find('/') != std::string::npos)
    bad(pointer, "does not name a checkpoint file");
  return dir + "/" + name;
}

std::vector<std::string> resume_mismatches(const trainer_options& now,
                                           const std::string& saved_json) {
  std::vector<json_field> saved;
  try {
    saved = parse_json_object(saved_json);
  } catch (const std::exception& e) {
    return {std::string{"the recorded configuration does not parse: "}
            + e.what()};
  }
  auto current = parse_json_object(to_json(now));
  std::vector<std::string> out;
  for_each_option(now, [&](const auto& info, const auto&) {
    if (info.free_on_resume)
      return;
    const auto* was = find_field(saved, info.key);
    const auto* is = find_field(current, info.key);
    if (is == nullptr)
      return;
    if (was == nullptr)
      out.push_back(fmt::format("--{}: not recorded in the checkpoint, {} in "
                                "this run",
                                info.flag, is->value));
    else if (was->value != is->value || was->is_string != is->is_string)
      out.push_back(fmt::format("--{}: {} in the checkpoint, {} in this run",
                                info.flag, was->value, is->value));
  });
  return out;
}

// -- LibTorch state -----------------------------------------------------------

namespace {

std::string archive_bytes(torch::serialize::OutputArchive& a) {
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}

std::string dims(const at::Tensor& t) {
  return t.dim() == 0 ? std::string{"scalar"}
                      : fmt::format("{}", fmt::join(t.sizes(), "x"));
}

} // namespace

namespace {

/// Parameters, then buffers, in registration order.
std::vector<std::pair<std::string, at::Tensor>>
module_tensors(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : m.named_parameters())
    out.emplace_back("p " + p.key(), p.value());
  for (const auto& b : m.named_buffers())
    out.emplace_back("b " + b.key(), b.value());
  return out;
}

} // namespace

std::string module_bytes(const torch::nn::Module& m) {
  auto tensors = module_tensors(m);
  size_t size = 0;
  for (const auto& [name, t] : tensors)
    size += static_cast<size_t>(t.numel() * t.element_size());
  std::string out;
  out.reserve(size);
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().cpu().contiguous();
    out.append(static_cast<const char*>(c.data_ptr()),
               static_cast<size_t>(c.numel() * c.element_size()));
  }
  return out;
}

std::string module_shapes(const torch::nn::Module& m) {
  std::string out;
  for (const auto& [name, t] : module_tensors(m))
    out += fmt::format("{} {} {}\n", name, c10::toString(t.scalar_type()),
                       dims(t));
  return out;
}

void load_module(torch::nn::Module& m, const std::string& bytes,
                 const std::string& shapes, const std::string& file) {
  auto mine = module_shapes(m);
  if (mine != shapes) {
    // Name the first line that differs.
    std::istringstream a(shapes), b(mine);
    std::string x, y;
    while (true) {
      bool more_a = static_cast<bool>(std::getline(a, x));
      bool more_b = static_cast<bool>(std::getline(b, y));
      if (!more_a && !more_b)
        break;
      if (!more_a)
        bad(file,
            "this run's model has '" + y
              + "', which the checkpoint's lacks (another model?)");
      if (!more_b)
        bad(file,
            "the checkpoint's model has '" + x
              + "', which this run's lacks (another model?)");
      if (x != y)
        bad(file,
            "the checkpoint's model has '" + x
              + "' where this run's "
                "has '"
              + y + "'");
    }
  }
  size_t at = 0;
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : module_tensors(m)) {
    auto n = static_cast<size_t>(t.numel() * t.element_size());
    if (bytes.size() - at < n)
      bad(file, "the model's section is shorter than its shapes say");
    auto src = torch::empty(
      t.sizes(), t.options().device(torch::kCPU).requires_grad(false));
    std::memcpy(src.data_ptr(), bytes.data() + at, n);
    t.copy_(src);
    at += n;
  }
  if (at != bytes.size())
    bad(file, "the model's section is longer than its shapes say");
}

namespace {

// LibTorch's four optimizers (the ones --optimizer builds) are saved as raw
// tensors: their archive (a TorchScript module written as a zip) costs
// several milliseconds on the stepper for a small model, raw bytes a copy.
// Any other optimizer goes through its archive.

void put_tensor(std::string& out, const at::Tensor& t) {
  out.push_back(t.defined() ? 1 : 0);
  if (!t.defined())
    return;
  auto c = t.detach().cpu().contiguous();
  out.push_back(static_cast<char>(c.scalar_type()));
  put_u32(out, static_cast<uint32_t>(c.dim()));
  for (auto d : c.sizes())
    put_u64(out, static_cast<uint64_t>(d));
  out.append(static_cast<const char*>(c.data_ptr()),
             static_cast<size_t>(c.numel() * c.element_size()));
}

/// Reads what put_tensor wrote at `at`, onto `like`'s device.
struct raw_reader {
  const std::string& in;
  const std::string& file;
  size_t at = 0;

  uint64_t take(int bytes) {
    if (in.size() - at < static_cast<size_t>(bytes))
      bad(file, "the optimizer's section is truncated");
    auto x = get(in, at, bytes);
    at += static_cast<size_t>(bytes);
    return x;
  }

  at::Tensor tensor(const at::Tensor& like) {
    if (take(1) == 0)
      return {};
    auto dtype = static_cast<c10::ScalarType>(take(1));
    auto rank = take(4);
    if (rank > 64)
      bad(file, "the optimizer's section is corrupt");
    std::vector<int64_t> sizes;
    for (uint64_t i = 0; i < rank; ++i)
      sizes.push_back(static_cast<int64_t>(take(8)));
    auto t = torch::empty(sizes, torch::TensorOptions().dtype(dtype));
    auto n = static_cast<size_t>(t.numel() * t.element_size());
    if (in.size() - at < n)
      bad(file, "the optimizer's section is truncated");
    std::memcpy(t.data_ptr(), in.data() + at, n);
    at += n;
    if (t.sizes() != like.sizes())
      bad(file,
          fmt::format("the optimizer's state is {} where the parameter "
                      "is {} (another model?)",
                      dims(t), dims(like)));
    return t.to(like.device());
  }
};

std::vector<at::Tensor> params_of(const torch::optim::Optimizer& o) {
  std::vector<at::Tensor> out;
  for (const auto& g : o.param_groups())
    for (const auto& p : g.params())
      out.push_back(p);
  return out;
}

std::string key_of(const at::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}

template <class State, class Save>
std::string
save_raw(const torch::optim::Optimizer& o, const char* kind, Save save) {
  std::string out = std::string{kind} + "\n";
  for (const auto& p : params_of(o)) {
    auto i = o.state().find(key_of(p));
    out.push_back(i == o.state().end() ? 0 : 1);
    if (i != o.state().end())
      save(out, static_cast<const State&>(*i->second));
  }
  return out;
}

template <class State, class Load>
void load_raw(torch::optim::Optimizer& o, raw_reader& r, Load load) {
  for (const auto& p : params_of(o)) {
    if (r.take(1) == 0)
      continue;
    auto st = std::make_unique<State>();
    load(*st, r, p);
    o.state()[key_of(p)] = std::move(st);
  }
  if (r.at != r.in.size())
    bad(r.file,
        "the optimizer's section has more state than the optimizer "
        "has parameters (another model?)");
}

/// How `o`'s state is saved: the name of one of the four built-in
/// optimizers (raw tensors), or "archive".
const char* optimizer_kind(const torch::optim::Optimizer& o) {
  using namespace torch::optim;
  if (dynamic_cast<const SGD*>(&o) != nullptr)
    return "sgd";
  if (dynamic_cast<const AdamW*>(&o) != nullptr)
    return "adamw";
  if (dynamic_cast<const Adam*>(&o) != nullptr)
    return "adam";
  if (dynamic_cast<const RMSprop*>(&o) != nullptr)
    return "rmsprop";
  return "archive";
}

template <class State>
void save_adam(std::string& out, const State& s) {
  put_u64(out, static_cast<uint64_t>(s.step()));
  put_tensor(out, s.exp_avg());
  put_tensor(out, s.exp_avg_sq());
  put_tensor(out, s.max_exp_avg_sq());
}

template <class State>
void load_adam(State& s, raw_reader& r, const at::Tensor& p) {
  s.step(static_cast<int64_t>(r.take(8)));
  s.exp_avg(r.tensor(p));
  s.exp_avg_sq(r.tensor(p));
  s.max_exp_avg_sq(r.tensor(p));
}

} // namespace

std::string optimizer_bytes(const torch::optim::Optimizer& o) {
  using namespace torch::optim;
  std::string kind = optimizer_kind(o);
  if (kind == "sgd")
    return save_raw<SGDParamState>(
      o, "sgd", [](std::string& out, const SGDParamState& s) {
        put_tensor(out, s.momentum_buffer());
      });
  if (kind == "adamw")
    return save_raw<AdamWParamState>(o, "adamw", save_adam<AdamWParamState>);
  if (kind == "adam")
    return save_raw<AdamParamState>(o, "adam", save_adam<AdamParamState>);
  if (kind == "rmsprop")
    return save_raw<RMSpropParamState>(
      o, "rmsprop", [](std::string& out, const RMSpropParamState& s) {
        put_u64(out, static_cast<uint64_t>(s.step()));
        put_tensor(out, s.square_avg());
        put_tensor(out, s.momentum_buffer());
        put_tensor(out, s.grad_avg());
      });
  torch::serialize::OutputArchive a;
  o.save(a);
  return "archive\n" + archive_bytes(a);
}

void load_optimizer(torch::optim::Optimizer& o, const std::string& bytes,
                    const std::string& file) {
  using namespace torch::optim;
  auto nl = bytes.find('\n');
  auto kind = bytes.substr(0, nl);
  if (nl == std::string::npos)
    bad(file, "the optimizer's section is corrupt");
  auto mine = optimizer_kind(o);
  if (kind != mine)
    bad(file,
        fmt::format("the checkpoint holds the state of {} optimizer, "
                    "this run builds {}",
                    kind == "archive" ? "another" : kind,
                    std::string{mine} == "archive" ? "another" : mine));
  raw_reader r{bytes, file, nl + 1};
  try {
    if (kind == "sgd")
      load_raw<SGDParamState>(
        o, r, [](SGDParamState& s, raw_reader& r, const at::Tensor& p) {
          s.momentum_buffer(r.tensor(p));
        });
    else if (kind == "adamw")
      load_raw<AdamWParamState>(o, r, load_adam<AdamWParamState>);
    else if (kind == "adam")
      load_raw<AdamParamState>(o, r, load_adam<AdamParamState>);
    else if (kind == "rmsprop")
      load_raw<RMSpropParamState>(
        o, r, [](RMSpropParamState& s, raw_reader& r, const at::Tensor& p) {
          s.step(static_cast<int64_t>(r.take(8)));
          s.square_avg(r.tensor(p));
          s.momentum_buffer(r.tensor(p));
          s.grad_avg(r.tensor(p));
        });
    else {
      torch::serialize::InputArchive a;
      std::istringstream in(bytes.substr(nl + 1));
      a.load_from(in);
      o.load(a);
    }
  } catch (const data_error&) {
    throw;
  } catch (const std::exception& e) {
    bad(file,
        "cannot load the optimizer's state (another optimizer?): "
          + error_text(e));
  }
}

std::string generator_bytes(const at::Generator& g) {
  auto t = g.get_state().contiguous();
  return std::string(static_cast<const char*>(t.data_ptr()),
                     static_cast<size_t>(t.numel() * t.element_size()));
}

void load_generator(at::Generator& g, const std::string& bytes,
                    const std::string& file) {
  auto size = g.get_state().numel();
  if (static_cast<int64_t>(bytes.size()) != size)
    bad(file,
        fmt::format("a generator state of {} bytes, expected {}", bytes.size(),
                    size));
  auto t = torch::empty({size}, torch::kUInt8);
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  try {
    g.set_state(t);
  } catch (const std::exception& e) {
    bad(file, "cannot restore a random generator: " + error_text(e));
  }
}

} // namespace troupe::core
