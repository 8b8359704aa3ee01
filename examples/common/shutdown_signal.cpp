#include "common/shutdown_signal.hpp"

#include <pthread.h>
#include <signal.h>

namespace ws::examples {

namespace {
// The destructor's wake-up: a real-time signal nobody else sends, so that a
// SIGUSR1 from outside is always a report.
int wake_signal() { return SIGRTMIN; }

sigset_t waited_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, wake_signal());
  return set;
}
}  // namespace

ShutdownSignal::ShutdownSignal(std::function<void()> on_signal, std::function<void()> on_report) {
  const sigset_t set = waited_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([set, on_signal = std::move(on_signal), on_report = std::move(on_report)] {
    for (;;) {
      int received = 0;
      if (sigwait(&set, &received) != 0) return;
      if (received == wake_signal()) return;
      if (received == SIGUSR1) {
        if (on_report) on_report();
        continue;
      }
      on_signal();
      return;
    }
  });
}

ShutdownSignal::~ShutdownSignal() {
  pthread_kill(waiter_.native_handle(), wake_signal());
  waiter_.join();
}

}  // namespace ws::examples
