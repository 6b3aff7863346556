// Billing events, spend and the double-entry ledger of SqliteStore.
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "store/sqlite_store.h"

namespace attex::store {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

// Shared by GetSpend and AllSpend; ?1 is day_start_ms.
constexpr absl::string_view kSpendColumns =
    "COALESCE(SUM(CASE WHEN type = 1 THEN price_micros END), 0), "
    "COALESCE(SUM(CASE WHEN type = 1 AND at_ms >= ?1 THEN price_micros END), "
    "0), "
    "COUNT(CASE WHEN type = 1 THEN 1 END), "
    "COUNT(CASE WHEN type = 2 THEN 1 END) ";

SpendTotals SpendAt(const Statement& stmt, int first_column) {
  return SpendTotals{.total_micros = stmt.Int(first_column),
                     .today_micros = stmt.Int(first_column + 1),
                     .impressions = stmt.Int(first_column + 2),
                     .clicks = stmt.Int(first_column + 3)};
}

absl::Status ValidateEvent(const BillingEvent& event) {
  if (event.token_hash.empty())
    return absl::InvalidArgumentError("token_hash is empty");
  if (event.type != attex::v1::EVENT_TYPE_IMPRESSION &&
      event.type != attex::v1::EVENT_TYPE_CLICK) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event type ", static_cast<int>(event.type), " is not recordable"));
  }
  int64_t sum = 0;
  for (const LedgerEntry& entry : event.entries) {
    if (__builtin_add_overflow(sum, entry.amount_micros, &sum)) {
      return absl::InvalidArgumentError("ledger entries overflow int64");
    }
  }
  if (sum != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger entries sum to ", sum, ", not 0"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecordResult> SqliteStore::RecordEvent(
    const BillingEvent& event) {
  if (absl::Status s = ValidateEvent(event); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  sqlite3* db = db_.get();
  Transaction txn(db);
  if (absl::Status s = txn.Begin(Transaction::Mode::kImmediate); !s.ok())
    return s;
  {
    // The primary key (token_hash, type) is the dedup: a retried event
    // inserts nothing, and then nothing else is written either.
    absl::StatusOr<Statement> insert =
        Statement::Prepare(db,
                           "INSERT INTO events(token_hash, type, event_id, "
                           "campaign_id, platform_id, price_micros, "
                           "at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON "
                           "CONFLICT(token_hash, type) DO NOTHING");
    if (!insert.ok()) return insert.status();
    insert->BindText(1, event.token_hash)
        .BindInt(2, event.type)
        .BindText(3, event.event_id)
        .BindText(4, event.campaign_id)
        .BindText(5, event.platform_id)
        .BindInt(6, event.price_micros)
        .BindInt(7, event.at_ms);
    if (absl::Status s = insert->Run(); !s.ok()) return s;
    if (sqlite3_changes(db) == 0)
      return RecordResult::kDuplicate;  // Rolled back, empty.
  }
  if (!event.entries.empty()) {
    absl::StatusOr<Statement> entry =
        Statement::Prepare(db,
                           "INSERT INTO ledger(token_hash, account, "
                           "campaign_id, amount_micros, at_ms) "
                           "VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!entry.ok()) return entry.status();
    for (const LedgerEntry& e : event.entries) {
      entry->Reset();
      entry->BindText(1, event.token_hash)
          .BindText(2, e.account)
          .BindText(3, event.campaign_id)
          .BindInt(4, e.amount_micros)
          .BindInt(5, event.at_ms);
      if (absl::Status s = entry->Run(); !s.ok()) return s;
    }
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return RecordResult::kAccepted;
}

absl::StatusOr<SpendTotals> SqliteStore::GetSpend(
    const std::string& campaign_id, int64_t day_start_ms) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = Statement::Prepare(
      db_.get(), absl::StrCat("SELECT ", kSpendColumns,
                              "FROM events WHERE campaign_id = ?2"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, day_start_ms).BindText(2, campaign_id);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("aggregate query gave no row");
  return SpendAt(*stmt, 0);
}

absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>>
SqliteStore::AllSpend(int64_t day_start_ms) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt = Statement::Prepare(
      db_.get(),
      absl::StrCat("SELECT campaign_id, ", kSpendColumns,
                   "FROM events GROUP BY campaign_id ORDER BY campaign_id"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, day_start_ms);
  std::vector<std::pair<std::string, SpendTotals>> out;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.emplace_back(stmt->Text(0), SpendAt(*stmt, 1));
  }
}

absl::StatusOr<std::vector<Balance>> SqliteStore::Balances(
    const std::string& prefix, int64_t* ledger_sum) {
  absl::MutexLock lock(&mu_);
  sqlite3* db = db_.get();
  // One read transaction, so that the balances and the sum come from the
  // same snapshot even if another process writes the file.
  Transaction txn(db);
  if (absl::Status s = txn.Begin(Transaction::Mode::kDeferred); !s.ok())
    return s;
  std::vector<Balance> out;
  {
    // substr() instead of LIKE: the prefix is data, and '%' or '_' in it
    // must not act as wildcards.
    absl::StatusOr<Statement> stmt =
        Statement::Prepare(db,
                           "SELECT account, SUM(amount_micros) FROM ledger "
                           "WHERE substr(account, 1, length(?1)) = ?1 GROUP BY "
                           "account ORDER BY account");
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, prefix);
    while (true) {
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(
          Balance{.account = stmt->Text(0), .balance_micros = stmt->Int(1)});
    }
  }
  if (ledger_sum != nullptr) {
    absl::StatusOr<Statement> sum = Statement::Prepare(
        db, "SELECT COALESCE(SUM(amount_micros), 0) FROM ledger");
    if (!sum.ok()) return sum.status();
    absl::StatusOr<bool> row = sum->Step();
    if (!row.ok()) return row.status();
    *ledger_sum = *row ? sum->Int(0) : 0;
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return out;
}

}  // namespace attex::store
