#include "support/pty_session.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace qwenrt::test {

PtySession::PtySession(const std::string& binary, const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv_s = {binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
  struct winsize ws {};
  ws.ws_row = 40;
  ws.ws_col = 120;
  const pid_t pid = forkpty(&master_, nullptr, nullptr, &ws);
  if (pid < 0) throw std::runtime_error(std::string("forkpty failed: ") + std::strerror(errno));
  if (pid == 0) {
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  pid_ = pid;
}

PtySession::~PtySession() {
  if (exit_code_ == -2 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) close(master_);
}

void PtySession::type(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = write(master_, text.data() + off, text.size() - off);
    if (n <= 0) throw std::runtime_error("writing to the terminal failed");
    off += static_cast<size_t>(n);
  }
}

bool PtySession::wait_for(const std::string& text, double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    const size_t at = all_.find(text, mark_);
    if (at != std::string::npos) {
      chunk_ = all_.substr(mark_, at + text.size() - mark_);
      mark_ = at + text.size();
      return true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) break;
    struct pollfd p {master_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the program closed the terminal
    all_.append(buf, static_cast<size_t>(n));
  }
  chunk_ = all_.substr(mark_);
  return false;
}

int PtySession::wait_exit(double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  while (clock::now() < deadline) {
    char buf[4096];
    struct pollfd p {master_, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      const ssize_t n = read(master_, buf, sizeof buf);
      if (n > 0) all_.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
  }
  return -1;
}

}  // namespace qwenrt::test
