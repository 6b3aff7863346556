// Billing events, group-committed: ReportEvents adds its verified events to
// the open batch on the work queue (store/work_queue.h); the queue's
// after-batch hook commits the whole batch to the store in ONE transaction
// (one fsync), then settles reservations and charges budgets; only then are
// the callers answered. Also releases reservations whose tokens expired.
#ifndef ATTEX_BILLING_BILLING_BATCH_H_
#define ATTEX_BILLING_BILLING_BATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attex/v1/exchange.pb.h"
#include "auction/billing_token.h"
#include "auction/budget.h"
#include "auction/revenue_split.h"
#include "store/store.h"

namespace attex::billing {

// What a batch reads and writes; none of it is owned, all of it outlives
// the batch.
struct BillingContext {
  store::Store* store = nullptr;
  const auction::TokenSigner* signer = nullptr;
  auction::SplitConfig split;
  auction::ReservationBook* reservations = nullptr;
  // A campaign's budget state (limits and spend), by id. Never null.
  std::function<std::shared_ptr<auction::BudgetState>(const std::string& campaign_id)> budget;
  // Called for each accepted billed impression and each accepted click,
  // with the placement's nonce (the training log); may be empty.
  std::function<void(attex::v1::EventType type, uint64_t nonce, int64_t now_ms)> accepted;
};

// Who reports an event: a platform may report only its own tokens; an
// operator any.
struct Reporter {
  std::string platform_id;
  bool is_operator = false;
};

// What one Commit did, for metrics.
struct CommitSummary {
  int64_t events = 0;         // Written to the store in the commit (0: no commit).
  absl::Duration latency;     // Of the store's transaction.
  int64_t accepted = 0;       // Events answered EVENT_RESULT_ACCEPTED.
  int64_t billed_micros = 0;  // Spend charged by the accepted impressions.
};

// Used only on the work queue's thread (or, in tests, by one thread while
// the queue is idle).
class BillingBatch final {
 public:
  explicit BillingBatch(BillingContext context) : context_(std::move(context)) {}

  // Verifies `event` (token, platform, expiry). Events that need no write
  // are answered in *outcome at once; the rest are queued, and *outcome is
  // filled by the next Commit. A failure to record sets *status (shared by
  // the events of one call) to UNAVAILABLE. outcome and status must stay
  // valid until Commit. max_price_cpm_micros >= 0 bills an impression at
  // that CPM when it is below the token's price (the platform's clearing
  // price, from an OpenRTB billing notice); never above the token's.
  void Add(const Reporter& reporter, const attex::v1::Event& event, int64_t now_ms,
           attex::v1::EventOutcome* outcome, std::shared_ptr<absl::Status> status,
           int64_t max_price_cpm_micros = -1);
  // Records every queued event in one store transaction, settles their
  // reservations, charges budgets; then releases expired reservations.
  CommitSummary Commit(int64_t now_ms);
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    store::BillingEvent record;
    attex::v1::EventOutcome* outcome = nullptr;
    std::shared_ptr<absl::Status> status;
    uint64_t nonce = 0;
    bool billed = false;  // An impression with a price, not a test.
    std::shared_ptr<auction::BudgetState> budget;
  };
  BillingContext context_;
  std::vector<Pending> pending_;
  std::vector<store::BillingEvent> records_;  // Reused.
};

}  // namespace attex::billing

#endif  // ATTEX_BILLING_BILLING_BATCH_H_
