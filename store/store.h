// Persistence of accounts, campaigns and the double-entry ledger. One
// interface, two implementations: embedded SQLite in WAL mode (one
// machine, the default) and PostgreSQL (a fleet of replicas sharing one
// database).
#ifndef ATTEX_STORE_STORE_H_
#define ATTEX_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attex/v1/campaign.pb.h"
#include "attex/v1/exchange.pb.h"  // EventType
#include "attex/v1/operator.pb.h"

namespace attex::store {

struct AccountRecord {
  std::string id;  // "acc-<n>", assigned by the store.
  attex::v1::Role role = attex::v1::ROLE_UNSPECIFIED;
  std::string name;
  std::string token_hash;  // Hex SHA-256 of the bearer token; never the token.
  int64_t created_at_ms = 0;
  bool revoked = false;
};

// One billing event to record. The ledger entries are given by the caller
// (the auction computes the split); they must sum to zero.
struct LedgerEntry {
  std::string account;        // "advertiser:acc-3", "platform:acc-2", "user:u1", "exchange".
  int64_t amount_micros = 0;  // Credit positive, debit negative.
};

struct BillingEvent {
  std::string token_hash;  // Hex SHA-256 of the billing token: the dedup key.
  attex::v1::EventType type = attex::v1::EVENT_TYPE_UNSPECIFIED;
  std::string event_id;
  std::string campaign_id;
  std::string platform_id;
  int64_t price_micros = 0;          // What the advertiser is charged (0 for clicks).
  int64_t at_ms = 0;                 // When the event was recorded (Unix ms).
  std::vector<LedgerEntry> entries;  // Empty for clicks and test events.
  // The hard cap: with enforce_budget, an impression that would take the
  // campaign's billed spend past total_budget_micros, or its spend in the
  // UTC day of at_ms past daily_budget_micros (0: no daily limit), is
  // kOverBudget and records nothing. Checked in the transaction that
  // records the event, so it holds across crashes and lost reservations.
  bool enforce_budget = false;
  int64_t daily_budget_micros = 0;
  int64_t total_budget_micros = 0;
};

enum class RecordResult { kAccepted, kDuplicate, kOverBudget };

// What Store::CheckLedger found. ok() when problems is empty.
struct LedgerCheckResult {
  int64_t events_checked = 0;  // Billed events (with ledger entries).
  int64_t accounts_checked = 0;
  int64_t campaigns_checked = 0;
  int64_t ledger_sum_micros = 0;
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

struct SpendTotals {
  int64_t total_micros = 0;
  int64_t today_micros = 0;  // Since day_start_ms.
  int64_t impressions = 0;
  int64_t clicks = 0;
};

struct Balance {
  std::string account;
  int64_t balance_micros = 0;
};

// Balances of some accounts, read in one snapshot with the sum of the whole
// ledger (zero unless the books are broken).
struct LedgerBalances {
  std::vector<Balance> accounts;  // Ordered by account name.
  int64_t ledger_sum_micros = 0;
};

// One change of a stored campaign (Store::UpdateCampaigns). `edit` is given
// the stored campaign, inside the write transaction, and returns the
// campaign to store in its place (the store then sets id, advertiser_id,
// created_at, version and updated_at as UpdateCampaign does), or an error,
// which is that change's result: nothing is written for it. It runs under
// the store's lock and must not call the store.
struct CampaignUpdate {
  std::string id;
  int64_t expected_version = 0;  // 0: no check.
  std::function<absl::StatusOr<attex::v1::Campaign>(const attex::v1::Campaign& stored)> edit;
};

// Every write is durable (committed and synced) before it returns OK. All
// methods are thread-safe; they block on disk and must not be called from a
// gRPC reactor thread.
class Store {
 public:
  virtual ~Store() = default;

  // Accounts. CreateAccount assigns the id.
  virtual absl::StatusOr<AccountRecord> CreateAccount(attex::v1::Role role, const std::string& name,
                                                      const std::string& token_hash) = 0;
  virtual absl::StatusOr<std::vector<AccountRecord>> ListAccounts() = 0;
  // Marks the account's token revoked and returns the account. NOT_FOUND
  // when there is no such account. Revoking twice is not an error.
  virtual absl::StatusOr<AccountRecord> RevokeAccount(const std::string& id) = 0;

  // Campaigns. InsertCampaign assigns id ("cmp-<n>"), version 1, created_at
  // and updated_at (now_ms). UpdateCampaign replaces the stored campaign of
  // c.id: NOT_FOUND when absent; FAILED_PRECONDITION when expected_version
  // is not 0 and differs from the stored version; it increments version and
  // sets updated_at, keeping id, advertiser_id and created_at.
  virtual absl::StatusOr<attex::v1::Campaign> InsertCampaign(attex::v1::Campaign c,
                                                             int64_t now_ms) = 0;
  // Bulk loading (offline seeding of a data dir): inserts every campaign as
  // InsertCampaign does, all in one transaction (one fsync). Nothing is
  // inserted if one fails.
  virtual absl::StatusOr<std::vector<attex::v1::Campaign>> InsertCampaigns(
      std::vector<attex::v1::Campaign> campaigns, int64_t now_ms) = 0;
  // A group of one (UpdateCampaigns).
  absl::StatusOr<attex::v1::Campaign> UpdateCampaign(attex::v1::Campaign c,
                                                     int64_t expected_version, int64_t now_ms) {
    std::vector<CampaignUpdate> one;
    one.push_back({.id = c.id(),
                   .expected_version = expected_version,
                   .edit = [&c](const attex::v1::Campaign&) -> absl::StatusOr<attex::v1::Campaign> {
                     return c;
                   }});
    auto results = UpdateCampaigns(std::move(one), now_ms);
    if (!results.ok()) return results.status();
    return std::move(results->front());
  }
  // Group commit of campaign changes: applies `updates` in order in ONE
  // transaction (one fsync), each as UpdateCampaign would with the campaign
  // its `edit` makes of the stored one: NOT_FOUND when absent, then the
  // edit's own refusal (so that an edit that checks ownership is asked
  // before any version is told), then FAILED_PRECONDITION for a version
  // other than a non-zero expected_version. A refused change writes
  // nothing, and each change sees the ones before it. The outer status fails when the
  // transaction as a whole failed (nothing written); otherwise results[i]
  // is updates[i]'s stored campaign or its own error.
  virtual absl::StatusOr<std::vector<absl::StatusOr<attex::v1::Campaign>>> UpdateCampaigns(
      std::vector<CampaignUpdate> updates, int64_t now_ms) = 0;
  // NOT_FOUND when absent.
  virtual absl::StatusOr<attex::v1::Campaign> GetCampaign(const std::string& id) = 0;
  // Campaigns ordered by numeric id, those after `after_id` (empty: from the
  // start), at most `limit`; only `advertiser_id`'s unless it is empty.
  virtual absl::StatusOr<std::vector<attex::v1::Campaign>> ListCampaigns(
      const std::string& advertiser_id, const std::string& after_id, int limit) = 0;
  virtual absl::StatusOr<std::vector<attex::v1::Campaign>> LoadAllCampaigns() = 0;

  // Records an event and its ledger entries in one transaction. A second
  // event with the same (token_hash, type) is kDuplicate and changes nothing.
  virtual absl::StatusOr<RecordResult> RecordEvent(const BillingEvent& event) = 0;
  // Group commit: records `events` in ONE transaction (one fsync), in
  // order, each as if alone: a duplicate or a refusal writes nothing, and an
  // event that fails half way is undone alone. The outer status fails when the
  // transaction as a whole failed (nothing recorded); otherwise results[i]
  // is events[i]'s result, or its own error (that event alone rolled back).
  virtual absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> RecordEvents(
      const std::vector<BillingEvent>& events) = 0;
  // Checks the ledger in one read snapshot: every event's entries sum to
  // zero, the whole ledger sums to zero, each campaign's billed spend equals
  // the sum of its advertiser debits and its spend counters.
  virtual absl::StatusOr<LedgerCheckResult> CheckLedger() = 0;
  virtual absl::StatusOr<SpendTotals> GetSpend(const std::string& campaign_id,
                                               int64_t day_start_ms) = 0;
  // Spend of every campaign with any, for warming budgets at start.
  virtual absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>> AllSpend(
      int64_t day_start_ms) = 0;
  // Balances of the accounts whose name starts with prefix (a string, not a
  // pattern), and the sum over the whole ledger.
  virtual absl::StatusOr<LedgerBalances> Balances(const std::string& prefix) = 0;
};

// Opens (creating if needed) <data_dir>/attex.db in WAL mode with
// synchronous=FULL, creating data_dir and the schema.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir);

// Connects to the PostgreSQL database of `dsn` (a libpq connection string
// or URI) and brings its schema up to date (pg_schema.h). INVALID_ARGUMENT
// for a malformed DSN, UNAVAILABLE when the server cannot be reached,
// FAILED_PRECONDITION for a schema newer than this binary's.
absl::StatusOr<std::unique_ptr<Store>> OpenPgStore(const std::string& dsn);

}  // namespace attex::store

#endif  // ATTEX_STORE_STORE_H_
