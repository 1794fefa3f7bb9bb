#pragma once
// Helpers shared by the tests: where the test data is, running the qwenrt binary as a user
// would, and scratch directories that clean up after themselves.
#include <cstdint>
#include <string>
#include <vector>

namespace qwenrt::test {

// tests/data/<relative>
std::string data_path(const std::string& relative);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the qwenrt binary with `args` (no shell involved).
CommandResult run_qwenrt(const std::vector<std::string>& args, const std::string& stdin_text = "");
// Runs any binary; `extra_env` entries ("NAME=value") are added to the environment.
CommandResult run_binary(const std::string& binary, const std::vector<std::string>& args, const std::string& stdin_text = "",
                         const std::vector<std::string>& extra_env = {});

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<float> read_f32(const std::string& path);
std::string read_text(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);

}  // namespace qwenrt::test
