// Billing events, group-committed: ReportEvents tasks add their verified
// events to the open batch on the work queue; the queue's after-batch hook
// writes the whole batch to the store in ONE transaction (one fsync), then
// settles reservations and charges budgets; only then are the callers
// answered. Also releases reservations whose tokens expired.
#ifndef ATTEX_SERVER_BILLING_H_
#define ATTEX_SERVER_BILLING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "attex/v1/exchange.pb.h"
#include "auction/budget.h"
#include "server/auth.h"
#include "store/store.h"

namespace attex::server {

struct Core;

// Owned by Core; used only on the work queue thread (or, in tests, by one
// thread while the queue is idle).
class BillingBatch final {
 public:
  // Verifies `event` (token, platform, expiry). Events that need no write
  // are answered in *outcome at once; the rest are queued, and *outcome is
  // filled by the next Commit. A failure to record sets *status (shared by
  // the events of one call) to UNAVAILABLE. outcome and status must stay
  // valid until Commit.
  void Add(Core& core, const Caller& caller, const attex::v1::Event& event, int64_t now_ms,
           attex::v1::EventOutcome* outcome, std::shared_ptr<absl::Status> status);
  // Records every queued event in one store transaction, settles their
  // reservations, charges budgets; then releases expired reservations.
  void Commit(Core& core, int64_t now_ms);
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    store::BillingEvent record;
    attex::v1::EventOutcome* outcome;
    std::shared_ptr<absl::Status> status;
    uint64_t nonce = 0;
    bool billed = false;  // An impression with a price, not a test.
    std::shared_ptr<auction::BudgetState> budget;
  };
  std::vector<Pending> pending_;
  std::vector<store::BillingEvent> records_;  // Reused.
  int64_t last_sweep_ms_ = 0;
};

// The work queue's after-batch hook: commits the batch of billing events.
void CommitBilling(Core& core);

}  // namespace attex::server

#endif  // ATTEX_SERVER_BILLING_H_
