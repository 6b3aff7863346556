// Counts heap allocations in a test binary, to prove that a hot path
// allocates nothing once warm: interposes glibc's malloc family (which
// operator new and Eigen both reach) with counting wrappers. Include it from
// exactly one file of a test binary. Under AddressSanitizer (which owns
// malloc) nothing is counted and ATTEX_COUNT_ALLOCATIONS stays undefined:
// tests then skip.
#ifndef ATTEX_TESTS_TESTING_ALLOCATION_COUNTER_H_
#define ATTEX_TESTS_TESTING_ALLOCATION_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define ATTEX_COUNT_ALLOCATIONS 1

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);

void* malloc(size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
void* realloc(void* ptr, size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(ptr, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
}  // extern "C"
#endif

namespace attex::testing {

// Allocations so far (0 when not counting).
inline int64_t Allocations() {
#ifdef ATTEX_COUNT_ALLOCATIONS
  return g_allocations.load();
#else
  return 0;
#endif
}

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_ALLOCATION_COUNTER_H_
