// Waiting for a condition that the code under test exposes but does not
// signal (a status it reports, a file it writes), in tests. Where the code
// can signal (a callback, a counter under a mutex), wait on that instead:
// absl::Notification, absl::Mutex::Await.
#ifndef ATTEX_TESTS_TESTING_POLL_H_
#define ATTEX_TESTS_TESTING_POLL_H_

#include <functional>

#include "absl/time/time.h"

namespace attex::testing {

// Calls `condition` until it returns true, at most `tries` times with
// `interval` between calls (the first call is at once). True as soon as it
// holds; false if it never did. The bound is a guard against a hang, not a
// claim about how long the condition takes.
bool PollUntil(const std::function<bool()>& condition, int tries = 300,
               absl::Duration interval = absl::Milliseconds(100));

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_POLL_H_
