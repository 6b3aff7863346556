// Monotonic time for the load tester, in nanoseconds from an arbitrary
// epoch: the seam that lets tests record calls at times they choose.
#ifndef ATTEX_CLIENT_LOAD_CLOCK_H_
#define ATTEX_CLIENT_LOAD_CLOCK_H_

#include <cstdint>

namespace attex::load {

class Clock {
 public:
  virtual ~Clock() = default;
  // Never decreases. Thread-safe.
  virtual int64_t NowNs() const = 0;
};

// std::chrono::steady_clock: what attex-load runs on. Lives as long as the
// process.
const Clock& SteadyClock();

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_CLOCK_H_
