// qwenrt quantize IN OUT --type T: any model qwenrt loads -> a GGUF file llama.cpp loads.
#include "api/gguf_export.h"
#include "base/error.h"
#include "base/strings.h"
#include "base/timer.h"
#include "cli/commands.h"
#include "cli/options.h"

#include <iostream>
#include <map>

namespace qwenrt::cli {

Run add_quantize(CLI::App& app) {
  struct Opts {
    std::string in, out, type = "Q8_0", tokenizer;
    int threads = 0;
    bool quiet = false, pure = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("input", o->in,
                 "Source model: a Hugging Face directory, a .gguf file, or synthetic:NAME[:LAYERS] (random weights of a "
                 "real shape, as `bench --synthetic`)")
      ->required();
  app.add_option("--tokenizer", o->tokenizer, "Directory with tokenizer.json to take the vocabulary from (synthetic input)");
  app.add_option("output", o->out, "GGUF file to write")->required();
  app.add_option("--type", o->type,
                 "File type, as llama-quantize names them: " + file_type_list() +
                     " (Q4_K and Q5_K mean Q4_K_M and Q5_K_M). Q4_0 and the K types take llama-quantize's mix: the "
                     "output head in Q6_K and, in the _M mixes, some layers' attn_v and ffn_down too")
      ->capture_default_str();
  app.add_flag("--pure", o->pure, "Every quantizable matrix in the file type's base type, no mix (llama-quantize --pure)");
  app.add_option("-t,--threads", o->threads, "Threads")->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return [o] {
    const auto type = file_type_from_name(o->type);
    if (!type) fail("--type: '{}' is not a file type qwenrt writes ({})", o->type, file_type_list());
    Timer timer;
    std::unique_ptr<Runtime> rt;
    if (o->in.starts_with("synthetic:")) {
      // synthetic:NAME[:LAYERS], weights drawn in F32 and converted like any source.
      std::string spec = o->in.substr(10);
      int layers = 0;
      if (const size_t colon = spec.find(':'); colon != std::string::npos) {
        const auto n = parse_int_list(spec.substr(colon + 1), "synthetic layer count");
        if (n.size() != 1 || n[0] < 1 || n[0] > 4096) fail("{}: the layer count must be a positive integer", o->in);
        layers = static_cast<int>(n[0]);
        spec = spec.substr(0, colon);
      }
      rt = Runtime::synthetic(spec, DType::F32, layers, 1234, RuntimeOptions{o->threads});
    } else {
      rt = Runtime::load(o->in, RuntimeOptions{o->threads, LoadMode::Map});  // each weight is read once
    }
    const ExportReport r = export_gguf(rt->model(), o->out, *type, o->pure, rt->pool(), o->tokenizer);
    if (!o->quiet) {
      std::map<std::string, int> counts;
      for (const auto& [name, t] : r.types) counts[std::string(dtype_name(t))]++;
      std::string summary;
      for (const auto& [t, n] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, t);
      std::cout << fmt::format("wrote {}: {} tensors ({}), {} of tensor data, in {:.2f} s\n", o->out, r.n_tensors, summary,
                               format_bytes(static_cast<double>(r.bytes)), timer.seconds());
    }
    return 0;
  };
}

}  // namespace qwenrt::cli
