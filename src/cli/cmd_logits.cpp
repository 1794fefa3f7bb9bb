// qwenrt logits: every position's logits as little-endian float32, row-major [n_tokens x vocab].
#include "base/error.h"
#include "cli/commands.h"
#include "cli/options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

namespace qwenrt::cli {
namespace {

// Writes each named activation to DIR/NAME[-LAYER].f32 (rows appended across forward passes)
// and lists them in DIR/index.tsv.
class DumpTracer final : public Tracer {
 public:
  explicit DumpTracer(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    index_ = std::fopen((dir_ + "/index.tsv").c_str(), "w");
    if (!index_) fail("{}: cannot write index.tsv: {}", dir_, std::strerror(errno));
    std::fprintf(index_, "file\tname\tlayer\trows\tcols\n");
  }
  ~DumpTracer() override {
    for (auto& [name, f] : files_) std::fclose(f);
    std::fclose(index_);
  }
  void tensor(std::string_view name, int layer, const float* data, int64_t rows, int64_t cols) override {
    const std::string file = layer < 0 ? fmt::format("{}.f32", name) : fmt::format("{}-{:02d}.f32", name, layer);
    FILE*& f = files_[file];
    if (!f) f = std::fopen((dir_ + "/" + file).c_str(), "wb");
    if (!f) fail("{}/{}: cannot write: {}", dir_, file, std::strerror(errno));
    std::fwrite(data, sizeof(float), static_cast<size_t>(rows * cols), f);
    std::fprintf(index_, "%s\t%.*s\t%d\t%lld\t%lld\n", file.c_str(), static_cast<int>(name.size()), name.data(), layer,
                 static_cast<long long>(rows), static_cast<long long>(cols));
  }

 private:
  std::string dir_;
  FILE* index_ = nullptr;
  std::map<std::string, FILE*> files_;
};

}  // namespace

Run add_logits(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    std::string tokens, out, dump;
    bool incremental = false;
    bool mtp = false;
  };
  auto o = std::make_shared<Opts>();
  o->model.add(app);
  app.add_option("--tokens", o->tokens, "Comma-separated token ids")->required();
  app.add_option("-o,--out", o->out, "Output file (float32, [n_tokens x vocab])")->required();
  app.add_flag("--incremental", o->incremental, "Feed the tokens one at a time through the cache");
  app.add_option("--dump", o->dump, "Also write every named activation to this directory");
  app.add_flag("--mtp", o->mtp,
               "Write the multi-token-prediction head's logits instead, [n_tokens - 1 x vocab]: row j predicts token j + 2 "
               "from the trunk's hidden state at j and token j + 1");
  return [o] {
    const std::vector<int32_t> tokens = parse_tokens(o->tokens);
    if (tokens.empty()) fail("--tokens: at least one token id is needed");
    auto rt = Runtime::load(o->model.model, o->model.runtime());
    std::unique_ptr<DumpTracer> tracer;
    if (!o->dump.empty()) {
      tracer = std::make_unique<DumpTracer>(o->dump);
      rt->set_tracer(tracer.get());
    }
    const Model& model = rt->model();
    auto state = model.new_state({0, o->model.kv_dtype()});
    ForwardOutput fwd;
    std::vector<float> logits;
    Batch batch;
    if (o->mtp) {
      if (!model.has_mtp()) fail("{}: --mtp: this model has no multi-token-prediction layer", o->model.model);
      if (o->incremental) fail("--mtp and --incremental cannot be combined");
      if (tokens.size() < 2) fail("--mtp needs at least two tokens");
      for (size_t i = 0; i < tokens.size(); ++i) batch.add(tokens[i], static_cast<int32_t>(i), 0, true);
      fwd.return_hidden = true;
      model.forward(batch, *state, fwd, rt->context());
      Batch entries;
      for (size_t j = 0; j + 1 < tokens.size(); ++j) entries.add(tokens[j + 1], static_cast<int32_t>(j), 0, true);
      ForwardOutput mtp_out;
      model.forward_mtp(entries, fwd.hidden.data(), *state, mtp_out, rt->context());
      logits = std::move(mtp_out.logits);
    } else if (o->incremental) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        batch.clear();
        batch.add(tokens[i], static_cast<int32_t>(i), 0, true);
        model.forward(batch, *state, fwd, rt->context());
        logits.insert(logits.end(), fwd.logits.begin(), fwd.logits.end());
      }
    } else {
      for (size_t i = 0; i < tokens.size(); ++i) batch.add(tokens[i], static_cast<int32_t>(i), 0, true);
      model.forward(batch, *state, fwd, rt->context());
      logits = std::move(fwd.logits);
    }
    FILE* f = std::fopen(o->out.c_str(), "wb");
    if (!f) fail("{}: cannot create: {}", o->out, std::strerror(errno));
    const size_t n = std::fwrite(logits.data(), sizeof(float), logits.size(), f);
    if (std::fclose(f) != 0 || n != logits.size()) fail("{}: write failed", o->out);
    return 0;
  };
}

}  // namespace qwenrt::cli
