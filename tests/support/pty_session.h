#pragma once
// A program running on a pseudo-terminal, driven as a person at a terminal would: type a line,
// press Ctrl-C, read what appears.
#include <string>
#include <vector>

namespace qwenrt::test {

class PtySession {
 public:
  // Starts `binary args...` with `extra_env` ("NAME=value") added to the environment.
  PtySession(const std::string& binary, const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {});
  ~PtySession();

  void type(const std::string& text);  // as typed; include "\n" to press Enter
  void ctrl_c() { type("\x03"); }
  void ctrl_d() { type("\x04"); }
  // Reads until `text` has appeared in the output since the last wait (true), or the timeout or
  // the end of the output comes first (false). What was read is in since_last_wait().
  bool wait_for(const std::string& text, double timeout_s = 30);
  const std::string& since_last_wait() const { return chunk_; }
  const std::string& output() const { return all_; }
  // Waits for the program to end; its exit code (-1 on timeout, then it is killed).
  int wait_exit(double timeout_s = 30);

 private:
  int master_ = -1;
  int pid_ = -1;
  int exit_code_ = -2;
  std::string all_, chunk_;
  size_t mark_ = 0;
};

}  // namespace qwenrt::test
