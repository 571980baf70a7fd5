// Trains a classifier on Fashion-MNIST from Debian's dataset-fashion-mnist:
// the first 55,000 training images train, the last 5,000 validate, the 10k
// test images give test/loss and test/acc.
//
//   --model=mlp (default): MLP 784-256-10, SGD with momentum, 3 epochs.
//   --model=cnn: two conv blocks, dropout, AdamW with a cosine schedule.
//
//   ./build/examples/fashion_mnist
//   ./build/examples/fashion_mnist --model=cnn --replicas=2

#include <cstring>

#include "launcher.hpp"

#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/train/schedule.hpp"

namespace {

/// The value of --model in argv ("mlp" when absent): the model picks the
/// defaults the other options start from, so it is read first.
std::string model_in(int argc, char** argv) {
  std::string model = "mlp";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--model=", 8) == 0)
      model = argv[i] + 8;
  return model;
}

/// Whether argv sets option `flag` (given as "--name").
bool given(int argc, char** argv, const char* flag) {
  auto n = std::strlen(flag);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], flag, n) == 0
        && (argv[i][n] == '=' || argv[i][n] == '\0'))
      return true;
  return false;
}

} // namespace

int main(int argc, char** argv) {
  troupe::core::trainer_options opts; // defaults are this example's
  std::string model = model_in(argc, argv);
  troupe::core::cnn_spec cnn;
  if (model == "cnn") {
    // AdamW (lr 0.002, weight decay 0.01) with warmup and a cosine decay:
    // test/acc above 0.90 in 3 epochs (docs/BENCHMARKS.md, "The CNN"); the
    // rate is set after parsing, for AdamW only.
    opts.optimizer = "adamw";
    opts.lr_schedule = "cosine";
    opts.warmup_steps = 200; // at most a tenth of the fit (below)
    opts.max_epochs = 3;
    // Convolutions are large enough for every core (intra_op_threads 0).
  } else {
    // One intra-op thread, not cores / replicas: this MLP's batch-64
    // products are too small for a second thread, which made a step about
    // 1.6x slower on 2 cores (docs/BENCHMARKS.md, "Intra-op threads").
    opts.intra_op_threads = 1;
  }
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  launcher::callback_options cbs;
  launcher::model_options mo;
  troupe::core::arg_parser parser(
    "fashion_mnist",
    "Trains a classifier on Fashion-MNIST with the troupe actor pipeline: an "
    "MLP 784-256-10 (SGD with momentum) or a CNN (AdamW, cosine schedule).");
  parser.add("model",
             "mlp (784-256-10) or cnn (conv 32, conv 64, fc 128, dropout); "
             "the model picks the defaults shown here",
             model,
             troupe::core::option_checks::one_of("model", {"mlp", "cnn"}));
  troupe::core::add_trainer_options(parser, opts);
  parser.add("dropout", "cnn: dropout before the output layer, in [0, 1)",
             cnn.dropout, [](const double& x) {
               return troupe::core::option_checks::unless(
                 x >= 0 && x < 1, "must be in [0, 1), got {}", x);
             });
  parser.add("batch-norm", "cnn: BatchNorm after each convolution (true/false)",
             cnn.batch_norm);
  parser.add("data-dir", "directory of the four Fashion-MNIST IDX .gz files",
             data_dir, troupe::core::option_checks::path_like("a directory"));
  launcher::add_model_options(parser, mo);
  launcher::add_callback_options(parser, cbs);
  return launcher::run(argc, argv, parser, [&] {
    launcher::say("loading Fashion-MNIST from {}\n", data_dir);
    std::fflush(stdout);
    if (model == "cnn" && opts.optimizer == "adamw" && !opts.lr)
      opts.lr = 0.002; // AdamW's default 0.001 ends at test/acc 0.899
    auto data = troupe::core::load_fashion_mnist(data_dir);
    if (model == "cnn" && !given(argc, argv, "--warmup-steps")) {
      auto no_warmup = opts;
      no_warmup.warmup_steps = 0;
      auto steps = troupe::core::schedule::make(no_warmup, data.train.size())
                     .total_steps;
      opts.warmup_steps = std::min<int64_t>(opts.warmup_steps, steps / 10);
    }
    auto def = launcher::with_params(
      model == "cnn" ? troupe::core::cnn_classifier(cnn)
                     : troupe::core::mlp_classifier({784, 256, 10}),
      mo.load_params);
    if (mo.evaluate_only) {
      troupe::trainer t{opts, "fashion_mnist"};
      return launcher::evaluate(t, def, data);
    }
    launcher::resolve_run_dir(opts, "fashion_mnist");
    troupe::trainer t{opts, "fashion_mnist"};
    launcher::add_callbacks(t, cbs);
    std::vector<std::string> extra{"model               = " + model};
    if (model == "cnn") {
      extra.push_back(fmt::format("dropout             = {}", cnn.dropout));
      extra.push_back(fmt::format("batch-norm          = {}", cnn.batch_norm));
    }
    if (!mo.load_params.empty())
      extra.push_back("load-params         = " + mo.load_params);
    extra.push_back("data-dir            = " + data_dir);
    return launcher::fit(t, def, data, extra);
  });
}
