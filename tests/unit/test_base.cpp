#include "base/sha256.h"
#include "base/error.h"
#include "base/scratch.h"
#include "base/strings.h"
#include "threading/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace qwenrt {
namespace {

TEST(Strings, ParseIntList) {
  EXPECT_EQ(parse_int_list("1,2, 3", "x"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(parse_int_list(" -5 ", "x"), (std::vector<int64_t>{-5}));
  EXPECT_TRUE(parse_int_list("", "x").empty());
  EXPECT_THROW(parse_int_list("1,,2", "x"), Error);
  EXPECT_THROW(parse_int_list("1;2", "x"), Error);
  EXPECT_THROW(parse_int_list("abc", "x"), Error);
  EXPECT_THROW(parse_int_list("99999999999999999999", "x"), Error);
  try {
    parse_int_list("1,a", "--tokens");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--tokens"), std::string::npos);
  }
}

TEST(Strings, ParseByteSize) {
  EXPECT_EQ(parse_byte_size("4GiB", "x"), 4ull << 30);
  EXPECT_EQ(parse_byte_size("512 MiB", "x"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("1.5GB", "x"), 1500000000ull);
  EXPECT_EQ(parse_byte_size("2k", "x"), 2048ull);
  EXPECT_EQ(parse_byte_size("100000", "x"), 100000ull);
  EXPECT_EQ(parse_byte_size("16kb", "x"), 16000ull);
  EXPECT_THROW(parse_byte_size("", "x"), Error);
  EXPECT_THROW(parse_byte_size("GiB", "x"), Error);
  EXPECT_THROW(parse_byte_size("4 parsecs", "x"), Error);
  EXPECT_THROW(parse_byte_size("1.2.3G", "x"), Error);
  EXPECT_THROW(parse_byte_size("-4GiB", "x"), Error);
  EXPECT_THROW(parse_byte_size("99999999999TiB", "x"), Error);
  try {
    parse_byte_size("lots", "--kv-cache-memory");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-cache-memory"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("lots"), std::string::npos);
  }
}

TEST(Strings, FormatBytesAndCounts) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(3.0 * 1024 * 1024 * 1024), "3.00 GiB");
  EXPECT_EQ(format_count(596049920), "596.05M");
  EXPECT_EQ(format_count(999), "999");
}

TEST(ThreadPool, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> bad_thread{0};
      pool.run(n, [&](int64_t task, int thread) {
        hits[static_cast<size_t>(task)]++;
        if (thread < 0 || thread >= pool.size()) bad_thread++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      EXPECT_EQ(bad_thread.load(), 0);
    }
  }
}

TEST(ThreadPool, ParallelForCoversRangeWithoutOverlap) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 200; ++rep) {  // many short jobs: the decode-step pattern
    const int64_t n = 1 + rep * 7;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(n, 4, [&](int64_t b, int64_t e, int) {
      ASSERT_LT(b, e);
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, DefaultSizeIsAtLeastOne) {
  EXPECT_GE(ThreadPool::default_threads(), 1);
  ThreadPool pool;
  EXPECT_EQ(pool.size(), ThreadPool::default_threads());
}

}  // namespace
}  // namespace qwenrt

namespace qwenrt {
namespace {

// A released buffer is handed out again (smallest fit first), a larger request gets a new one, and
// each thread keeps its own.
TEST(Scratch, ReusesReleasedBuffersPerThread) {
  std::byte* big_at = nullptr;
  std::byte* small_at = nullptr;
  {
    ScratchBytes big(1 << 20), small(1000);
    big_at = big.data();
    small_at = small.data();
    EXPECT_NE(big_at, small_at);
    big.data()[(1 << 20) - 1] = std::byte{7};  // the whole size is writable (ASan checks it)
  }
  {
    ScratchBytes a(500);  // the smallest buffer that fits: the 1000-byte one
    EXPECT_EQ(a.data(), small_at);
    ScratchBytes b(4096);
    EXPECT_EQ(b.data(), big_at);
    ScratchBytes c(2 << 20);  // nothing kept is large enough
    EXPECT_NE(c.data(), big_at);
    EXPECT_NE(c.data(), small_at);
    EXPECT_EQ(c.size(), size_t{2} << 20);
  }
  std::byte* other = nullptr;
  std::thread([&] {
    ScratchBytes mine(500);
    other = mine.data();
  }).join();
  EXPECT_NE(other, small_at);  // another thread's list starts empty
  Scratch<float> floats(300);
  EXPECT_EQ(floats.size(), 300u);
  EXPECT_EQ(reinterpret_cast<std::byte*>(floats.data()), big_at);  // 1200 bytes: the 1000 no longer fit
}

TEST(Sha256, MatchesTheFipsTestVectors) {
  auto hash = [](std::string_view s) {
    Sha256 h;
    h.update(s);
    return h.hex_digest();
  };
  EXPECT_EQ(hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a's, fed in uneven pieces to cross block boundaries.
  Sha256 h;
  const std::string piece(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = std::min(left, piece.size());
    h.update(piece.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace qwenrt
