#pragma once
// CPU feature detection (cpuid + xgetbv), done once at start-up to pick kernels.
#include <string>

namespace qwenrt {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;

  // The levels our kernel variants are compiled for.
  bool has_avx2_level() const { return avx2 && fma && f16c; }
  bool has_avx512_level() const { return has_avx2_level() && avx512f && avx512bw && avx512vl && avx512dq; }
  bool has_avx512_vnni_level() const { return has_avx512_level() && avx512vnni; }

  std::string describe() const;
};

// Detected once; immutable afterwards.
const CpuFeatures& cpu_features();

}  // namespace qwenrt
