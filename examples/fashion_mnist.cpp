// Trains an MLP 784-256-10 on Fashion-MNIST from Debian's
// dataset-fashion-mnist: the first 55,000 training images train, the last
// 5,000 validate, the 10k test images give test/loss and test/acc.
//
//   ./build/examples/fashion_mnist
//   ./build/examples/fashion_mnist --replicas=2 --batch-size=32 --max-epochs=1

#include "launcher.hpp"

#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/model.hpp"

int main(int argc, char** argv) {
  troupe::core::trainer_options opts; // defaults are this example's
  // One intra-op thread, not cores / replicas: this MLP's batch-64 products
  // are too small for a second thread, which made a step about 1.6x slower
  // on 2 cores (docs/BENCHMARKS.md, "Intra-op threads").
  opts.intra_op_threads = 1;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  launcher::callback_options cbs;
  troupe::core::arg_parser parser(
    "fashion_mnist",
    "Trains an MLP 784-256-10 (ReLU, cross-entropy, SGD with momentum) on "
    "Fashion-MNIST with the troupe actor pipeline.");
  troupe::core::add_trainer_options(parser, opts);
  parser.add("data-dir", "directory of the four Fashion-MNIST IDX .gz files",
             data_dir, troupe::core::option_checks::path_like("a directory"));
  launcher::add_callback_options(parser, cbs);
  return launcher::run(argc, argv, parser, [&] {
    launcher::say("loading Fashion-MNIST from {}\n", data_dir);
    std::fflush(stdout);
    auto data = troupe::core::load_fashion_mnist(data_dir);
    launcher::resolve_run_dir(opts, "fashion_mnist");
    troupe::trainer t{opts, "fashion_mnist"};
    launcher::add_callbacks(t, cbs);
    return launcher::fit(t, troupe::core::mlp_classifier({784, 256, 10}), data,
                         {"data-dir            = " + data_dir});
  });
}
