#include "troupe/core/util/file_io.hpp"

#include <stdio_ext.h>
#include <unistd.h>

namespace troupe::core {

void cut_back_and_close(FILE* f, long size, const std::string& tail) noexcept {
  __fpurge(f);
  int fd = fileno(f);
  [[maybe_unused]] auto rc = ::ftruncate(fd, size);
  if (!tail.empty()) {
    [[maybe_unused]] auto n = ::pwrite(fd, tail.data(), tail.size(), size);
  }
  std::fclose(f);
}

} // namespace troupe::core
