// PgStore: accounts and campaigns, the connection and its retries; the
// ledger methods call pg_ledger.cc.
#include "store/pg_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "store/pg_schema.h"
#include "store/store_checks.h"

namespace attex::store {
namespace {

using attex::v1::Campaign;

constexpr int kAttempts = 3;  // For deadlocks and serialization failures.

// Campaign rows are read as (id, encode(body, 'hex')).
constexpr const char* kCampaignColumns = "SELECT id, encode(body, 'hex') FROM campaigns ";

absl::StatusOr<std::vector<Campaign>> ParseCampaigns(const pqxx::result& rows) {
  std::vector<Campaign> out;
  out.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    Campaign c;
    if (!c.ParseFromString(pg::FromHex(row[1]))) {
      return absl::InternalError(
          absl::StrCat("stored campaign ", row[0].c_str(), " does not parse"));
    }
    out.push_back(std::move(c));
  }
  return out;
}

AccountRecord AccountAt(const pqxx::row& row) {
  return AccountRecord{.id = row[0].c_str(),
                       .role = static_cast<attex::v1::Role>(row[1].as<int>()),
                       .name = row[2].c_str(),
                       .token_hash = row[3].c_str(),
                       .created_at_ms = row[4].as<int64_t>(),
                       .revoked = row[5].as<bool>()};
}

// Inserts one campaign inside txn, as InsertCampaign documents.
Campaign InsertCampaignIn(pqxx::work& txn, Campaign c, int64_t now_ms) {
  const int64_t seq = txn.exec("SELECT nextval('campaigns_seq')")[0][0].as<int64_t>();
  c.set_id(absl::StrCat("cmp-", seq));
  c.set_version(1);
  c.set_created_at(now_ms);
  c.set_updated_at(now_ms);
  txn.exec_params(
      "INSERT INTO campaigns(seq, id, advertiser_id, version, body, updated_at_ms) "
      "VALUES($1, $2, $3, 1, $4::bytea, $5)",
      seq, c.id(), c.advertiser_id(), pg::ByteaLiteral(c.SerializeAsString()), now_ms);
  return c;
}

}  // namespace

PgStore::PgStore(std::string dsn, std::unique_ptr<pqxx::connection> conn)
    : dsn_(std::move(dsn)), conn_(std::move(conn)) {}

PgStore::~PgStore() = default;

absl::Status PgStore::Run(const char* what,
                          const std::function<absl::Status(pqxx::connection&)>& body) {
  absl::MutexLock lock(&mu_);
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (conn_ == nullptr || !conn_->is_open()) {
      absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = pg::Connect(dsn_);
      if (!conn.ok()) return conn.status();
      conn_ = *std::move(conn);
    }
    try {
      return body(*conn_);
    } catch (...) {
      last = pg::CurrentExceptionStatus(what);
    }
    if (pg::ConnectionLost(last)) {
      conn_.reset();  // Reopened on the next call; this one fails as retryable.
      return last;
    }
    if (!absl::IsAborted(last)) return last;
  }
  return last;
}

absl::StatusOr<AccountRecord> PgStore::CreateAccount(attex::v1::Role role, const std::string& name,
                                                     const std::string& token_hash) {
  if (token_hash.empty()) return absl::InvalidArgumentError("token_hash is empty");
  AccountRecord account{.id = "",
                        .role = role,
                        .name = name,
                        .token_hash = token_hash,
                        .created_at_ms = absl::ToUnixMillis(absl::Now())};
  absl::Status s = Run("create account", [&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    const int64_t seq = txn.exec("SELECT nextval('accounts_seq')")[0][0].as<int64_t>();
    account.id = absl::StrCat("acc-", seq);
    pqxx::result inserted = txn.exec_params(
        "INSERT INTO accounts(seq, id, role, name, token_hash, created_at_ms) "
        "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(token_hash) DO NOTHING",
        seq, account.id, static_cast<int>(role), name, token_hash, account.created_at_ms);
    if (inserted.affected_rows() == 0) {
      return absl::AlreadyExistsError("an account with this token_hash already exists");
    }
    txn.commit();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return account;
}

absl::StatusOr<std::vector<AccountRecord>> PgStore::ListAccounts() {
  std::vector<AccountRecord> out;
  absl::Status s = Run("list accounts", [&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    for (const pqxx::row& row : txn.exec("SELECT id, role, name, token_hash, created_at_ms, "
                                         "revoked FROM accounts ORDER BY seq")) {
      out.push_back(AccountAt(row));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<AccountRecord> PgStore::RevokeAccount(const std::string& id) {
  AccountRecord out;
  absl::Status s = Run("revoke account", [&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    pqxx::result row = txn.exec_params(
        "UPDATE accounts SET revoked = true WHERE id = $1 "
        "RETURNING id, role, name, token_hash, created_at_ms, revoked",
        id);
    if (row.empty()) return absl::NotFoundError(absl::StrCat("account ", id, " not found"));
    out = AccountAt(row[0]);
    txn.commit();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<Campaign> PgStore::InsertCampaign(Campaign c, int64_t now_ms) {
  absl::StatusOr<std::vector<Campaign>> stored = InsertCampaigns({std::move(c)}, now_ms);
  if (!stored.ok()) return stored.status();
  return std::move(stored->front());
}

absl::StatusOr<std::vector<Campaign>> PgStore::InsertCampaigns(std::vector<Campaign> campaigns,
                                                               int64_t now_ms) {
  std::vector<Campaign> stored;
  absl::Status s = Run("insert campaigns", [&](pqxx::connection& conn) {
    stored.clear();  // A retried attempt starts again.
    pqxx::work txn(conn);
    for (const Campaign& c : campaigns) stored.push_back(InsertCampaignIn(txn, c, now_ms));
    txn.commit();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return stored;
}

absl::StatusOr<std::vector<absl::StatusOr<Campaign>>> PgStore::UpdateCampaigns(
    std::vector<CampaignUpdate> updates, int64_t now_ms) {
  std::vector<absl::StatusOr<Campaign>> results;
  absl::Status s = Run("update campaigns", [&](pqxx::connection& conn) {
    results.clear();  // Run again after a deadlock: the edits are redone.
    pqxx::work txn(conn);
    for (const CampaignUpdate& u : updates) {
      // The row lock orders concurrent updates from any replica: the
      // version checked is the one replaced.
      pqxx::result row = txn.exec_params(
          "SELECT seq, version, encode(body, 'hex') FROM campaigns WHERE id = $1 FOR UPDATE", u.id);
      if (row.empty()) {
        results.push_back(absl::NotFoundError(absl::StrCat("campaign ", u.id, " not found")));
        continue;
      }
      const int64_t seq = row[0][0].as<int64_t>();
      const int64_t stored_version = row[0][1].as<int64_t>();
      Campaign stored;
      if (!stored.ParseFromString(pg::FromHex(row[0][2]))) {
        return absl::InternalError(absl::StrCat("stored campaign ", u.id, " does not parse"));
      }
      absl::StatusOr<Campaign> c = EditedCampaign(u, stored, stored_version, now_ms);
      if (!c.ok()) {
        results.push_back(c.status());
        continue;
      }
      txn.exec_params(
          "UPDATE campaigns SET version = $1, body = $2::bytea, updated_at_ms = $3 WHERE seq = $4",
          c->version(), pg::ByteaLiteral(c->SerializeAsString()), now_ms, seq);
      results.push_back(*std::move(c));
    }
    txn.commit();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return results;
}

absl::StatusOr<Campaign> PgStore::GetCampaign(const std::string& id) {
  absl::StatusOr<std::vector<Campaign>> found;
  absl::Status s = Run("get campaign", [&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    found = ParseCampaigns(txn.exec_params(absl::StrCat(kCampaignColumns, "WHERE id = $1"), id));
    return found.status();
  });
  if (!s.ok()) return s;
  if (found->empty()) return absl::NotFoundError(absl::StrCat("campaign ", id, " not found"));
  return std::move(found->front());
}

absl::StatusOr<std::vector<Campaign>> PgStore::ListCampaigns(const std::string& advertiser_id,
                                                             const std::string& after_id,
                                                             int limit) {
  absl::StatusOr<int64_t> after = ListAfterSeq(after_id, limit);
  if (!after.ok()) return after.status();
  const int64_t after_seq = *after;
  absl::StatusOr<std::vector<Campaign>> found;
  absl::Status s = Run("list campaigns", [&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    found =
        ParseCampaigns(advertiser_id.empty()
                           ? txn.exec_params(absl::StrCat(kCampaignColumns,
                                                          "WHERE seq > $1 ORDER BY seq LIMIT $2"),
                                             after_seq, limit)
                           : txn.exec_params(absl::StrCat(kCampaignColumns,
                                                          "WHERE seq > $1 AND advertiser_id = $3 "
                                                          "ORDER BY seq LIMIT $2"),
                                             after_seq, limit, advertiser_id));
    return found.status();
  });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<std::vector<Campaign>> PgStore::LoadAllCampaigns() {
  absl::StatusOr<std::vector<Campaign>> found;
  absl::Status s = Run("load campaigns", [&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    found = ParseCampaigns(txn.exec(absl::StrCat(kCampaignColumns, "ORDER BY seq")));
    return found.status();
  });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<RecordResult> PgStore::RecordEvent(const BillingEvent& event) {
  absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> results = RecordEvents({event});
  if (!results.ok()) return results.status();
  return std::move((*results)[0]);
}

absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> PgStore::RecordEvents(
    const std::vector<BillingEvent>& events) {
  const std::vector<absl::StatusOr<RecordResult>> validated = ValidateEvents(events);
  if (std::none_of(validated.begin(), validated.end(),
                   [](const absl::StatusOr<RecordResult>& r) { return r.ok(); })) {
    return validated;
  }
  std::vector<absl::StatusOr<RecordResult>> results;
  absl::Status s = Run("record events", [&](pqxx::connection& conn) {
    results = validated;  // A retried attempt starts again.
    return PgRecordEventBatch(conn, events, results);
  });
  if (!s.ok()) return s;
  return results;
}

absl::StatusOr<LedgerCheckResult> PgStore::CheckLedger() {
  LedgerCheckResult out;
  absl::Status s = Run("check ledger", [&](pqxx::connection& conn) {
    out = PgCheckLedger(conn);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<SpendTotals> PgStore::GetSpend(const std::string& campaign_id,
                                              int64_t day_start_ms) {
  SpendTotals out;
  absl::Status s = Run("read spend", [&](pqxx::connection& conn) {
    out = PgReadSpend(conn, campaign_id, day_start_ms);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>> PgStore::AllSpend(
    int64_t day_start_ms) {
  std::vector<std::pair<std::string, SpendTotals>> out;
  absl::Status s = Run("read spend", [&](pqxx::connection& conn) {
    out = PgReadAllSpend(conn, day_start_ms);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<LedgerBalances> PgStore::Balances(const std::string& prefix) {
  LedgerBalances out;
  absl::Status s = Run("read balances", [&](pqxx::connection& conn) {
    out = PgReadBalances(conn, prefix);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::unique_ptr<Store>> OpenPgStore(const std::string& dsn) {
  if (dsn.empty()) return absl::InvalidArgumentError("the PostgreSQL DSN is empty");
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = pg::Connect(dsn);
  if (!conn.ok()) return conn.status();
  if (absl::Status s = MigratePgSchema(**conn); !s.ok()) return s;
  return std::make_unique<PgStore>(dsn, *std::move(conn));
}

}  // namespace attex::store
