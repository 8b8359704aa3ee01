// ThreadServer under real resource exhaustion, in a child process
// (ws_thread_server_helper, next to this binary) so that the limits touch
// nothing else:
//   - RLIMIT_NPROC, under a numeric uid no process uses (as root the limit
//     is not enforced): threads that cannot be created are answered with
//     503 and counted, the server stays up and serves once the load goes;
//   - RLIMIT_NOFILE: at the descriptor limit the accept loop backs off
//     instead of spinning (its CPU time is measured), and serves again once
//     descriptors are freed.
// Needs prlimit and setpriv (util-linux) and root for the uid change;
// skipped otherwise.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blocking_test_support.hpp"

namespace ws::posix::test {
namespace {

using Clock = std::chrono::steady_clock;

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool have_program(const char* name) {
  const std::string command = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

std::string helper_path() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  std::string path(self, static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "ws_thread_server_helper";
}

/// The whole of a small file (/proc), read with plain system calls: the
/// iostream version trips g++'s -Wnull-dereference in the TSan tree.
std::string read_text(const std::string& path) {
  std::string text;
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return text;
  char chunk[4096];
  ssize_t n = 0;
  while ((n = ::read(file.get(), chunk, sizeof chunk)) > 0) {
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return text;
}

/// A uid that no running process has (real, effective, saved or fs).
unsigned unused_uid() {
  std::set<unsigned> used;
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(proc)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      const std::string status = read_text(std::string("/proc/") + entry->d_name + "/status");
      const std::size_t at = status.find("\nUid:");
      if (at == std::string::npos) continue;
      const char* cursor = status.c_str() + at + 5;
      for (int i = 0; i < 4; ++i) {
        char* end = nullptr;
        const unsigned long id = std::strtoul(cursor, &end, 10);
        if (end == cursor) break;
        used.insert(static_cast<unsigned>(id));
        cursor = end;
      }
    }
    ::closedir(proc);
  }
  unsigned uid = 47000 + static_cast<unsigned>(::getpid()) % 10000;
  while (used.count(uid) != 0) ++uid;
  return uid;
}

/// The helper server in a child process; stdin and stdout are pipes.
class HelperProcess {
 public:
  explicit HelperProcess(const std::vector<std::string>& argv) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) return;
    std::vector<char*> args;  // before the fork: the child only execs
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    input_.reset(to_child[1]);
    output_.reset(from_child[0]);
    if (pid_ > 0) port_ = read_port();
  }
  HelperProcess(const HelperProcess&) = delete;
  HelperProcess& operator=(const HelperProcess&) = delete;
  ~HelperProcess() {
    if (pid_ <= 0) return;
    input_.reset();  // the helper shuts down and exits
    const auto deadline = Clock::now() + 3s;
    while (Clock::now() < deadline && alive()) std::this_thread::sleep_for(10ms);
    if (alive()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }

  bool alive() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    exited_ = true;
    return false;
  }

  /// The helper's CPU time (user + system) so far.
  std::chrono::milliseconds cpu_time() const {
    const std::string text = read_text("/proc/" + std::to_string(pid_) + "/stat");
    const std::size_t paren = text.rfind(')');
    if (paren == std::string::npos) return std::chrono::milliseconds(0);
    // Fields after the command: 3 is the state; 14 and 15 are utime, stime.
    const char* cursor = text.c_str() + paren + 2;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int index = 3; index <= 15 && *cursor != '\0'; ++index) {
      const char* end = std::strchr(cursor, ' ');
      if (index == 14) utime = std::strtoull(cursor, nullptr, 10);
      if (index == 15) stime = std::strtoull(cursor, nullptr, 10);
      if (end == nullptr) break;
      cursor = end + 1;
    }
    const long ticks = ::sysconf(_SC_CLK_TCK);
    return std::chrono::milliseconds((utime + stime) * 1000 /
                                     static_cast<unsigned long long>(ticks));
  }

  /// Descriptors the helper holds open below `limit` (one inherited above
  /// it does not count against RLIMIT_NOFILE's next descriptor).
  std::size_t open_descriptors_below(std::size_t limit) const {
    std::size_t count = 0;
    if (DIR* fds = ::opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str())) {
      while (const dirent* entry = ::readdir(fds)) {
        if (entry->d_name[0] == '.') continue;
        count += std::strtoul(entry->d_name, nullptr, 10) < limit;
      }
      ::closedir(fds);
    }
    return count;
  }

 private:
  std::uint16_t read_port() {
    std::string line;
    const auto deadline = Clock::now() + 5s;
    while (line.find('\n') == std::string::npos) {
      pollfd readable{};
      readable.fd = output_.get();
      readable.events = POLLIN;
      if (::poll(&readable, 1, ms_until(deadline)) != 1) return 0;
      char chunk[64];
      const ssize_t n = ::read(output_.get(), chunk, sizeof chunk);
      if (n <= 0) return 0;
      line.append(chunk, static_cast<std::size_t>(n));
    }
    unsigned port = 0;
    return std::sscanf(line.c_str(), "port %u", &port) == 1 ? static_cast<std::uint16_t>(port) : 0;
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  FileDescriptor input_;
  FileDescriptor output_;
  std::uint16_t port_ = 0;
};

/// Everything the server sends on a connection until it ends it, or what
/// came within `wait`.
std::string read_all(int fd, std::chrono::milliseconds wait) {
  std::string received;
  const auto deadline = Clock::now() + wait;
  for (;;) {
    pollfd readable{};
    readable.fd = fd;
    readable.events = POLLIN;
    if (::poll(&readable, 1, ms_until(deadline)) != 1) return received;
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return received;
    received.append(chunk, static_cast<std::size_t>(n));
  }
}

/// GET /stats, retried until the server answers 200 (it may refuse while
/// short of threads or descriptors); the value of `name`, or nothing.
std::optional<unsigned long long> stat_value(std::uint16_t port, std::string_view name) {
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    Result<FileDescriptor> fd = connect_tcp("127.0.0.1", port);
    if (fd) {
      const std::string_view request = "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n";
      (void)write_all(fd->get(), request.data(), request.size());
      const std::string answer = read_all(fd->get(), 2s);
      if (starts_with(answer, "HTTP/1.1 200 ")) {
        const std::string key = "\n" + std::string(name) + "=";
        const std::size_t at = answer.find(key);
        if (at == std::string::npos) return std::nullopt;
        return std::stoull(answer.substr(at + key.size()));
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

void expect_echo_works(std::uint16_t port) {
  RawClient client(port);
  ASSERT_TRUE(starts_with(client.handshake(), "HTTP/1.1 101 "));
  client.send(ws::test::client_frame(Opcode::text, "still serving"));
  const std::optional<OwnedEvent> echoed = client.next_event();
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->text(), "still serving");
}

TEST(ThreadExhaustion, ThreadsTheSystemRefusesGet503AndTheServerLivesOn) {
  if (::geteuid() != 0 || !have_program("prlimit") || !have_program("setpriv")) {
    GTEST_SKIP() << "needs root, prlimit and setpriv";
  }
  const std::string uid = std::to_string(unused_uid());
  // 8 tasks for the uid: the main thread, the accept thread, and 6 for
  // connections. Silent connections hold theirs for the handshake timeout.
  HelperProcess helper({"prlimit", "--nproc=8", "setpriv", "--reuid=" + uid, "--regid=" + uid,
                        "--clear-groups", helper_path(), "--handshake-ms", "4000"});
  ASSERT_NE(helper.port(), 0) << "the helper did not start";

  std::vector<FileDescriptor> held;
  for (int i = 0; i < 12; ++i) {
    Result<FileDescriptor> fd = connect_tcp("127.0.0.1", helper.port());
    ASSERT_TRUE(fd.has_value()) << fd.error().message();
    held.push_back(std::move(*fd));
  }
  int answered_503 = 0;
  for (const FileDescriptor& fd : held) {
    answered_503 += starts_with(read_all(fd.get(), 150ms), "HTTP/1.1 503 ");
  }
  EXPECT_GE(answered_503, 1);
  EXPECT_LE(answered_503, 12 - 4);  // at least a few got a thread
  EXPECT_TRUE(helper.alive());

  held.clear();  // the load goes; their threads end
  const std::optional<unsigned long long> refused = stat_value(helper.port(), "refused_threads");
  ASSERT_TRUE(refused.has_value()) << "the server does not answer any more";
  EXPECT_GE(*refused, static_cast<unsigned long long>(answered_503));
  EXPECT_GE(stat_value(helper.port(), "thread_failures").value_or(0), 1U);
  expect_echo_works(helper.port());
  EXPECT_TRUE(helper.alive());
}

// The descriptor-exhaustion tests run outside the sanitizer trees: at the
// descriptor limit the sanitizer runtimes fail themselves (UBSan's vptr
// check probes memory through a pipe, which cannot be created, and reports
// every virtual call as "invalid vptr"; ASan cannot start its symbolizer).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WS_SANITIZED 1
#endif
#endif
#ifndef WS_SANITIZED

constexpr std::size_t kDescriptorLimit = 32;

// Fills the helper's descriptors with silent connections (each holds one
// descriptor in the server, waiting for its request head) plus more queued
// in the backlog, then checks that the accept loop, facing EMFILE again and
// again, stays below 20% of a core. Returns the connections held.
std::vector<FileDescriptor> expect_calm_at_the_descriptor_limit(HelperProcess& helper) {
  std::vector<FileDescriptor> held;
  for (std::size_t i = 0; i < kDescriptorLimit + 8; ++i) {
    Result<FileDescriptor> fd = connect_tcp("127.0.0.1", helper.port());
    EXPECT_TRUE(fd.has_value()) << fd.error().message();
    if (!fd) return held;
    held.push_back(std::move(*fd));
  }
  const auto deadline = Clock::now() + 3s;
  // At the limit a connection that was accepted may find no descriptor for
  // its wake-up eventfd and end at once, so the count moves between the
  // limit and one below it.
  while (helper.open_descriptors_below(kDescriptorLimit) < kDescriptorLimit - 1 &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(helper.open_descriptors_below(kDescriptorLimit), kDescriptorLimit - 1)
      << "the server did not reach the limit";
  std::this_thread::sleep_for(100ms);
  const std::chrono::milliseconds cpu_before = helper.cpu_time();
  const auto wall_before = Clock::now();
  std::this_thread::sleep_for(500ms);
  const std::chrono::milliseconds cpu = helper.cpu_time() - cpu_before;
  const auto wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - wall_before);
  EXPECT_LT(cpu.count() * 5, wall.count())
      << "the accept loop used " << cpu.count() << " ms of CPU in " << wall.count()
      << " ms at the descriptor limit";
  EXPECT_TRUE(helper.alive());
  return held;
}

TEST(ThreadExhaustion, AtTheDescriptorLimitTheAcceptLoopBacksOffAndRecovers) {
  if (!have_program("prlimit")) GTEST_SKIP() << "needs prlimit";
  HelperProcess helper({"prlimit", "--nofile=" + std::to_string(kDescriptorLimit), helper_path(),
                        "--handshake-ms", "10000"});
  ASSERT_NE(helper.port(), 0) << "the helper did not start";
  std::vector<FileDescriptor> held = expect_calm_at_the_descriptor_limit(helper);
  held.clear();
  const std::optional<unsigned long long> backoffs = stat_value(helper.port(), "accept_backoffs");
  ASSERT_TRUE(backoffs.has_value()) << "the server does not answer any more";
  EXPECT_GE(*backoffs, 1U);
  expect_echo_works(helper.port());
  EXPECT_TRUE(helper.alive());
}

// The same attack on the epoll server: at the descriptor limit its accept
// loop pauses (100 ms) instead of spinning, and serves again afterwards.
TEST(ThreadExhaustion, AtTheDescriptorLimitTheEpollServerBacksOffAndRecovers) {
  if (!have_program("prlimit")) GTEST_SKIP() << "needs prlimit";
  HelperProcess helper({"prlimit", "--nofile=" + std::to_string(kDescriptorLimit), helper_path(),
                        "--io", "epoll", "--handshake-ms", "10000"});
  ASSERT_NE(helper.port(), 0) << "the helper did not start";
  std::vector<FileDescriptor> held = expect_calm_at_the_descriptor_limit(helper);
  held.clear();
  std::this_thread::sleep_for(200ms);  // the pause ends, the backlog drains
  expect_echo_works(helper.port());
  EXPECT_TRUE(helper.alive());
}

#if WS_HELPER_URING
// The same attack on the io_uring server: its multishot accept ends with
// EMFILE, and it pauses (100 ms) instead of re-arming at once, then serves
// again.
TEST(ThreadExhaustion, AtTheDescriptorLimitTheIoUringServerBacksOffAndRecovers) {
  if (!have_program("prlimit")) GTEST_SKIP() << "needs prlimit";
  HelperProcess helper({"prlimit", "--nofile=" + std::to_string(kDescriptorLimit), helper_path(),
                        "--io", "uring", "--handshake-ms", "10000"});
  ASSERT_NE(helper.port(), 0) << "the helper did not start";
  std::vector<FileDescriptor> held = expect_calm_at_the_descriptor_limit(helper);
  held.clear();
  std::this_thread::sleep_for(200ms);  // the pause ends, the backlog drains
  expect_echo_works(helper.port());
  EXPECT_TRUE(helper.alive());
}
#endif

#endif  // WS_SANITIZED

}  // namespace
}  // namespace ws::posix::test
