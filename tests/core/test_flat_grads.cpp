#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "troupe/core/train/flat_grads.hpp"
#include "troupe/core/train/model.hpp"

using namespace troupe::core;

TEST_CASE("gradients accumulate into one flat buffer", "[core][grads]") {
  torch::manual_seed(0);
  auto m = std::make_shared<mlp_impl>(std::vector<int64_t>{4, 3, 2});
  auto params = m->parameters();
  flat_grads g{params};
  int64_t total = 0;
  for (const auto& p : params)
    total += p.numel();
  CHECK(g.buffer().numel() == total);
  auto x = torch::randn({5, 4});
  auto y = torch::tensor({0, 1, 0, 1, 1}, torch::kInt64);
  classification_outputs(m->forward(x), y).loss.backward();
  CHECK(g.intact());
  CHECK(g.buffer().abs().sum().item<double>() > 0);
  // Reference: the same gradients computed on a copy without the buffer.
  auto ref = std::make_shared<mlp_impl>(std::vector<int64_t>{4, 3, 2});
  copy_state(*m, *ref);
  classification_outputs(ref->forward(x), y).loss.backward();
  std::vector<at::Tensor> flat;
  for (const auto& p : ref->parameters())
    flat.push_back(p.grad().reshape(-1));
  CHECK(torch::cat(flat).equal(g.buffer()));
  // A second backward accumulates in place.
  classification_outputs(m->forward(x), y).loss.backward();
  CHECK(g.intact());
  CHECK(torch::allclose(g.buffer(), 2 * torch::cat(flat)));
  g.zero();
  CHECK(g.buffer().abs().sum().item<double>() == 0);
}

TEST_CASE("an optimizer steps from the reduced tensor without a copy",
          "[core][grads]") {
  auto p = torch::zeros({3}, torch::requires_grad());
  auto q = torch::zeros({2}, torch::requires_grad());
  flat_grads g{{p, q}};
  auto reduced = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f});
  auto kept = reduced.clone();
  std::vector<const void*> seen;
  g.step_with(reduced, [&] {
    seen.push_back(p.grad().data_ptr());
    seen.push_back(q.grad().data_ptr());
    CHECK(p.grad().equal(torch::tensor({1.0f, 2.0f, 3.0f})));
    CHECK(q.grad().equal(torch::tensor({4.0f, 5.0f})));
  });
  // The step read the reduced tensor's own storage, then the gradients went
  // back to the buffer, which the step left as it was.
  CHECK(seen[0] == reduced.data_ptr());
  CHECK(seen[1] == static_cast<const float*>(reduced.data_ptr()) + 3);
  CHECK(g.intact());
  CHECK(g.buffer().abs().sum().item<double>() == 0);
  CHECK(reduced.equal(kept));
  // Also when the step throws.
  CHECK_THROWS_WITH(g.step_with(reduced,
                                [] {
                                  throw std::runtime_error("x");
                                }),
                    "x");
  CHECK(g.intact());
  // A reduced tensor of another size, type or layout is refused, naming
  // both sides.
  CHECK_THROWS_WITH(g.step_with(torch::zeros({4}), [] {}),
                    Catch::Contains("4 elements")
                      && Catch::Contains("buffer (1-d, 5 elements"));
  CHECK_THROWS_WITH(g.step_with(torch::zeros({5}, torch::kFloat64), [] {}),
                    Catch::Contains("Double"));
  CHECK_THROWS_WITH(g.step_with(torch::zeros({10}).slice(0, 0, 10, 2), [] {}),
                    Catch::Contains("strided"));
  CHECK(g.intact());
  // A real optimizer step: SGD with momentum reads the reduced tensor and
  // leaves it as it was.
  torch::optim::SGD sgd({p, q}, torch::optim::SGDOptions(0.5).momentum(0.9));
  g.step_with(reduced, [&] {
    sgd.step();
  });
  CHECK(p.detach().equal(torch::tensor({-0.5f, -1.0f, -1.5f})));
  CHECK(q.detach().equal(torch::tensor({-2.0f, -2.5f})));
  CHECK(reduced.equal(kept));
  CHECK(g.intact());
  // One replica: the buffer itself, views untouched.
  auto before = p.grad().data_ptr();
  g.step_with(g.buffer(), [&] {
    CHECK(p.grad().data_ptr() == before);
  });
}

TEST_CASE("rank-ordered sums", "[core][grads]") {
  auto a = torch::tensor({1.0f, 1e8f});
  auto b = torch::tensor({2.0f, 1.0f});
  auto c = torch::tensor({3.0f, -1e8f});
  CHECK(rank_ordered_sum({a}).is_same(a)); // one replica: no copy
  auto s = rank_ordered_sum({a, b, c});
  CHECK(s.equal((a + b) + c));
  auto out = torch::empty({2});
  rank_ordered_sum_into(out, {a, b, c});
  CHECK(out.equal(s));
}

TEST_CASE("state digests tell replicas apart", "[core][grads]") {
  torch::manual_seed(1);
  auto a = std::make_shared<mlp_impl>(std::vector<int64_t>{4, 3});
  auto b = std::make_shared<mlp_impl>(std::vector<int64_t>{4, 3});
  CHECK(state_digest(*a) != state_digest(*b));
  copy_state(*a, *b);
  CHECK(state_digest(*a) == state_digest(*b));
}

TEST_CASE("reduce buffers are reused only once nobody holds them",
          "[core][flat_grads]") {
  troupe::core::reduce_buffers pool{2};
  std::vector<at::Tensor> xs{torch::randn({1000}), torch::randn({1000}),
                             torch::randn({1000})};
  auto expected = troupe::core::rank_ordered_sum(xs);
  auto a = pool.sum(xs);
  CHECK(a.equal(expected));
  // `a` is still held (a stepper has not copied it yet): a new buffer.
  auto b = pool.sum(xs);
  CHECK(b.data_ptr() != a.data_ptr());
  CHECK(b.equal(expected));
  auto a_storage = a.data_ptr();
  a = at::Tensor{}; // released
  auto c = pool.sum({xs[1], xs[0]});
  CHECK(c.data_ptr() == a_storage);
  CHECK(c.equal(troupe::core::rank_ordered_sum({xs[1], xs[0]})));
  CHECK(b.equal(expected)); // untouched while held
  // Full and everything held: allocates beyond the pool.
  auto d = pool.sum(xs);
  CHECK(d.data_ptr() != b.data_ptr());
  CHECK(d.data_ptr() != c.data_ptr());
  CHECK(pool.size() == 2);
  // One replica: the input itself.
  CHECK(pool.sum({xs[0]}).data_ptr() == xs[0].data_ptr());
}
