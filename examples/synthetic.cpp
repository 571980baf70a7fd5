// Trains a small MLP on generated Gaussian clusters in seconds: the smoke
// test of the pipeline.
//
//   ./build/examples/synthetic --max-epochs=2 --replicas=2

#include "launcher.hpp"

#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/model.hpp"

int main(int argc, char** argv) {
  troupe::core::trainer_options opts;
  // One intra-op thread: a small MLP, like fashion_mnist's.
  opts.intra_op_threads = 1;
  opts.max_epochs = 2;
  opts.log_every_n_steps = 10;
  int64_t samples = 4096;
  int64_t features = 32;
  int64_t classes = 4;
  launcher::callback_options cbs;
  troupe::core::arg_parser parser(
    "synthetic", "Trains an MLP on generated Gaussian clusters (seconds).");
  troupe::core::add_trainer_options(parser, opts);
  using troupe::core::option_checks::in_range;
  parser.add("samples", "training samples to generate", samples,
             in_range(8, 10'000'000));
  parser.add("features", "input features", features, in_range(1, 100'000));
  parser.add("classes", "classes (cluster centres)", classes,
             in_range(2, 100'000));
  launcher::model_options mo;
  launcher::add_model_options(parser, mo);
  launcher::add_callback_options(parser, cbs);
  return launcher::run(argc, argv, parser, [&] {
    // The generated inputs are samples x 1.25 x features floats.
    if (samples * features > 250'000'000)
      throw troupe::core::config_error(
        "samples",
        fmt::format("samples x features must be at most 2.5e8 "
                    "(1 GB of inputs), got {}",
                    samples * features));
    auto data = troupe::core::make_synthetic(samples, samples / 8, samples / 8,
                                             features, classes, opts.seed);
    // This example's SGD rate; other optimizers keep their own default.
    if (!opts.lr && opts.optimizer == "sgd")
      opts.lr = 0.05;
    auto def = launcher::with_params(
      troupe::core::mlp_classifier({features, 64, classes}), mo.load_params);
    if (mo.evaluate_only) {
      troupe::trainer t{opts, "synthetic"};
      return launcher::evaluate(t, def, data);
    }
    launcher::resolve_run_dir(opts, "synthetic");
    troupe::trainer t{opts, "synthetic"};
    launcher::add_callbacks(t, cbs);
    return launcher::fit(t, def, data,
                         {fmt::format("samples             = {}", samples)});
  });
}
