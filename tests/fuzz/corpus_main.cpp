// Replays every file of the given corpus directories through the fuzz target
// (a regression test for inputs the fuzzer found or was seeded with).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t n = 0;
  for (int i = 1; i < argc; ++i)
    for (const auto& f : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(f.path(), std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++n;
    }
  if (n == 0) {
    std::fprintf(stderr, "corpus: no inputs found\n");
    return 1;
  }
  std::printf("corpus: %zu inputs replayed without a crash\n", n);
  return 0;
}
