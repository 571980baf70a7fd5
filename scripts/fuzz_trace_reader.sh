#!/usr/bin/env bash
# Fuzzes the trace reader with libFuzzer (clang, ASan, UBSan) for SECONDS
# (default 300), growing tests/fuzz/corpus/trace_reader.
#   scripts/fuzz_trace_reader.sh [SECONDS]
# Needs clang-14 and libclang-rt-14-dev (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
out=build-fuzz
mkdir -p "$out"
torch_inc="-isystem /usr/include/torch/csrc/api/include"
flags="-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -D_GLIBCXX_USE_CXX11_ABI=1"
clang++ $flags $torch_inc -Imessages -Icore \
  tests/fuzz/trace_reader_fuzz.cpp core/troupe/core/trace/trace_format.cpp \
  core/troupe/core/util/crc32c.cpp messages/src/tensor_payload.cpp \
  -o "$out/trace_reader_fuzz" \
  -lcaf_core -ltorch -ltorch_cpu -lc10 -lfmt -lpthread
mkdir -p tests/fuzz/corpus/trace_reader
"$out/trace_reader_fuzz" -max_total_time="$seconds" -max_len=65536 \
  -timeout=10 -rss_limit_mb=4096 tests/fuzz/corpus/trace_reader
