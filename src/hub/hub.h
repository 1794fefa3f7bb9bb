#pragma once
// Models from the Hugging Face hub, fetched as huggingface_hub does and into the same cache, so
// that files either tool downloaded serve both:
//   GET  {endpoint}/api/models/{repo}/revision/{rev}   -> {"sha": commit, "siblings": [{"rfilename"}]}
//   HEAD {endpoint}/{repo}/resolve/{rev}/{file}         -> X-Repo-Commit, ETag, and for LFS files
//        X-Linked-Etag (their sha256) and X-Linked-Size, with a redirect to the bytes
//   GET  the same, following redirects, with Range to resume
// Cache ($HF_HUB_CACHE, or $HF_HOME/hub, or ~/.cache/huggingface/hub):
//   models--{owner}--{name}/blobs/{etag}              the bytes ({etag}.incomplete while downloading)
//   models--{owner}--{name}/snapshots/{commit}/{file} a relative symlink to the blob
//   models--{owner}--{name}/refs/{revision}           the commit the revision pointed at
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qwenrt::hub {

struct HubConfig {
  std::string endpoint = "https://huggingface.co";
  std::string token;      // sent as "Authorization: Bearer ..." when set
  std::string cache_dir;  // the hub cache folder
  bool offline = false;   // use the cache only
  // HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE, as huggingface_hub reads them.
  static HubConfig from_env();
};

// "owner/repo", "owner/repo:FILE.gguf", "owner/repo:Q4_K_M", optionally "owner/repo@revision...".
struct ModelRef {
  std::string repo, revision = "main", selector;
};
bool looks_like_repo_id(const std::string& spec);
ModelRef parse_model_ref(const std::string& spec);  // throws Error on a malformed id

struct Progress {
  std::function<void(const std::string& file, int64_t done, int64_t total)> on_bytes;
};

// Downloads what `ref` needs (a model directory's files, or one GGUF file) unless cached, and
// returns the local path: the snapshot folder, or the GGUF file in it.
std::string download_model(const ModelRef& ref, const HubConfig& config, const Progress& progress = {});

// The files of `ref` that a model needs, chosen from a repo listing (exposed for tests).
std::vector<std::string> select_files(const ModelRef& ref, const std::vector<std::string>& repo_files);

struct CachedModel {
  std::string repo;
  int64_t bytes = 0;
  std::string snapshot;  // newest snapshot folder
};
std::vector<CachedModel> list_cached(const HubConfig& config);

}  // namespace qwenrt::hub
