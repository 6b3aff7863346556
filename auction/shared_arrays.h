// Arrays that catalogue versions share (auction/catalog.h): SharedArray, one
// immutable block shared whole, for what a version of the catalogue rarely
// changes (the ad layout); ChunkedArray, fixed-size chunks shared one by
// one, for what every version changes a little (per-campaign entries), so
// that a new version copies the chunks it changes, not the array.
#ifndef ATTEX_AUCTION_SHARED_ARRAYS_H_
#define ATTEX_AUCTION_SHARED_ARRAYS_H_

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "absl/types/span.h"

namespace attex::auction {

// An immutable array shared by the copies of it: copying one costs a
// pointer. Reads as a const std::vector. Thread-safe.
template <typename T>
class SharedArray final {
 public:
  SharedArray() = default;
  explicit SharedArray(std::vector<T> v)
      : data_(std::make_shared<const std::vector<T>>(std::move(v))) {}

  size_t size() const { return vec().size(); }
  bool empty() const { return vec().empty(); }
  const T& operator[](size_t i) const { return vec()[i]; }
  const T* data() const { return vec().data(); }
  auto begin() const { return vec().begin(); }
  auto end() const { return vec().end(); }
  const std::vector<T>& vec() const { return data_ != nullptr ? *data_ : Empty(); }
  operator absl::Span<const T>() const { return vec(); }  // NOLINT: reads as the vector.
  // Whether `other` is a copy of this one (the same elements in memory).
  bool SharesWith(const SharedArray& other) const { return data_ == other.data_; }
  friend bool operator==(const SharedArray& a, const SharedArray& b) { return a.vec() == b.vec(); }

 private:
  static const std::vector<T>& Empty() {
    static const std::vector<T> empty;
    return empty;
  }
  std::shared_ptr<const std::vector<T>> data_;
};

// An array of kChunk-element chunks, each shared by the copies of the array
// until one of them changes an element of it (Mutable copies that chunk
// first). Copying the array costs size() / kChunk pointers. Reads are
// thread-safe; Mutable is for the one writer of a copy no reader sees yet.
template <typename T>
class ChunkedArray final {
 public:
  static constexpr int kShift = 10;
  static constexpr size_t kChunk = size_t{1} << kShift;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    Iterator() = default;
    Iterator(const ChunkedArray* a, size_t i) : a_(a), i_(i) {}
    const T& operator*() const { return (*a_)[i_]; }
    const T* operator->() const { return &(*a_)[i_]; }
    Iterator& operator++() { return ++i_, *this; }
    Iterator operator++(int) { return Iterator(a_, i_++); }
    friend bool operator==(const Iterator& x, const Iterator& y) { return x.i_ == y.i_; }

   private:
    const ChunkedArray* a_ = nullptr;
    size_t i_ = 0;
  };

  ChunkedArray() = default;
  explicit ChunkedArray(std::vector<T> items) : size_(items.size()) {
    for (size_t begin = 0; begin < size_; begin += kChunk) {
      const size_t end = std::min(size_, begin + kChunk);
      chunks_.push_back(
          std::make_shared<std::vector<T>>(std::make_move_iterator(items.begin() + begin),
                                           std::make_move_iterator(items.begin() + end)));
      data_.push_back(chunks_.back()->data());
    }
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return (*chunks_[i >> kShift])[i & (kChunk - 1)]; }
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size_); }
  // Chunk k: elements k x kChunk on, kChunk of them (fewer in the last).
  size_t chunks() const { return chunks_.size(); }
  absl::Span<const T> chunk(size_t k) const { return *chunks_[k]; }
  // Each chunk's first element, in order: for readers that index chunk by
  // chunk themselves (the attention pass reads the per-ad values so).
  absl::Span<const T* const> chunk_data() const { return data_; }

  // Element i, writable: its chunk is copied first unless this array is
  // its only holder.
  T& Mutable(size_t i) {
    auto& chunk = chunks_[i >> kShift];
    if (chunk.use_count() > 1) {
      chunk = std::make_shared<std::vector<T>>(*chunk);
      data_[i >> kShift] = chunk->data();
    }
    return (*chunk)[i & (kChunk - 1)];
  }
  // Whether chunk k is held by `other` too.
  bool SharesChunk(const ChunkedArray& other, size_t k) const {
    return k < chunks_.size() && k < other.chunks_.size() && chunks_[k] == other.chunks_[k];
  }

  friend bool operator==(const ChunkedArray& a, const ChunkedArray& b) {
    if (a.size_ != b.size_) return false;
    for (size_t k = 0; k < a.chunks_.size(); ++k) {
      if (a.chunks_[k] != b.chunks_[k] && *a.chunks_[k] != *b.chunks_[k]) return false;
    }
    return true;
  }

 private:
  size_t size_ = 0;
  // Never null; shared chunks are never written (Mutable copies them).
  std::vector<std::shared_ptr<std::vector<T>>> chunks_;
  std::vector<const T*> data_;  // chunks_[k]->data() for each k.
};

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_SHARED_ARRAYS_H_
