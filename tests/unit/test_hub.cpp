// Downloads from a hub-like HTTP server on loopback: the Hugging Face cache layout, resuming a
// dropped download, refusing a wrong checksum, GGUF file selection, errors, offline use, and the
// pull / list / run commands. Nothing leaves the machine.
#include "base/error.h"
#include "base/sha256.h"
#include "hub/hub.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

namespace qwenrt {
namespace {

namespace fs = std::filesystem;
using namespace test;

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

struct FakeFile {
  std::string bytes;
  bool lfs = false;
  std::string served;  // when set, the CDN serves this instead (a corrupt download)
};

class FakeHub {
 public:
  std::map<std::string, std::map<std::string, FakeFile>> repos;
  std::atomic<int> cdn_requests{0};
  std::atomic<bool> drop_next{false};  // the next CDN download stops halfway
  std::mutex mu;
  std::vector<std::string> ranges, auths;
  bool require_token = false;

  FakeHub() {
    server_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const auto it = repos.find(req.matches[1].str() + "/" + req.matches[2].str());
      if (it == repos.end() || denied(req)) return missing(req, res);
      nlohmann::json j = {{"sha", kCommit}, {"siblings", nlohmann::json::array()}};
      for (const auto& [name, f] : it->second) j["siblings"].push_back({{"rfilename", name}});
      res.set_content(j.dump(), "application/json");
    });
    server_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
      const FakeFile* f = find(repo, req.matches[4].str());
      if (!f || denied(req)) return missing(req, res);
      res.set_header("X-Repo-Commit", kCommit);
      if (f->lfs) {
        Sha256 h;
        h.update(f->bytes);
        const std::string sha = h.hex_digest();
        res.status = 302;
        res.set_header("Location", "/cdn/" + repo + "/" + req.matches[4].str());
        res.set_header("ETag", "\"" + sha + "\"");
        res.set_header("X-Linked-Etag", "\"" + sha + "\"");
        res.set_header("X-Linked-Size", std::to_string(f->bytes.size()));
      } else {
        res.set_header("ETag", "\"git-" + std::to_string(std::hash<std::string>{}(f->bytes)) + "\"");
        res.set_content(f->bytes, "application/octet-stream");
      }
    });
    server_.Get(R"(/cdn/([^/]+)/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const FakeFile* f = find(req.matches[1].str() + "/" + req.matches[2].str(), req.matches[3].str());
      if (!f) return missing(req, res);
      ++cdn_requests;
      const std::string body = f->served.empty() ? f->bytes : f->served;
      if (drop_next.exchange(false)) {
        // Send the first half, then drop the connection.
        auto data = std::make_shared<std::string>(body);
        res.set_content_provider(data->size(), "application/octet-stream", [data](size_t offset, size_t, httplib::DataSink& sink) {
          if (offset >= data->size() / 2) return false;
          sink.write(data->data() + offset, data->size() / 2 - offset);
          return true;
        });
        return;
      }
      res.set_content(body, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeHub() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  const FakeFile* find(const std::string& repo, const std::string& file) const {
    const auto r = repos.find(repo);
    if (r == repos.end()) return nullptr;
    const auto f = r->second.find(file);
    return f == r->second.end() ? nullptr : &f->second;
  }
  void record(const httplib::Request& req) {
    std::lock_guard lock(mu);
    if (req.has_header("Range")) ranges.push_back(req.get_header_value("Range"));
    auths.push_back(req.get_header_value("Authorization"));
  }
  bool denied(const httplib::Request& req) const { return require_token && req.get_header_value("Authorization") != "Bearer secret"; }
  void missing(const httplib::Request& req, httplib::Response& res) const {
    res.status = denied(req) ? 401 : 404;
    res.set_content("{\"error\": \"Repository not found\"}", "application/json");
  }
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// The tiny golden model as a hub repo, plus files a model download must skip.
void add_tiny_repo(FakeHub& hub) {
  const std::string dir = data_path("models/qwen3-untied");
  auto& files = hub.repos["test/tiny"];
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"}) {
    files[name] = {read_text(dir + "/" + name), false, ""};
  }
  files["model.safetensors"] = {read_text(dir + "/model.safetensors"), true, ""};
  files["README.md"] = {"# tiny", false, ""};
  files["model.gguf"] = {read_text(dir + "/model.gguf"), true, ""};
}

hub::HubConfig config_for(const FakeHub& h, const TempDir& cache) {
  hub::HubConfig c;
  c.endpoint = h.endpoint();
  c.cache_dir = cache.path();
  return c;
}

TEST(Hub, DownloadsIntoTheHuggingFaceCacheLayoutOnce) {
  FakeHub h;
  add_tiny_repo(h);
  TempDir cache;
  hub::HubConfig c = config_for(h, cache);
  c.token = "secret";
  h.require_token = true;
  const std::string path = hub::download_model(hub::parse_model_ref("test/tiny"), c);
  const fs::path repo = fs::path(cache.path()) / "models--test--tiny";
  EXPECT_EQ(fs::path(path), repo / "snapshots" / kCommit);
  EXPECT_EQ(read_text((repo / "refs" / "main").string()), kCommit);
  for (const char* name : {"config.json", "tokenizer.json", "model.safetensors"}) {
    const fs::path p = fs::path(path) / name;
    ASSERT_TRUE(fs::is_symlink(p)) << name;
    EXPECT_EQ(fs::read_symlink(p).string().substr(0, 12), "../../blobs/") << "relative link, as huggingface_hub makes";
    EXPECT_EQ(read_text(p.string()), h.repos["test/tiny"][name].bytes) << name;
  }
  EXPECT_FALSE(fs::exists(fs::path(path) / "README.md"));
  EXPECT_FALSE(fs::exists(fs::path(path) / "model.gguf"));
  // The LFS blob is named by its sha256.
  EXPECT_TRUE(fs::exists(repo / "blobs" / sha256_file((fs::path(path) / "model.safetensors").string())));
  for (const std::string& a : h.auths) EXPECT_EQ(a, "Bearer secret");
  // Cached: nothing is downloaded again.
  const int before = h.cdn_requests;
  EXPECT_EQ(hub::download_model(hub::parse_model_ref("test/tiny"), c), path);
  EXPECT_EQ(h.cdn_requests, before);
  // Offline, and with the server gone, the cache still answers.
  h.stop();
  EXPECT_EQ(hub::download_model(hub::parse_model_ref("test/tiny"), c), path);
  c.offline = true;
  EXPECT_EQ(hub::download_model(hub::parse_model_ref("test/tiny"), c), path);
  EXPECT_THROW(hub::download_model(hub::parse_model_ref("test/other"), c), Error);
}

TEST(Hub, ADroppedDownloadResumesWithARangeRequest) {
  FakeHub h;
  add_tiny_repo(h);
  TempDir cache;
  const hub::HubConfig c = config_for(h, cache);
  h.drop_next = true;
  try {
    hub::download_model(hub::parse_model_ref("test/tiny"), c);
    FAIL() << "the dropped connection went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run again to resume"), std::string::npos) << e.what();
  }
  const std::string& bytes = h.repos["test/tiny"]["model.safetensors"].bytes;
  const std::string path = hub::download_model(hub::parse_model_ref("test/tiny"), c);
  EXPECT_EQ(read_text(path + "/model.safetensors"), bytes);
  ASSERT_FALSE(h.ranges.empty());
  EXPECT_EQ(h.ranges.back(), "bytes=" + std::to_string(bytes.size() / 2) + "-");
}

TEST(Hub, AWrongChecksumIsRefusedAndNothingIsKept) {
  FakeHub h;
  add_tiny_repo(h);
  h.repos["test/tiny"]["model.safetensors"].served = std::string(h.repos["test/tiny"]["model.safetensors"].bytes.size(), 'x');
  TempDir cache;
  try {
    hub::download_model(hub::parse_model_ref("test/tiny"), config_for(h, cache));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
  }
  const fs::path blobs = fs::path(cache.path()) / "models--test--tiny" / "blobs";
  for (const auto& b : fs::directory_iterator(blobs)) {
    EXPECT_LT(fs::file_size(b.path()), 100000u) << "a corrupt blob was kept: " << b.path();
  }
  EXPECT_FALSE(fs::exists(fs::path(cache.path()) / "models--test--tiny" / "snapshots" / kCommit / "model.safetensors"));
}

TEST(Hub, GgufReposPickAFileByNameOrQuantization) {
  hub::ModelRef r = hub::parse_model_ref("Qwen/Qwen3-8B-GGUF:Q4_K_M");
  EXPECT_EQ(r.repo, "Qwen/Qwen3-8B-GGUF");
  EXPECT_EQ(r.selector, "Q4_K_M");
  EXPECT_EQ(r.revision, "main");
  EXPECT_EQ(hub::parse_model_ref("a/b@v1.0").revision, "v1.0");
  EXPECT_THROW(hub::parse_model_ref("not a repo"), Error);
  EXPECT_THROW(hub::parse_model_ref("a/b@../../etc"), Error);
  EXPECT_FALSE(hub::looks_like_repo_id("../x"));
  const std::vector<std::string> files = {"README.md", "Qwen3-8B-Q4_K_M.gguf", "Qwen3-8B-Q8_0.gguf", "Qwen3-8B-F16.gguf"};
  EXPECT_EQ(hub::select_files(r, files), std::vector<std::string>{"Qwen3-8B-Q4_K_M.gguf"});
  r.selector = "q8_0";
  EXPECT_EQ(hub::select_files(r, files), std::vector<std::string>{"Qwen3-8B-Q8_0.gguf"});
  r.selector = "Qwen3-8B-F16.gguf";
  EXPECT_EQ(hub::select_files(r, files), std::vector<std::string>{"Qwen3-8B-F16.gguf"});
  r.selector = "";
  EXPECT_EQ(hub::select_files(r, files), std::vector<std::string>{"Qwen3-8B-Q8_0.gguf"});  // the best type qwenrt runs
  r.selector = "IQ2_XS";
  try {
    hub::select_files(r, files);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Qwen3-8B-F16.gguf"), std::string::npos) << "lists what there is: " << e.what();
  }
}

TEST(Hub, GgufDownloadReturnsTheFile) {
  FakeHub h;
  h.repos["test/tiny-GGUF"]["tiny-Q8_0.gguf"] = {read_text(data_path("models/qwen3-untied/model.gguf")), true, ""};
  h.repos["test/tiny-GGUF"]["tiny-F32.gguf"] = {"other bytes", true, ""};
  TempDir cache;
  const std::string path = hub::download_model(hub::parse_model_ref("test/tiny-GGUF:Q8_0"), config_for(h, cache));
  EXPECT_EQ(fs::path(path).filename(), "tiny-Q8_0.gguf");
  EXPECT_EQ(read_text(path), h.repos["test/tiny-GGUF"]["tiny-Q8_0.gguf"].bytes);
  EXPECT_FALSE(fs::exists(fs::path(path).parent_path() / "tiny-F32.gguf"));
}

TEST(Hub, MissingReposAndRefusedAccessNameTheProblem) {
  FakeHub h;
  add_tiny_repo(h);
  TempDir cache;
  auto message = [&](const std::string& spec, bool token) {
    h.require_token = token;
    try {
      hub::download_model(hub::parse_model_ref(spec), config_for(h, cache));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("test/nothing", false).find("not found"), std::string::npos);
  EXPECT_NE(message("test/tiny", true).find("HF_TOKEN"), std::string::npos);
  hub::HubConfig c = config_for(h, cache);
  c.endpoint = "http://127.0.0.1:1";  // nothing listens there
  EXPECT_THROW(hub::download_model(hub::parse_model_ref("test/tiny"), c), Error);
}

TEST(Hub, PullListAndRunFromTheCommandLine) {
  FakeHub h;
  add_tiny_repo(h);
  TempDir home;
  const std::vector<std::string> env = {"HF_ENDPOINT=" + h.endpoint(), "HF_HOME=" + home.path()};
  const CommandResult pull = run_binary(QWENRT_BINARY, {"pull", "test/tiny"}, "", env);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.out, home.path() + "/hub/models--test--tiny/snapshots/" + kCommit + "\n");
  const CommandResult list = run_binary(QWENRT_BINARY, {"list"}, "", env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("test/tiny"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("KiB"), std::string::npos) << list.out;
  h.stop();  // run works from the cache
  const CommandResult run = run_binary(QWENRT_BINARY, {"run", "test/tiny", "Hello", "-n", "3"}, "", env);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const CommandResult missing = run_binary(QWENRT_BINARY, {"pull", "test/absent"}, "", env);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("test/absent"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace qwenrt
