#include "auction/shared_arrays.h"

#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace attex::auction {
namespace {

using Chunked = ChunkedArray<int>;

std::vector<int> Iota(size_t n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(ChunkedArrayTest, ReadsAsTheVectorItWasMadeFrom) {
  const std::vector<int> v = Iota(3 * Chunked::kChunk + 5);
  const Chunked a(v);
  ASSERT_EQ(a.size(), v.size());
  EXPECT_EQ(a.chunks(), 4u);
  EXPECT_EQ(a.chunk(3).size(), 5u);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(a[i], v[i]);
  EXPECT_EQ(std::vector<int>(a.begin(), a.end()), v);
}

TEST(ChunkedArrayTest, AWriteToACopyCopiesOnlyItsChunkAndLeavesTheSourceAlone) {
  const Chunked source(Iota(3 * Chunked::kChunk));
  Chunked copy = source;
  copy.Mutable(Chunked::kChunk + 7) = -1;
  copy.Mutable(Chunked::kChunk + 8) = -2;  // Its chunk is the copy's own by now.
  EXPECT_EQ(source[Chunked::kChunk + 7], static_cast<int>(Chunked::kChunk) + 7);
  EXPECT_EQ(copy[Chunked::kChunk + 7], -1);
  EXPECT_EQ(copy[Chunked::kChunk + 8], -2);
  EXPECT_TRUE(copy.SharesChunk(source, 0));
  EXPECT_FALSE(copy.SharesChunk(source, 1));
  EXPECT_TRUE(copy.SharesChunk(source, 2));
  EXPECT_FALSE(copy == source);
  copy.Mutable(Chunked::kChunk + 7) = static_cast<int>(Chunked::kChunk) + 7;
  copy.Mutable(Chunked::kChunk + 8) = static_cast<int>(Chunked::kChunk) + 8;
  EXPECT_TRUE(copy == source);  // Equal by value, though no longer sharing chunk 1.
}

TEST(ChunkedArrayTest, ChunkDataFollowsTheChunksACopyWrites) {
  const Chunked source(Iota(2 * Chunked::kChunk + 5));
  Chunked copy = source;
  copy.Mutable(2 * Chunked::kChunk + 1) = -1;
  ASSERT_EQ(copy.chunk_data().size(), 3u);
  for (size_t k = 0; k < copy.chunks(); ++k) {
    EXPECT_EQ(copy.chunk_data()[k], copy.chunk(k).data());
    EXPECT_EQ(source.chunk_data()[k], source.chunk(k).data());
  }
  EXPECT_NE(copy.chunk_data()[2], source.chunk_data()[2]);
  EXPECT_EQ(copy.chunk_data()[2][1], -1);
  EXPECT_EQ(source.chunk_data()[2][1], static_cast<int>(2 * Chunked::kChunk) + 1);
}

TEST(SharedArrayTest, CopiesShareTheElements) {
  const SharedArray<int> a(Iota(10));
  const SharedArray<int> b = a;
  EXPECT_TRUE(b.SharesWith(a));
  EXPECT_EQ(b.data(), a.data());
  const SharedArray<int> c(Iota(10));
  EXPECT_FALSE(c.SharesWith(a));
  EXPECT_TRUE(c == a);
  EXPECT_TRUE(SharedArray<int>().empty());
}

}  // namespace
}  // namespace attex::auction
