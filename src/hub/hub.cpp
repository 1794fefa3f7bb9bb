#include "hub/hub.h"

#include "base/error.h"
#include "base/sha256.h"
#include "hub/http.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

namespace qwenrt::hub {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// ETags come quoted, maybe weak: W/"abc" -> abc.
std::string normalize_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

fs::path repo_folder(const HubConfig& c, const std::string& repo) {
  std::string name = "models--" + repo;
  for (size_t at; (at = name.find('/')) != std::string::npos;) name.replace(at, 1, "--");
  return fs::path(c.cache_dir) / name;
}

std::vector<std::string> auth(const HubConfig& c) {
  if (c.token.empty()) return {};
  return {"Authorization: Bearer " + c.token};
}

void check_status(const HttpResponse& r, const std::string& what, const std::string& url) {
  if (r.status == 401 || r.status == 403) fail("{}: access denied ({}) for {}; set HF_TOKEN for gated or private repos", what, r.status, url);
  if (r.status == 404) fail("{}: not found on the hub ({})", what, url);
  if (r.status >= 400 || r.status == 0) fail("{}: the hub answered HTTP {} for {}", what, r.status, url);
}

struct Listing {
  std::string commit;
  std::vector<std::string> files;
};

Listing list_repo(const ModelRef& ref, const HubConfig& c) {
  const std::string url = c.endpoint + "/api/models/" + ref.repo + "/revision/" + ref.revision;
  HttpRequest req;
  req.url = url;
  req.headers = auth(c);
  const HttpResponse r = http_request(req);
  check_status(r, ref.repo, url);
  Listing l;
  try {
    const auto j = nlohmann::json::parse(r.body);
    l.commit = j.at("sha").get<std::string>();
    for (const auto& s : j.at("siblings")) l.files.push_back(s.at("rfilename").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the hub's file list is not what was expected: {}", url, e.what());
  }
  if (!std::regex_match(l.commit, std::regex("[0-9a-f]{40}"))) fail("{}: '{}' is not a commit hash", url, l.commit);
  return l;
}

// A file name inside a repo must stay inside the snapshot folder.
void check_relative(const std::string& file) {
  const fs::path p(file);
  if (file.empty() || p.is_absolute() || file.find('\\') != std::string::npos) fail("hub: refusing the file name '{}'", file);
  for (const auto& part : p) {
    if (part == ".." || part == ".") fail("hub: refusing the file name '{}'", file);
  }
}

void download_file(const ModelRef& ref, const std::string& commit, const std::string& file, const HubConfig& c,
                   const Progress& progress) {
  check_relative(file);
  const fs::path folder = repo_folder(c, ref.repo);
  const fs::path pointer = folder / "snapshots" / commit / file;
  if (fs::exists(pointer)) return;  // cached (exists() follows the link to the blob)

  const std::string url = c.endpoint + "/" + ref.repo + "/resolve/" + commit + "/" + file;
  HttpRequest head;
  head.method = "HEAD";
  head.url = url;
  head.headers = auth(c);
  head.headers.push_back("Accept-Encoding: identity");
  head.follow_redirects = false;
  const HttpResponse meta = http_request(head);
  if (meta.status >= 400) check_status(meta, ref.repo + "/" + file, url);
  const std::string linked = normalize_etag(meta.header("x-linked-etag"));
  const std::string etag = linked.empty() ? normalize_etag(meta.header("etag")) : linked;
  if (etag.empty() || etag.find('/') != std::string::npos || etag.find("..") != std::string::npos) {
    fail("{}: the hub sent no usable ETag", url);
  }
  const std::string size_text = meta.header(linked.empty() ? "content-length" : "x-linked-size");
  const int64_t size = size_text.empty() ? -1 : std::stoll(size_text);

  const fs::path blob = folder / "blobs" / etag;
  fs::create_directories(blob.parent_path());
  if (!fs::exists(blob)) {
    const fs::path partial = blob.string() + ".incomplete";
    int64_t have = fs::exists(partial) ? static_cast<int64_t>(fs::file_size(partial)) : 0;
    if (size >= 0 && have > size) {
      fs::remove(partial);
      have = 0;
    }
    if (size < 0 || have < size) {
      std::ofstream out(partial, std::ios::binary | std::ios::app);
      if (!out) fail("{}: cannot write", partial.string());
      HttpRequest get;
      get.url = url;
      get.headers = auth(c);
      get.range_from = have > 0 ? have : -1;
      int64_t written = have;
      get.sink = [&](const char* p, size_t n) {
        out.write(p, static_cast<std::streamsize>(n));
        written += static_cast<int64_t>(n);
        return static_cast<bool>(out);
      };
      get.progress = [&](int64_t now, int64_t) {
        if (progress.on_bytes) progress.on_bytes(file, have + now, size);
      };
      HttpResponse r;
      try {
        r = http_request(get);
      } catch (const Error& e) {
        fail("{} (downloaded {} of {} bytes; run again to resume)", e.what(), written, size);
      }
      if (r.status == 200 && have > 0) {  // the server ignored Range: start over
        out.close();
        fs::remove(partial);
        fail("{}: the server does not resume downloads; run again", url);
      }
      if (r.status >= 400) check_status(r, ref.repo + "/" + file, url);
      out.close();
    }
    const int64_t got = static_cast<int64_t>(fs::file_size(partial));
    if (size >= 0 && got != size) {
      fail("{}: got {} bytes of {} (the connection dropped); run again to resume", ref.repo + "/" + file, got, size);
    }
    if (!linked.empty()) {  // LFS files: the ETag is their sha256
      const std::string sum = sha256_file(partial.string());
      if (sum != linked) {
        fs::remove(partial);
        fail("{}: checksum mismatch: sha256 {} but the hub published {}; the download was deleted", ref.repo + "/" + file, sum, linked);
      }
    }
    fs::rename(partial, blob);
  }
  fs::create_directories(pointer.parent_path());
  fs::create_symlink(fs::relative(blob, pointer.parent_path()), pointer);
}

}  // namespace

HubConfig HubConfig::from_env() {
  HubConfig c;
  if (!env("HF_ENDPOINT").empty()) c.endpoint = env("HF_ENDPOINT");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  c.token = env("HF_TOKEN");
  if (!env("HF_HUB_CACHE").empty()) {
    c.cache_dir = env("HF_HUB_CACHE");
  } else if (!env("HF_HOME").empty()) {
    c.cache_dir = (fs::path(env("HF_HOME")) / "hub").string();
  } else {
    const std::string xdg = env("XDG_CACHE_HOME");
    c.cache_dir = ((xdg.empty() ? fs::path(env("HOME")) / ".cache" : fs::path(xdg)) / "huggingface" / "hub").string();
  }
  const std::string off = upper(env("HF_HUB_OFFLINE"));
  c.offline = off == "1" || off == "TRUE" || off == "YES" || off == "ON";
  return c;
}

bool looks_like_repo_id(const std::string& spec) {
  return std::regex_match(spec, std::regex(R"([A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*(@[A-Za-z0-9_.\-/]+)?(:.+)?)"));
}

ModelRef parse_model_ref(const std::string& spec) {
  if (!looks_like_repo_id(spec)) fail("'{}' is not a Hugging Face repo id (owner/name, owner/name:FILE.gguf or owner/name:QUANT)", spec);
  ModelRef r;
  std::string rest = spec;
  if (const size_t colon = rest.find(':'); colon != std::string::npos) {
    r.selector = rest.substr(colon + 1);
    rest.resize(colon);
  }
  if (const size_t at = rest.find('@'); at != std::string::npos) {
    r.revision = rest.substr(at + 1);
    rest.resize(at);
  }
  r.repo = rest;
  if (r.revision.find("..") != std::string::npos || r.repo.find("..") != std::string::npos) fail("'{}': '..' is not allowed in a repo id", spec);
  return r;
}

std::vector<std::string> select_files(const ModelRef& ref, const std::vector<std::string>& files) {
  std::vector<std::string> ggufs;
  for (const std::string& f : files) {
    if (f.size() > 5 && upper(f.substr(f.size() - 5)) == ".GGUF") ggufs.push_back(f);
  }
  std::sort(ggufs.begin(), ggufs.end());
  if (!ref.selector.empty()) {
    if (std::find(files.begin(), files.end(), ref.selector) != files.end()) return {ref.selector};
    std::vector<std::string> match;
    for (const std::string& f : ggufs) {
      if (upper(fs::path(f).filename().string()).find(upper(ref.selector)) != std::string::npos) match.push_back(f);
    }
    if (match.empty()) {
      std::string names;
      for (const std::string& f : ggufs) names += (names.empty() ? "" : ", ") + f;
      fail("{}: no file matches '{}' (GGUF files: {})", ref.repo, ref.selector, names.empty() ? "none" : names);
    }
    return {match.front()};
  }
  const bool has_config = std::find(files.begin(), files.end(), "config.json") != files.end();
  const bool has_safetensors = std::any_of(files.begin(), files.end(), [](const std::string& f) { return f.ends_with(".safetensors"); });
  if (has_config && has_safetensors) {
    std::vector<std::string> out;
    for (const std::string& f : files) {
      const std::string name = fs::path(f).filename().string();
      const bool top = f.find('/') == std::string::npos;
      if (top && (f.ends_with(".safetensors") || f.ends_with(".json") || f == "chat_template.jinja" || f == "merges.txt")) out.push_back(f);
    }
    return out;
  }
  if (ggufs.empty()) fail("{}: neither a model directory (config.json + safetensors) nor GGUF files", ref.repo);
  // The types qwenrt runs, best first; otherwise the first file (its type gets a clear error at load).
  for (const char* tag : {"Q8_0", "BF16", "F16", "F32"}) {
    for (const std::string& f : ggufs) {
      if (upper(f).find(tag) != std::string::npos) return {f};
    }
  }
  return {ggufs.front()};
}

std::string download_model(const ModelRef& ref, const HubConfig& c, const Progress& progress) {
  if (c.cache_dir.empty()) fail("hub: no cache folder (set HF_HOME or HOME)");
  const fs::path folder = repo_folder(c, ref.repo);
  const fs::path ref_file = folder / "refs" / ref.revision;
  auto cached_snapshot = [&]() -> std::string {
    std::string commit = ref.revision;
    if (fs::exists(ref_file)) std::getline(std::ifstream(ref_file), commit);
    const fs::path snap = folder / "snapshots" / commit;
    if (!fs::is_directory(snap)) return "";
    if (ref.selector.empty() && fs::exists(snap / "config.json")) return snap.string();
    std::vector<std::string> present;
    for (const auto& e : fs::recursive_directory_iterator(snap)) present.push_back(fs::relative(e.path(), snap).string());
    try {
      const auto chosen = select_files(ref, present);
      if (chosen.size() == 1 && chosen[0].ends_with(".gguf") && fs::exists(snap / chosen[0])) return (snap / chosen[0]).string();
    } catch (const Error&) {
    }
    return "";
  };
  if (c.offline) {
    const std::string path = cached_snapshot();
    if (path.empty()) fail("{}: not in the cache {} and HF_HUB_OFFLINE is set", ref.repo, c.cache_dir);
    return path;
  }
  Listing listing;
  try {
    listing = list_repo(ref, c);
  } catch (const Error& e) {
    // No network: what is cached still works, as with huggingface_hub.
    const std::string path = cached_snapshot();
    if (!path.empty()) return path;
    throw;
  }
  const std::vector<std::string> files = select_files(ref, listing.files);
  for (const std::string& f : files) download_file(ref, listing.commit, f, c, progress);
  if (ref.revision != listing.commit) {
    fs::create_directories(ref_file.parent_path());
    std::ofstream(ref_file) << listing.commit;
  }
  const fs::path snap = folder / "snapshots" / listing.commit;
  if (files.size() == 1 && files[0].ends_with(".gguf")) return (snap / files[0]).string();
  return snap.string();
}

std::vector<CachedModel> list_cached(const HubConfig& c) {
  std::vector<CachedModel> out;
  if (!fs::is_directory(c.cache_dir)) return out;
  for (const auto& e : fs::directory_iterator(c.cache_dir)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("models--")) continue;
    CachedModel m;
    m.repo = name.substr(8);
    if (const size_t at = m.repo.find("--"); at != std::string::npos) m.repo.replace(at, 2, "/");
    if (fs::is_directory(e.path() / "blobs")) {
      for (const auto& b : fs::directory_iterator(e.path() / "blobs")) {
        if (b.is_regular_file() && !b.path().string().ends_with(".incomplete")) m.bytes += static_cast<int64_t>(b.file_size());
      }
    }
    fs::file_time_type newest{};
    if (fs::is_directory(e.path() / "snapshots")) {
      for (const auto& s : fs::directory_iterator(e.path() / "snapshots")) {
        if (s.last_write_time() >= newest) {
          newest = s.last_write_time();
          m.snapshot = s.path().string();
        }
      }
    }
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) { return a.repo < b.repo; });
  return out;
}

}  // namespace qwenrt::hub
