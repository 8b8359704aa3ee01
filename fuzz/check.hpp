// The fuzzers' assertion: a broken invariant aborts, which libFuzzer reports
// as a crash, after naming the line that failed.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fuzz {

inline void check(bool condition, const char* file = __builtin_FILE(),
                  int line = __builtin_LINE()) {
  if (condition) return;
  std::fprintf(stderr, "fuzz check failed at %s:%d\n", file, line);
  std::abort();
}

}  // namespace fuzz
