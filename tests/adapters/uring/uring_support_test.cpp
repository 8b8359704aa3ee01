// How the library says io_uring is not there. The refusal is real: a
// helper process installs a seccomp filter that fails io_uring_setup with
// EPERM (ws_uring_refusal_helper, next to this binary), then reports what
// probe() and a UringLoop say; the same helper without the filter must
// find io_uring usable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "uring_test_support.hpp"

namespace ws::uring::test {
namespace {

std::string helper_path() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  const std::string path(self, static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "ws_uring_refusal_helper";
}

struct Outcome {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr together
};

Outcome run(const std::vector<std::string>& argv) {
  Outcome outcome;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return outcome;
  std::vector<char*> args;  // before the fork: the child only execs
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char chunk[1024];
  ssize_t got = 0;
  while ((got = ::read(pipe_fds[0], chunk, sizeof chunk)) > 0) {
    outcome.output.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  }
  return outcome;
}

bool helper_built() { return ::access(helper_path().c_str(), X_OK) == 0; }

TEST(UringSupport, ProbeFindsIoUringUsableHereAndSaysSoInOneLine) {
  WS_REQUIRE_URING();
  const Support support = probe();
  EXPECT_FALSE(support.error);
  EXPECT_NE(support.message.find("io_uring is usable"), std::string::npos) << support.message;
  EXPECT_EQ(support.message.find('\n'), std::string::npos);
  const UringLoop loop;
  EXPECT_FALSE(loop.creation_error());
  EXPECT_TRUE(loop.creation_message().empty());
}

TEST(UringSupport, HelperWithoutAFilterExitsZero) {
  WS_REQUIRE_URING();
  ASSERT_TRUE(helper_built()) << "ws_uring_refusal_helper is missing next to the test binary";
  const Outcome outcome = run({helper_path()});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("io_uring is usable"), std::string::npos) << outcome.output;
}

TEST(UringSupport, RefusedBySeccompItSaysSoInOneLineAndExitsNonZero) {
  ASSERT_TRUE(helper_built()) << "ws_uring_refusal_helper is missing next to the test binary";
  const Outcome outcome = run({helper_path(), "--seccomp"});
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  ASSERT_FALSE(outcome.output.empty());
  // One line: the text, then its newline.
  EXPECT_EQ(outcome.output.find('\n'), outcome.output.size() - 1) << outcome.output;
  EXPECT_NE(outcome.output.find("io_uring is not usable here"), std::string::npos)
      << outcome.output;
  EXPECT_NE(outcome.output.find("io_uring_setup failed with EPERM"), std::string::npos)
      << outcome.output;
  EXPECT_NE(outcome.output.find("seccomp"), std::string::npos) << outcome.output;
}

TEST(UringSupport, TheFilterCarriesOverExec) {
  ASSERT_TRUE(helper_built()) << "ws_uring_refusal_helper is missing next to the test binary";
  // The way a program such as ws-echo --io uring is refused: the helper
  // installs the filter and runs it.
  const Outcome outcome = run({helper_path(), "--seccomp", "--exec", helper_path()});
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("EPERM"), std::string::npos) << outcome.output;
}

TEST(UringSupport, ServersAndClientsOnARefusedLoopFailWithItsError) {
  // In this process io_uring works; a loop with an impossible buffer ring
  // stands for one that could not be made (the same path in listen and
  // connect).
  WS_REQUIRE_URING();
  UringLoopOptions options;
  options.buffer_count = 3;  // not a power of two
  UringLoop loop(options);
  ASSERT_TRUE(loop.creation_error());
  EXPECT_FALSE(loop.creation_message().empty());
  EXPECT_EQ(loop.run(), loop.creation_error());
  Result<UringServer> server = UringServer::listen(loop, UringServerOptions{}, Handler{});
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error(), loop.creation_error());
  UringClient client(loop);
  Result<SessionPtr> session = client.connect("ws://127.0.0.1:1/", Handler{});
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error(), loop.creation_error());
}

}  // namespace
}  // namespace ws::uring::test
