// The PostgreSQL implementation of Store, for a fleet of replicas sharing
// one database: one connection, serialised by a mutex (group commit
// batches the billing events), reopened on the next call after it is lost.
// Every write is one transaction that rolls back on any error, committed
// with PostgreSQL's synchronous commit before it returns OK. OpenPgStore
// (store.h) makes one; the ledger's SQL is in pg_ledger.cc, the schema in
// pg_schema.h. Internal to attex::store.
//
// Concurrency with other replicas: account and campaign ids come from
// sequences; UpdateCampaign(s) locks the campaign's row (SELECT ... FOR
// UPDATE) to check its version; billing locks the spend rows of the
// campaigns it charges, in campaign order, and inserts each event under the
// unique key (token_hash, type), so that the cap and the dedup hold however
// many replicas bill at once (docs/money.md). A transaction that
// PostgreSQL aborts as a deadlock or serialization failure is run again, up
// to three times.
#ifndef ATTEX_STORE_PG_STORE_H_
#define ATTEX_STORE_PG_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "store/pg.h"
#include "store/store.h"

namespace attex::store {

class PgStore final : public Store {
 public:
  // Takes a connection already migrated (MigratePgSchema) and the DSN it
  // came from, to reconnect with.
  PgStore(std::string dsn, std::unique_ptr<pqxx::connection> conn);
  ~PgStore() override;

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
  // Runs body(conn) under the lock on a live connection (reconnecting if
  // the last one was lost), turning exceptions into a status named by
  // `what`; ABORTED (deadlock, serialization failure) runs it again, up to
  // three times in all.
  absl::Status Run(const char* what, const std::function<absl::Status(pqxx::connection&)>& body);

  const std::string dsn_;
  absl::Mutex mu_;
  std::unique_ptr<pqxx::connection> conn_ ABSL_GUARDED_BY(mu_);
};

// The ledger's SQL (pg_ledger.cc), on a connection under PgStore's lock.
// Each opens its own transaction and commits it or lets it roll back; they
// throw libpqxx's exceptions, which PgStore::Run maps.
absl::Status PgRecordEventBatch(pqxx::connection& conn, const std::vector<BillingEvent>& events,
                                std::vector<absl::StatusOr<RecordResult>>& results);
SpendTotals PgReadSpend(pqxx::connection& conn, const std::string& campaign_id,
                        int64_t day_start_ms);
std::vector<std::pair<std::string, SpendTotals>> PgReadAllSpend(pqxx::connection& conn,
                                                                int64_t day_start_ms);
LedgerBalances PgReadBalances(pqxx::connection& conn, const std::string& prefix);
LedgerCheckResult PgCheckLedger(pqxx::connection& conn);

}  // namespace attex::store

#endif  // ATTEX_STORE_PG_STORE_H_
