#pragma once
// The HTTP the hub client needs, over libcurl: HEAD without following redirects (the hub's
// metadata lives on the first response), GET following them, streaming into a sink, resuming
// with Range.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace qwenrt::hub {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; of the last response
  std::string body;                            // when no sink was given
  std::string header(const std::string& name) const;
};

struct HttpRequest {
  std::string method = "GET";  // GET or HEAD
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool follow_redirects = true;
  int64_t range_from = -1;  // >= 0: ask for the bytes from here on
  // Receives the body; return false to abort.
  std::function<bool(const char*, size_t)> sink;
  // Called as bytes arrive: (received so far in this request, expected in this request or 0).
  std::function<void(int64_t, int64_t)> progress;
};

// Throws Error on a transport failure (connection refused, dropped, timeout); HTTP error
// statuses come back as responses.
HttpResponse http_request(const HttpRequest& request);

}  // namespace qwenrt::hub
