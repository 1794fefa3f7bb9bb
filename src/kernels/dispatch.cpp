#include "base/cpu_features.h"
#include "base/error.h"
#include "base/log.h"
#include "kernels/kernels.h"

#include <cstdlib>
#include <cstring>

namespace qwenrt::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx512Vnni:
      return "avx512-vnni";
  }
  return "?";
}

size_t act_row_bytes(ActFormat format, int64_t k) {
  switch (format) {
    case ActFormat::F32:
      return static_cast<size_t>(k) * sizeof(float);
    case ActFormat::Q8:
      QW_CHECK(k % kQ8ActBlockElems == 0);
      return static_cast<size_t>(k / kQ8ActBlockElems) * sizeof(BlockQ8Act);
    case ActFormat::Q8K:
      QW_CHECK(k % kQ8KBlockElems == 0);
      return static_cast<size_t>(k / kQ8KBlockElems) * sizeof(BlockQ8K);
    case ActFormat::Q8Sum:
      QW_CHECK(k % kQ8ActBlockElems == 0);
      return static_cast<size_t>(k / kQ8ActBlockElems) * (sizeof(BlockQ8Act) + sizeof(int32_t));
  }
  return 0;
}

void quantize_act_row(const KernelTable& kt, ActFormat format, const float* x, std::byte* out, int64_t k) {
  switch (format) {
    case ActFormat::F32:
      std::memcpy(out, x, static_cast<size_t>(k) * sizeof(float));
      return;
    case ActFormat::Q8K:
      kt.quantize_q8k_act(x, reinterpret_cast<BlockQ8K*>(out), k);
      return;
    case ActFormat::Q8:
    case ActFormat::Q8Sum: {
      auto* blocks = reinterpret_cast<BlockQ8Act*>(out);
      kt.quantize_q8_act(x, blocks, k);
      if (format == ActFormat::Q8) return;
      const int64_t nb = k / kQ8ActBlockElems;
      std::byte* sums = out + static_cast<size_t>(nb) * sizeof(BlockQ8Act);
      for (int64_t b = 0; b < nb; ++b) {
        int32_t sum = 0;
        for (int8_t q : blocks[b].qs) sum += q;
        const int32_t offset = -128 * sum;
        std::memcpy(sums + static_cast<size_t>(b) * sizeof(int32_t), &offset, sizeof(int32_t));
      }
      return;
    }
  }
}

const KernelTable* kernel_table_for(Isa isa) {
  const CpuFeatures& cpu = cpu_features();
  switch (isa) {
    case Isa::Scalar:
      return &scalar_kernels();
    case Isa::Avx2:
      return cpu.has_avx2_level() ? &avx2_kernels() : nullptr;
    case Isa::Avx512:
      return cpu.has_avx512_level() ? &avx512_kernels() : nullptr;
    case Isa::Avx512Vnni:
      return cpu.has_avx512_vnni_level() ? &avx512_vnni_kernels() : nullptr;
  }
  return nullptr;
}

namespace {

const KernelTable& choose() {
  if (const char* env = std::getenv("QWENRT_ISA")) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni}) {
      if (std::strcmp(env, isa_name(isa)) != 0) continue;
      if (const KernelTable* t = kernel_table_for(isa)) return *t;
      log_warn("QWENRT_ISA={} is not supported by this CPU; choosing automatically", env);
    }
  }
  for (Isa isa : {Isa::Avx512Vnni, Isa::Avx512, Isa::Avx2}) {
    if (const KernelTable* t = kernel_table_for(isa)) return *t;
  }
  return scalar_kernels();
}

}  // namespace

const KernelTable& kernel_table() {
  static const KernelTable& table = choose();
  return table;
}

}  // namespace qwenrt::kernels
