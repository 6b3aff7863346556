#include "tests/testing/poll.h"

#include "absl/time/clock.h"

namespace attex::testing {

bool PollUntil(const std::function<bool()>& condition, int tries, absl::Duration interval) {
  for (int i = 0; i < tries; ++i) {
    if (i > 0) absl::SleepFor(interval);
    if (condition()) return true;
  }
  return false;
}

}  // namespace attex::testing
