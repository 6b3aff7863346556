#include "client/load/clock.h"

#include <chrono>

namespace attex::load {
namespace {

class Steady final : public Clock {
 public:
  int64_t NowNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const Clock& SteadyClock() {
  static const Steady* const clock = new Steady;  // Never destroyed: safe during exit.
  return *clock;
}

}  // namespace attex::load
