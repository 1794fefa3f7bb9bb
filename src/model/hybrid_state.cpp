#include "model/hybrid_state.h"

#include "base/error.h"
#include "base/strings.h"

#include <set>

namespace qwenrt {

HybridState::HybridState(const KvCache::Config& kv_config, const RecurrentState::Config& recurrent_config, size_t max_bytes,
                         const KvCache::Config* mtp_kv_config)
    : kv(kv_config), recurrent(recurrent_config), max_bytes_(max_bytes) {
  if (mtp_kv_config) mtp_kv = std::make_unique<KvCache>(*mtp_kv_config);
}

void HybridState::truncate(int seq, int64_t len) {
  const int64_t current = length(seq);
  if (len >= current) return;
  if (len > 0 && recurrent.n_layers() > 0) {
    fail("cannot rewind sequence {} from {} to {} tokens: linear-attention state only moves forward", seq, current, len);
  }
  kv.truncate(seq, len);
  if (mtp_kv) mtp_kv->truncate(seq, std::max<int64_t>(len - 1, 0));
  if (len == 0) recurrent.release(seq);
}

size_t HybridState::bytes_in_use() const {
  return kv.bytes_in_use() + recurrent.bytes_in_use() + (mtp_kv ? mtp_kv->bytes_in_use() : 0);
}

std::vector<int64_t> HybridState::prepare(const Batch& batch) {
  std::set<int> fresh;
  for (int32_t s : batch.seq_ids) {
    if (recurrent.n_layers() > 0 && !recurrent.has(s)) fresh.insert(s);
  }
  const size_t recurrent_needed = fresh.size() * recurrent.bytes_per_sequence();
  const size_t other = recurrent.bytes_in_use() + recurrent_needed + (mtp_kv ? mtp_kv->bytes_in_use() : 0);
  if (max_bytes_ && other > max_bytes_) {
    fail("cache memory full: {} of recurrent state needed, budget {} ({} in use)",
         format_bytes(static_cast<double>(recurrent_needed)), format_bytes(static_cast<double>(max_bytes_)),
         format_bytes(static_cast<double>(bytes_in_use())));
  }
  std::vector<int64_t> slots = kv.append(batch, max_bytes_ ? max_bytes_ - other : 0, max_bytes_ != 0);
  for (int s : fresh) recurrent.ensure(s);
  return slots;
}

}  // namespace qwenrt
