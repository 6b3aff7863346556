// The embedded SQLite implementation of Store: one connection, in WAL mode
// with synchronous=FULL, serialised by a mutex. Every write is one
// BEGIN IMMEDIATE ... COMMIT transaction that rolls back on any error; a
// group of campaign changes (UpdateCampaigns) or of billing events
// (RecordEvents) is one transaction for all.
// OpenSqliteStore (store.h) makes one; the ledger's SQL is in
// sqlite_ledger.h, the database file's configuration in sqlite_open.h.
#ifndef ATTEX_STORE_SQLITE_STORE_H_
#define ATTEX_STORE_SQLITE_STORE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace attex::store {

class Checkpointer;
struct CampaignStatements;
struct EventStatements;

class SqliteStore final : public Store {
 public:
  // Takes a connection already configured and migrated (OpenStoreDatabase)
  // and the checkpointer of its database, which it attaches to it.
  SqliteStore(sqlite::DbHandle db, std::unique_ptr<Checkpointer> checkpointer);
  ~SqliteStore() override;

  absl::StatusOr<AccountRecord> CreateAccount(attex::v1::Role role, const std::string& name,
                                              const std::string& token_hash) override;
  absl::StatusOr<std::vector<AccountRecord>> ListAccounts() override;
  absl::StatusOr<AccountRecord> RevokeAccount(const std::string& id) override;

  absl::StatusOr<attex::v1::Campaign> InsertCampaign(attex::v1::Campaign c,
                                                     int64_t now_ms) override;
  absl::StatusOr<std::vector<attex::v1::Campaign>> InsertCampaigns(
      std::vector<attex::v1::Campaign> campaigns, int64_t now_ms) override;
  absl::StatusOr<std::vector<absl::StatusOr<attex::v1::Campaign>>> UpdateCampaigns(
      std::vector<CampaignUpdate> updates, int64_t now_ms) override;
  absl::StatusOr<attex::v1::Campaign> GetCampaign(const std::string& id) override;
  absl::StatusOr<std::vector<attex::v1::Campaign>> ListCampaigns(const std::string& advertiser_id,
                                                                 const std::string& after_id,
                                                                 int limit) override;
  absl::StatusOr<std::vector<attex::v1::Campaign>> LoadAllCampaigns() override;

  absl::StatusOr<RecordResult> RecordEvent(const BillingEvent& event) override;
  absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> RecordEvents(
      const std::vector<BillingEvent>& events) override;
  absl::StatusOr<LedgerCheckResult> CheckLedger() override;
  absl::StatusOr<SpendTotals> GetSpend(const std::string& campaign_id,
                                       int64_t day_start_ms) override;
  absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>> AllSpend(
      int64_t day_start_ms) override;
  absl::StatusOr<LedgerBalances> Balances(const std::string& prefix) override;

 private:
  absl::StatusOr<attex::v1::Campaign> InsertCampaignLocked(attex::v1::Campaign c, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The campaign statements, prepared on first use.
  absl::StatusOr<CampaignStatements*> CampaignSql() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite::DbHandle db_ ABSL_GUARDED_BY(mu_);
  // Declared after db_: stopped before the connection closes.
  std::unique_ptr<Checkpointer> checkpointer_;
  // Prepared on the first group commit; declared after db_ so that they are
  // finalised before the connection closes.
  std::unique_ptr<EventStatements> event_statements_ ABSL_GUARDED_BY(mu_);
  // The same for campaigns (read by id, versioned write).
  std::unique_ptr<CampaignStatements> campaign_statements_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attex::store

#endif  // ATTEX_STORE_SQLITE_STORE_H_
