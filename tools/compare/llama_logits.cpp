// llama.cpp's logits for a token list, for comparing quantization error with qwenrt's (docs/performance.md).
// Compiled against a llama.cpp you build yourself, outside this repository:
//   g++ -O2 -std=c++17 tools/compare/llama_logits.cpp -I LLAMA/include -I LLAMA/ggml/include -L LLAMA/build/bin -lllama -lggml -lggml-base -o llama_logits
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <sstream>
int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "usage: model tokens_csv out.f32\n"); return 1; }
  std::vector<llama_token> toks;
  std::stringstream ss(argv[2]); std::string item;
  while (std::getline(ss, item, ',')) toks.push_back(std::stoi(item));
  llama_backend_init();
  auto mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  auto cp = llama_context_default_params();
  cp.n_ctx = toks.size() + 8; cp.n_batch = toks.size(); cp.n_ubatch = toks.size(); cp.n_threads = 2; cp.n_threads_batch = 2;
  llama_context* ctx = llama_init_from_model(model, cp);
  llama_batch b = llama_batch_init(toks.size(), 0, 1);
  for (size_t i = 0; i < toks.size(); ++i) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
  b.n_tokens = toks.size();
  if (llama_decode(ctx, b)) { fprintf(stderr, "decode failed\n"); return 1; }
  const int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
  FILE* f = fopen(argv[3], "wb");
  for (size_t i = 0; i < toks.size(); ++i) fwrite(llama_get_logits_ith(ctx, i), sizeof(float), nv, f);
  fclose(f);
  printf("%zu x %d\n", toks.size(), nv);
  return 0;
}
