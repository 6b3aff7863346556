// Demo data for a first look: accounts of every role and a few campaigns,
// seeded by `attex-server --demo` (deploy/quickstart.sh).
#ifndef ATTEX_SERVER_DEMO_H_
#define ATTEX_SERVER_DEMO_H_

#include "absl/status/status.h"
#include "server/core.h"

namespace attex::server {

// Creates demo accounts and campaigns unless <data_dir>/demo-tokens.json
// exists, writing the tokens there. Blocking; before serving.
absl::Status SeedDemo(Core& core);

}  // namespace attex::server

#endif  // ATTEX_SERVER_DEMO_H_
