// SqliteStore: accounts and campaigns, and the ledger methods, which lock and
// call sqlite_ledger.h. Configuring the database file is sqlite_open.cc's.
#include "store/sqlite_store.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "store/checkpointer.h"
#include "store/sqlite_ledger.h"
#include "store/sqlite_open.h"
#include "store/store_checks.h"

namespace attex::store {
namespace {

using attex::v1::Campaign;
using sqlite::Statement;
using sqlite::Transaction;

absl::StatusOr<Campaign> ParseBody(const std::string& id, const std::string& body) {
  Campaign c;
  if (!c.ParseFromString(body)) {
    return absl::InternalError(absl::StrCat("stored campaign ", id, " does not parse"));
  }
  return c;
}

// Reads rows of (id, body) into campaigns.
absl::StatusOr<std::vector<Campaign>> CollectCampaigns(Statement& stmt) {
  std::vector<Campaign> out;
  while (true) {
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    absl::StatusOr<Campaign> c = ParseBody(stmt.Text(0), stmt.Blob(1));
    if (!c.ok()) return c.status();
    out.push_back(*std::move(c));
  }
}

// Inserts with a RETURNING clause and answers the row's seq.
absl::StatusOr<int64_t> InsertReturningSeq(Statement& stmt) {
  absl::StatusOr<bool> row = stmt.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("INSERT ... RETURNING gave no row");
  const int64_t seq = stmt.Int(0);
  // Finish the statement so that COMMIT finds no write in progress.
  if (absl::Status s = stmt.Run(); !s.ok()) return s;
  return seq;
}

}  // namespace

// Prepared once and reused (sqlite3_reset) by every campaign read and change.
struct CampaignStatements {
  Statement select;  // seq, version, body by id.
  Statement update;  // version, body, updated_at by seq.
};

SqliteStore::SqliteStore(sqlite::DbHandle db, std::unique_ptr<Checkpointer> checkpointer)
    : db_(std::move(db)), checkpointer_(std::move(checkpointer)) {
  checkpointer_->Attach(db_.get());
}

SqliteStore::~SqliteStore() = default;

absl::StatusOr<AccountRecord> SqliteStore::CreateAccount(attex::v1::Role role,
                                                         const std::string& name,
                                                         const std::string& token_hash) {
  if (token_hash.empty()) return absl::InvalidArgumentError("token_hash is empty");
  AccountRecord account{.id = "",
                        .role = role,
                        .name = name,
                        .token_hash = token_hash,
                        .created_at_ms = absl::ToUnixMillis(absl::Now())};
  absl::MutexLock lock(&mu_);
  sqlite3* db = db_.get();
  Transaction txn(db);
  if (absl::Status s = txn.Begin(Transaction::Mode::kImmediate); !s.ok()) return s;
  int64_t seq = 0;
  {
    absl::StatusOr<Statement> insert =
        Statement::Prepare(db,
                           "INSERT INTO accounts(role, name, token_hash, "
                           "created_at_ms) VALUES(?1, ?2, ?3, ?4) "
                           "RETURNING seq");
    if (!insert.ok()) return insert.status();
    insert->BindInt(1, role)
        .BindText(2, name)
        .BindText(3, token_hash)
        .BindInt(4, account.created_at_ms);
    absl::StatusOr<int64_t> inserted = InsertReturningSeq(*insert);
    if (absl::IsAlreadyExists(inserted.status())) {
      return absl::AlreadyExistsError("an account with this token_hash already exists");
    }
    if (!inserted.ok()) return inserted.status();
    seq = *inserted;
  }
  account.id = absl::StrCat("acc-", seq);
  absl::StatusOr<Statement> set_id =
      Statement::Prepare(db, "UPDATE accounts SET id = ?1 WHERE seq = ?2");
  if (!set_id.ok()) return set_id.status();
  if (absl::Status s = set_id->BindText(1, account.id).BindInt(2, seq).Run(); !s.ok()) return s;
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return account;
}

absl::StatusOr<std::vector<AccountRecord>> SqliteStore::ListAccounts() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt =
      Statement::Prepare(db_.get(),
                         "SELECT id, role, name, token_hash, created_at_ms, "
                         "revoked FROM accounts ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  std::vector<AccountRecord> out;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(AccountRecord{.id = stmt->Text(0),
                                .role = static_cast<attex::v1::Role>(stmt->Int(1)),
                                .name = stmt->Text(2),
                                .token_hash = stmt->Text(3),
                                .created_at_ms = stmt->Int(4),
                                .revoked = stmt->Int(5) != 0});
  }
}

absl::StatusOr<AccountRecord> SqliteStore::RevokeAccount(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> stmt =
        Statement::Prepare(db_.get(), "UPDATE accounts SET revoked = 1 WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    if (absl::Status s = stmt->BindText(1, id).Run(); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<AccountRecord>> accounts = ListAccounts();
  if (!accounts.ok()) return accounts.status();
  for (AccountRecord& account : *accounts) {
    if (account.id == id) return std::move(account);
  }
  return absl::NotFoundError(absl::StrCat("account ", id, " not found"));
}

// Inserts one campaign inside the caller's transaction.
absl::StatusOr<Campaign> SqliteStore::InsertCampaignLocked(Campaign c, int64_t now_ms) {
  sqlite3* db = db_.get();
  int64_t seq = 0;
  {
    // The id depends on the seq, so the row is inserted first and completed
    // below, inside the same transaction.
    absl::StatusOr<Statement> insert =
        Statement::Prepare(db,
                           "INSERT INTO campaigns(advertiser_id, version, "
                           "updated_at_ms) VALUES(?1, 1, ?2) "
                           "RETURNING seq");
    if (!insert.ok()) return insert.status();
    insert->BindText(1, c.advertiser_id()).BindInt(2, now_ms);
    absl::StatusOr<int64_t> inserted = InsertReturningSeq(*insert);
    if (!inserted.ok()) return inserted.status();
    seq = *inserted;
  }
  c.set_id(absl::StrCat("cmp-", seq));
  c.set_version(1);
  c.set_created_at(now_ms);
  c.set_updated_at(now_ms);
  absl::StatusOr<Statement> complete =
      Statement::Prepare(db, "UPDATE campaigns SET id = ?1, body = ?2 WHERE seq = ?3");
  if (!complete.ok()) return complete.status();
  complete->BindText(1, c.id()).BindBlob(2, c.SerializeAsString()).BindInt(3, seq);
  if (absl::Status s = complete->Run(); !s.ok()) return s;
  return c;
}

absl::StatusOr<Campaign> SqliteStore::InsertCampaign(Campaign c, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  if (absl::Status s = txn.Begin(Transaction::Mode::kImmediate); !s.ok()) return s;
  absl::StatusOr<Campaign> stored = InsertCampaignLocked(std::move(c), now_ms);
  if (!stored.ok()) return stored.status();
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return stored;
}

absl::StatusOr<std::vector<Campaign>> SqliteStore::InsertCampaigns(std::vector<Campaign> campaigns,
                                                                   int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  if (absl::Status s = txn.Begin(Transaction::Mode::kImmediate); !s.ok()) return s;
  std::vector<Campaign> stored;
  stored.reserve(campaigns.size());
  for (Campaign& c : campaigns) {
    absl::StatusOr<Campaign> one = InsertCampaignLocked(std::move(c), now_ms);
    if (!one.ok()) return one.status();  // The transaction rolls back.
    stored.push_back(*std::move(one));
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return stored;
}

absl::StatusOr<CampaignStatements*> SqliteStore::CampaignSql() {
  if (campaign_statements_ == nullptr) {
    sqlite3* db = db_.get();
    absl::StatusOr<Statement> select =
        Statement::Prepare(db, "SELECT seq, version, body FROM campaigns WHERE id = ?1");
    if (!select.ok()) return select.status();
    absl::StatusOr<Statement> update =
        Statement::Prepare(db,
                           "UPDATE campaigns SET version = ?1, body = ?2, "
                           "updated_at_ms = ?3 WHERE seq = ?4");
    if (!update.ok()) return update.status();
    campaign_statements_ = std::make_unique<CampaignStatements>(
        CampaignStatements{*std::move(select), *std::move(update)});
  }
  return campaign_statements_.get();
}

absl::StatusOr<std::vector<absl::StatusOr<Campaign>>> SqliteStore::UpdateCampaigns(
    std::vector<CampaignUpdate> updates, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<CampaignStatements*> sql = CampaignSql();
  if (!sql.ok()) return sql.status();
  Statement& select = (*sql)->select;
  Statement& update = (*sql)->update;
  Transaction txn(db_.get());
  if (absl::Status s = txn.Begin(Transaction::Mode::kImmediate); !s.ok()) return s;
  std::vector<absl::StatusOr<Campaign>> results;
  results.reserve(updates.size());
  std::string body;  // Reused: the serialised campaign.
  for (CampaignUpdate& u : updates) {
    // A refused change has read, not written; a statement that fails (a
    // write, or a read of the file) fails the whole group, rolled back.
    select.Reset();
    select.BindText(1, u.id);
    absl::StatusOr<bool> row = select.Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      results.push_back(absl::NotFoundError(absl::StrCat("campaign ", u.id, " not found")));
      continue;
    }
    const int64_t seq = select.Int(0);
    const int64_t stored_version = select.Int(1);
    absl::StatusOr<Campaign> stored = ParseBody(u.id, select.Blob(2));
    select.Reset();
    if (!stored.ok()) return stored.status();
    absl::StatusOr<Campaign> c = EditedCampaign(u, *stored, stored_version, now_ms);
    if (!c.ok()) {
      results.push_back(c.status());
      continue;
    }
    c->SerializeToString(&body);
    update.Reset();
    update.BindInt(1, c->version()).BindBlob(2, body).BindInt(3, now_ms).BindInt(4, seq);
    absl::Status s = update.Run();
    update.Reset();
    if (!s.ok()) return s;
    results.push_back(*std::move(c));
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return results;
}

absl::StatusOr<Campaign> SqliteStore::GetCampaign(const std::string& id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<CampaignStatements*> sql = CampaignSql();
  if (!sql.ok()) return sql.status();
  Statement& select = (*sql)->select;
  select.Reset();
  select.BindText(1, id);
  absl::StatusOr<bool> row = select.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("campaign ", id, " not found"));
  absl::StatusOr<Campaign> c = ParseBody(id, select.Blob(2));
  select.Reset();
  return c;
}

absl::StatusOr<std::vector<Campaign>> SqliteStore::ListCampaigns(const std::string& advertiser_id,
                                                                 const std::string& after_id,
                                                                 int limit) {
  absl::StatusOr<int64_t> after = ListAfterSeq(after_id, limit);
  if (!after.ok()) return after.status();
  const int64_t after_seq = *after;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt =
      advertiser_id.empty() ? Statement::Prepare(db_.get(),
                                                 "SELECT id, body FROM campaigns WHERE seq > ?1 "
                                                 "ORDER BY seq LIMIT ?2")
                            : Statement::Prepare(db_.get(),
                                                 "SELECT id, body FROM campaigns WHERE seq > ?1 "
                                                 "AND advertiser_id = ?3 ORDER BY seq LIMIT ?2");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, after_seq).BindInt(2, limit);
  if (!advertiser_id.empty()) stmt->BindText(3, advertiser_id);
  return CollectCampaigns(*stmt);
}

absl::StatusOr<std::vector<Campaign>> SqliteStore::LoadAllCampaigns() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> stmt =
      Statement::Prepare(db_.get(), "SELECT id, body FROM campaigns ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  return CollectCampaigns(*stmt);
}

absl::StatusOr<RecordResult> SqliteStore::RecordEvent(const BillingEvent& event) {
  absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> results = RecordEvents({event});
  if (!results.ok()) return results.status();
  return std::move((*results)[0]);
}

absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> SqliteStore::RecordEvents(
    const std::vector<BillingEvent>& events) {
  // Checked before taking the lock, as they need no database.
  std::vector<absl::StatusOr<RecordResult>> validated = ValidateEvents(events);
  if (std::none_of(validated.begin(), validated.end(),
                   [](const absl::StatusOr<RecordResult>& r) { return r.ok(); })) {
    return validated;
  }
  absl::MutexLock lock(&mu_);
  if (event_statements_ == nullptr) {
    absl::StatusOr<EventStatements> prepared = PrepareEventStatements(db_.get());
    if (!prepared.ok()) return prepared.status();
    event_statements_ = std::make_unique<EventStatements>(*std::move(prepared));
  }
  return RecordEventBatch(db_.get(), *event_statements_, events, validated);
}

absl::StatusOr<LedgerCheckResult> SqliteStore::CheckLedger() {
  absl::MutexLock lock(&mu_);
  return CheckLedgerTables(db_.get());
}

absl::StatusOr<SpendTotals> SqliteStore::GetSpend(const std::string& campaign_id,
                                                  int64_t day_start_ms) {
  absl::MutexLock lock(&mu_);
  return ReadSpend(db_.get(), campaign_id, day_start_ms);
}

absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>> SqliteStore::AllSpend(
    int64_t day_start_ms) {
  absl::MutexLock lock(&mu_);
  return ReadAllSpend(db_.get(), day_start_ms);
}

absl::StatusOr<LedgerBalances> SqliteStore::Balances(const std::string& prefix) {
  absl::MutexLock lock(&mu_);
  return ReadBalances(db_.get(), prefix);
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir) {
  if (data_dir.empty()) return absl::InvalidArgumentError("data_dir is empty");
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("create data_dir ", data_dir, ": ", ec.message()));
  }
  const std::string path = (std::filesystem::path(data_dir) / "attex.db").string();
  absl::StatusOr<sqlite::DbHandle> db = OpenStoreDatabase(path);
  if (!db.ok()) return db.status();
  absl::StatusOr<std::unique_ptr<Checkpointer>> checkpointer = Checkpointer::Start(path);
  if (!checkpointer.ok()) return checkpointer.status();
  return std::make_unique<SqliteStore>(*std::move(db), *std::move(checkpointer));
}

}  // namespace attex::store
