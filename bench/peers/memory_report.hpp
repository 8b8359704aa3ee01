// --memory-report, shared by the echo servers scripts/bench measures (ws-echo,
// beast-echo, websocketpp-echo): what the allocator says the process holds,
// printed on demand so that ws-load --signal-server can bracket a run.
//
// On each SIGUSR2 the reporting thread prints one line to stdout and flushes:
//
//   memory: heap_in_use=BYTES mmapped=BYTES rss_kib=KIB
//
// heap_in_use is mallinfo2().uordblks (bytes in use in every malloc arena),
// mmapped is mallinfo2().hblkhd (blocks malloc took with mmap), rss_kib is
// VmRSS from /proc/self/status. SIGUSR2, not SIGUSR1: ws-echo's
// ShutdownSignal (examples/common) waits for SIGUSR1 as its own wake-up, and
// a SIGUSR1 sent to the process could end that wait, after which SIGTERM
// would no longer stop the server.
#pragma once

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace ws_bench {

class MemoryReport {
 public:
  /// Blocks SIGUSR2 in the calling thread, and so in every thread started
  /// after it: construct it in main before any other thread starts. The
  /// reporting thread itself blocks every signal (it only sigwaits), so it
  /// never takes a SIGINT or SIGTERM meant for the server's own handling.
  MemoryReport() {
    sigset_t report;
    sigemptyset(&report);
    sigaddset(&report, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &report, nullptr);
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    thread_ = std::thread([this, report] { run(report); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  ~MemoryReport() {
    stopping_.store(true);
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
  MemoryReport(const MemoryReport&) = delete;
  MemoryReport& operator=(const MemoryReport&) = delete;

  /// Prints the line now (the reporting thread calls it on each SIGUSR2).
  static void print() {
    const struct mallinfo2 info = mallinfo2();
    std::printf("memory: heap_in_use=%zu mmapped=%zu rss_kib=%lu\n", info.uordblks, info.hblkhd,
                resident_kib());
    std::fflush(stdout);
  }

 private:
  // VmRSS in KiB, or 0.
  static unsigned long resident_kib() {
    std::FILE* status = std::fopen("/proc/self/status", "r");
    if (status == nullptr) return 0;
    char line[256];
    unsigned long kib = 0;
    while (std::fgets(line, sizeof line, status) != nullptr) {
      if (std::strncmp(line, "VmRSS:", 6) == 0) {
        kib = std::strtoul(line + 6, nullptr, 10);
        break;
      }
    }
    std::fclose(status);
    return kib;
  }

  void run(sigset_t report) {
    for (;;) {
      int received = 0;
      if (sigwait(&report, &received) != 0) return;
      if (stopping_.load()) return;
      print();
    }
  }

  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ws_bench
