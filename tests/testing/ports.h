// Free loopback ports for the servers tests start (PostgreSQL, Redis,
// HAProxy, attex-server replicas on fixed ports).
#ifndef ATTEX_TESTS_TESTING_PORTS_H_
#define ATTEX_TESTS_TESTING_PORTS_H_

#include "absl/status/statusor.h"

namespace attex::testing {

// A port free on 127.0.0.1 now (the kernel's pick for port 0). Another
// process may take it before the caller binds it.
absl::StatusOr<int> FreeLoopbackPort();

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_PORTS_H_
