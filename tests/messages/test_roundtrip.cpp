#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <torch/torch.h>

#include "system_fixture.hpp"
#include "troupe/messages/type_ids.hpp"

using namespace troupe;

namespace {

struct roundtrip_fixture : troupe::test::system_fixture {
  template <class T>
  T roundtrip(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(x));
    T y;
    caf::binary_deserializer source{sys, buf};
    REQUIRE(!source(y));
    return y;
  }

  template <class T>
  void check(T x) {
    auto y = roundtrip(x);
    CHECK(x == y);
    // Also through a type-erased message, as traces will carry them.
    auto msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(msg));
    caf::message out;
    caf::binary_deserializer source{sys, buf};
    REQUIRE(!source(out));
    REQUIRE(out.match_elements<T>());
    CHECK(out.get_as<T>(0) == x);
  }
};

tensor_payload payload(at::Tensor x) {
  return tensor_payload{std::move(x)};
}

metric_sums sums() {
  return {{"loss", 1.25, 64}, {"acc", 50, 64}};
}

} // namespace

TEST_CASE_METHOD(roundtrip_fixture, "every message type round-trips",
                 "[messages]") {
  check(payload(torch::randn({3, 4})));
  check(payload(torch::arange(5, torch::kInt64)));
  check(payload(at::Tensor{}));
  check(micro_batch{payload(torch::randn({2, 3})),
                    payload(torch::ones({2}, torch::kInt64))});
  check(step_batch{1,
                   7,
                   1,
                   {micro_batch{payload(torch::randn({2, 3})),
                                payload(torch::ones({2}, torch::kInt64))}}});
  check(step_permit{12});
  check(contribution{1, 3, 1, 64, 0.02, payload(torch::randn({10})),
                     payload(at::Tensor{}), sums()});
  check(contribution{1, 3, 1, 64, 0.02, payload(torch::randn({10})),
                     payload(torch::randn({4})), sums()});
  check(
    reduced_gradient{3, payload(torch::randn({10})), payload(at::Tensor{})});
  check(reduced_gradient{3, payload(torch::randn({10})),
                         payload(torch::randn({4}))});
  check(step_summary{0, 3, 128, 0.02, sums(), {sums(), sums()}});
  check(eval_request{eval_kind::test, 99});
  check(eval_contribution{eval_kind::validation, 50, 1, 0xdeadbeefull, sums()});
  check(eval_summary{eval_kind::validation, 50, sums(), {1, 2}});
  check(actor_failure{"stepper[1]", 9, "non-finite loss"});
  check(fit_report{fit_status::failed,
                   "boom",
                   9,
                   0,
                   576,
                   {{"train/loss", 0.5}},
                   1.5,
                   {"sink csv failed"},
                   3,
                   true});
  check(fit_start_event{100, 50, 2});
  check(train_step_end_event{0,
                             5,
                             0.1,
                             true,
                             {{"train/loss", 0.5}},
                             {{{"train/loss", 0.4}}, {{"train/loss", 0.6}}}});
  check(validation_end_event{0, 50, {{"val/loss", 0.5}}});
  check(epoch_end_event{0, 50, {{"train/loss_epoch", 0.5}}});
  check(fit_end_event{100, fit_status::completed, {{"test/acc", 0.85}}});
  check(callback_effects{{{"x", 1}}, true, "because", ""});
  check(progress_info{1, 3, 100, 300, 0.25});
  check(log_start{"{\"lr\": 0.1}", {"hello"}});
  check(log_batch{
    10, 0, {{"train/loss", 0.5}}, {"line"}, progress_info{0, 3, 10, 300, 0.5}});
  check(log_finish{
    fit_report{fit_status::completed, "", 10, 1, 640, {}, 0, {}, 1, false}});
}

TEST_CASE_METHOD(roundtrip_fixture, "tensors keep dtype, shape and bits",
                 "[messages]") {
  auto x = torch::randn({2, 3}).to(torch::kFloat64);
  auto y = roundtrip(payload(x)).tensor;
  CHECK(y.scalar_type() == torch::kFloat64);
  CHECK(y.sizes() == x.sizes());
  CHECK(y.equal(x));
  // A non-contiguous tensor travels as its contiguous values.
  auto nc = torch::arange(6, torch::kFloat32).reshape({2, 3}).t();
  CHECK(roundtrip(payload(nc)).tensor.equal(nc));
}

TEST_CASE_METHOD(roundtrip_fixture, "corrupt tensor bytes are refused",
                 "[messages]") {
  troupe::detail::tensor_bytes b;
  b.shape = {4};
  b.dtype = static_cast<int32_t>(c10::ScalarType::Float);
  b.data = std::string(15, '\0'); // one byte short
  tensor_payload out;
  CHECK(troupe::detail::from_bytes(std::move(b), out));
  troupe::detail::tensor_bytes bad_type;
  bad_type.dtype = 1000;
  CHECK(troupe::detail::from_bytes(std::move(bad_type), out));
  // Found by the fuzzer: sizes whose product overflows.
  troupe::detail::tensor_bytes huge;
  huge.shape = {360287970189639680, 4340954646474798080};
  huge.dtype = static_cast<int32_t>(c10::ScalarType::Float);
  CHECK(troupe::detail::from_bytes(std::move(huge), out));
  troupe::detail::tensor_bytes undefined;
  undefined.dtype = static_cast<int32_t>(c10::ScalarType::Undefined);
  CHECK(troupe::detail::from_bytes(std::move(undefined), out));
}

TEST_CASE_METHOD(roundtrip_fixture,
                 "tensors serialized as digests compare by shape, dtype and "
                 "digest",
                 "[messages]") {
  auto x = torch::randn({64, 33});
  tensor_payload d;
  {
    scoped_tensor_digests on;
    d = roundtrip(payload(x));
  }
  REQUIRE(d.digest);
  CHECK_FALSE(d.tensor.defined());
  CHECK(d.digest->shape == std::vector<int64_t>{64, 33});
  CHECK(d.digest->value == tensor_digest_of(x));
  // Equal to the full tensor it came from, in both directions, and to
  // itself after another round trip; different from any changed bit,
  // shape or dtype.
  CHECK(d == payload(x));
  CHECK(payload(x) == d);
  CHECK(roundtrip(d) == d);
  CHECK(roundtrip(d) == payload(x));
  auto y = x.clone();
  y.view(-1)[100] = std::nextafter(y.view(-1)[100].item<float>(), 1e9f);
  CHECK(d != payload(y));
  CHECK(d != payload(x.reshape({33, 64})));
  CHECK(d != payload(x.to(torch::kFloat64)));
  // Outside the scope, tensors travel by value again.
  CHECK(roundtrip(payload(x)).tensor.equal(x));
  // The digest sees every byte: one flipped bit in a long tensor or in
  // the tail after the last full block changes it.
  auto big = torch::randn({1000003});
  for (int64_t at : {0, 500000, 1000002}) {
    auto z = big.clone();
    auto bits = z.view(torch::kInt32);
    bits[at] = bits[at].item<int32_t>() ^ 1;
    CHECK(tensor_digest_of(z) != tensor_digest_of(big));
  }
  // A digest with the wrong size is refused.
  troupe::detail::tensor_bytes b;
  b.shape = {4};
  b.dtype = static_cast<int32_t>(c10::ScalarType::Float)
    | troupe::detail::digest_flag;
  b.data = std::string(7, '\0');
  tensor_payload out;
  CHECK(troupe::detail::from_bytes(std::move(b), out));
}

TEST_CASE_METHOD(roundtrip_fixture, "printing a message omits tensor bytes",
                 "[messages]") {
  auto s = caf::deep_to_string(payload(torch::zeros({1000})));
  CHECK(s.size() < 200);
}
