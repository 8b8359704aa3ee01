#include "common/shutdown_signal.hpp"

#include <pthread.h>
#include <signal.h>

namespace ws::examples {

namespace {
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // our own wake-up in the destructor
  return set;
}
}  // namespace

ShutdownSignal::ShutdownSignal(std::function<void()> on_signal) {
  const sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([set, on_signal = std::move(on_signal)] {
    int received = 0;
    sigwait(&set, &received);
    if (received != SIGUSR1) on_signal();
  });
}

ShutdownSignal::~ShutdownSignal() {
  pthread_kill(waiter_.native_handle(), SIGUSR1);
  waiter_.join();
}

}  // namespace ws::examples
