// Billing events, spend and the double-entry ledger: the SQL behind
// SqliteStore's ledger methods.
#include "store/sqlite_ledger.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace attex::store {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

constexpr int64_t kMillisPerDay = 86'400'000;

// Shared by ReadSpend and ReadAllSpend; ?1 is day_start_ms.
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

// Records one event inside the open transaction. Nothing is written until
// the event's fate is known (a duplicate or a refusal writes nothing), so an
// event needs no savepoint of its own unless a statement fails half way.
absl::StatusOr<RecordResult> RecordOne(sqlite3* db, EventStatements& st,
                                       const BillingEvent& event) {
  const bool charged = event.type == attex::v1::EVENT_TYPE_IMPRESSION && event.price_micros > 0;
  int64_t total = 0, day = 0, today = 0;
  if (charged) {
    st.read_spend.Reset();
    st.read_spend.BindTextRef(1, event.campaign_id);
    absl::StatusOr<bool> row = st.read_spend.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      total = st.read_spend.Int(0);
      day = st.read_spend.Int(1);
      today = st.read_spend.Int(2);
    }
    st.read_spend.Reset();
    // A new UTC day starts the daily counter afresh; an event stamped with
    // an earlier day (a clock step back) counts against the later one.
    const int64_t event_day = event.at_ms / kMillisPerDay;
    if (event_day > day) {
      day = event_day;
      today = 0;
    }
    total += event.price_micros;
    today += event.price_micros;
    if (event.enforce_budget &&
        (total > event.total_budget_micros ||
         (event.daily_budget_micros > 0 && today > event.daily_budget_micros))) {
      // A repeat of an event recorded before the budget ran out is still
      // a duplicate.
      st.event_exists.Reset();
      st.event_exists.BindTextRef(1, event.token_hash).BindInt(2, event.type);
      absl::StatusOr<bool> exists = st.event_exists.Step();
      st.event_exists.Reset();
      if (!exists.ok()) return exists.status();
      return *exists ? RecordResult::kDuplicate : RecordResult::kOverBudget;
    }
  }
  // The primary key (token_hash, type) is the dedup: a retried event
  // inserts nothing, and then nothing else is written either.
  st.insert_event.Reset();
  st.insert_event.BindTextRef(1, event.token_hash)
      .BindInt(2, event.type)
      .BindTextRef(3, event.event_id)
      .BindTextRef(4, event.campaign_id)
      .BindTextRef(5, event.platform_id)
      .BindInt(6, event.price_micros)
      .BindInt(7, event.at_ms);
  if (absl::Status s = st.insert_event.Run(); !s.ok()) return s;
  if (sqlite3_changes(db) == 0) return RecordResult::kDuplicate;
  if (charged) {
    st.write_spend.Reset();
    st.write_spend.BindTextRef(1, event.campaign_id)
        .BindInt(2, total)
        .BindInt(3, day)
        .BindInt(4, today);
    if (absl::Status s = st.write_spend.Run(); !s.ok()) return s;
  }
  if (event.entries.size() == 4) {
    Statement& insert = st.insert_four_entries;
    insert.Reset();
    insert.BindTextRef(1, event.token_hash)
        .BindTextRef(2, event.campaign_id)
        .BindInt(3, event.at_ms);
    for (int i = 0; i < 4; ++i) {
      insert.BindTextRef(4 + 2 * i, event.entries[i].account)
          .BindInt(5 + 2 * i, event.entries[i].amount_micros);
    }
    if (absl::Status s = insert.Run(); !s.ok()) return s;
    return RecordResult::kAccepted;
  }
  for (const LedgerEntry& e : event.entries) {
    st.insert_entry.Reset();
    st.insert_entry.BindTextRef(1, event.token_hash)
        .BindTextRef(2, e.account)
        .BindTextRef(3, event.campaign_id)
        .BindInt(4, e.amount_micros)
        .BindInt(5, event.at_ms);
    if (absl::Status s = st.insert_entry.Run(); !s.ok()) return s;
  }
  return RecordResult::kAccepted;
}

absl::Status RunStatement(Statement& stmt) {
  stmt.Reset();
  return stmt.Run();
}

// Records events[i] for each i with results[i] ok, inside the open
// transaction; with_savepoints puts each event in its own savepoint.
absl::Status RecordInTransaction(sqlite3* db, EventStatements& st,
                                 const std::vector<BillingEvent>& events,
                                 std::vector<absl::StatusOr<RecordResult>>& results,
                                 bool with_savepoints) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (!results[i].ok()) continue;
    if (!with_savepoints) {
      results[i] = RecordOne(db, st, events[i]);
      // A statement failed half way: the caller starts again with savepoints.
      if (!results[i].ok()) return results[i].status();
      continue;
    }
    if (absl::Status s = RunStatement(st.savepoint); !s.ok()) return s;
    results[i] = RecordOne(db, st, events[i]);
    if (!results[i].ok()) {
      if (absl::Status s = RunStatement(st.rollback_to); !s.ok()) return s;
    }
    if (absl::Status s = RunStatement(st.release); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EventStatements> PrepareEventStatements(sqlite3* db) {
  const char* const sql[] = {
      "INSERT INTO events(token_hash, type, event_id, campaign_id, "
      "platform_id, price_micros, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT(token_hash, type) DO NOTHING",
      "SELECT 1 FROM events WHERE token_hash = ?1 AND type = ?2",
      "SELECT total_micros, day, today_micros FROM campaign_spend WHERE "
      "campaign_id = ?1",
      "INSERT INTO campaign_spend(campaign_id, total_micros, day, "
      "today_micros) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(campaign_id) DO "
      "UPDATE SET total_micros = excluded.total_micros, day = excluded.day, "
      "today_micros = excluded.today_micros",
      "INSERT INTO ledger(token_hash, account, campaign_id, amount_micros, "
      "at_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
      "INSERT INTO ledger(token_hash, account, campaign_id, amount_micros, "
      "at_ms) VALUES(?1, ?4, ?2, ?5, ?3), (?1, ?6, ?2, ?7, ?3), "
      "(?1, ?8, ?2, ?9, ?3), (?1, ?10, ?2, ?11, ?3)",
      "SAVEPOINT event",
      "ROLLBACK TO event",
      "RELEASE event",
  };
  std::vector<Statement> prepared;
  for (const char* text : sql) {
    absl::StatusOr<Statement> stmt = Statement::Prepare(db, text);
    if (!stmt.ok()) return stmt.status();
    prepared.push_back(*std::move(stmt));
  }
  return EventStatements{std::move(prepared[0]), std::move(prepared[1]), std::move(prepared[2]),
                         std::move(prepared[3]), std::move(prepared[4]), std::move(prepared[5]),
                         std::move(prepared[6]), std::move(prepared[7]), std::move(prepared[8])};
}

absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> RecordEventBatch(
    sqlite3* db, EventStatements& statements, const std::vector<BillingEvent>& events,
    const std::vector<absl::StatusOr<RecordResult>>& validated) {
  // First without savepoints: each event decides its fate before it writes.
  // Should a statement fail half way (disk full, I/O error), the whole
  // transaction is rolled back and done again with a savepoint per event,
  // so that the failing event fails alone and the others still commit.
  for (bool with_savepoints : {false, true}) {
    std::vector<absl::StatusOr<RecordResult>> results = validated;
    Transaction txn(db);
    if (absl::Status s = txn.Begin(Transaction::Mode::kImmediate); !s.ok()) return s;
    absl::Status s = RecordInTransaction(db, statements, events, results, with_savepoints);
    if (!s.ok()) {
      if (with_savepoints) return s;
      continue;  // ~Transaction rolls back.
    }
    if (absl::Status c = txn.Commit(); !c.ok()) return c;
    return results;
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<SpendTotals> ReadSpend(sqlite3* db, const std::string& campaign_id,
                                      int64_t day_start_ms) {
  absl::StatusOr<Statement> stmt = Statement::Prepare(
      db, absl::StrCat("SELECT ", kSpendColumns, "FROM events WHERE campaign_id = ?2"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, day_start_ms).BindText(2, campaign_id);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("aggregate query gave no row");
  return SpendAt(*stmt, 0);
}

absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>> ReadAllSpend(
    sqlite3* db, int64_t day_start_ms) {
  absl::StatusOr<Statement> stmt =
      Statement::Prepare(db, absl::StrCat("SELECT campaign_id, ", kSpendColumns,
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

absl::StatusOr<LedgerBalances> ReadBalances(sqlite3* db, const std::string& prefix) {
  // One read transaction, so that the balances and the sum come from the
  // same snapshot even if another process writes the file.
  Transaction txn(db);
  if (absl::Status s = txn.Begin(Transaction::Mode::kDeferred); !s.ok()) return s;
  LedgerBalances out;
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
      out.accounts.push_back(Balance{.account = stmt->Text(0), .balance_micros = stmt->Int(1)});
    }
  }
  {
    absl::StatusOr<Statement> sum =
        Statement::Prepare(db, "SELECT COALESCE(SUM(amount_micros), 0) FROM ledger");
    if (!sum.ok()) return sum.status();
    absl::StatusOr<bool> row = sum->Step();
    if (!row.ok()) return row.status();
    out.ledger_sum_micros = *row ? sum->Int(0) : 0;
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return out;
}

absl::StatusOr<LedgerCheckResult> CheckLedgerTables(sqlite3* db) {
  Transaction txn(db);  // One snapshot for every query below.
  if (absl::Status s = txn.Begin(Transaction::Mode::kDeferred); !s.ok()) return s;
  LedgerCheckResult out;
  constexpr int kMaxListed = 20;  // Problems listed per kind.
  // Runs sql, calling row(stmt) for each row.
  auto query = [db](const char* sql, auto row) -> absl::Status {
    absl::StatusOr<Statement> stmt = Statement::Prepare(db, sql);
    if (!stmt.ok()) return stmt.status();
    while (true) {
      absl::StatusOr<bool> more = stmt->Step();
      if (!more.ok()) return more.status();
      if (!*more) return absl::OkStatus();
      row(*stmt);
    }
  };
  absl::Status s = query(
      "SELECT COALESCE(SUM(amount_micros), 0), COUNT(DISTINCT token_hash), "
      "COUNT(DISTINCT account) FROM ledger",
      [&](const Statement& r) {
        out.ledger_sum_micros = r.Int(0);
        out.events_checked = r.Int(1);
        out.accounts_checked = r.Int(2);
      });
  if (!s.ok()) return s;
  if (out.ledger_sum_micros != 0) {
    out.problems.push_back(absl::StrCat("the ledger sums to ", out.ledger_sum_micros, ", not 0"));
  }
  s = query(
      "SELECT token_hash, SUM(amount_micros) FROM ledger GROUP BY token_hash "
      "HAVING SUM(amount_micros) != 0 LIMIT 20",
      [&](const Statement& r) {
        out.problems.push_back(absl::StrCat("event ", r.Text(0), ": entries sum to ", r.Int(1)));
      });
  if (!s.ok()) return s;
  // Every billed impression has its advertiser debit, and no more.
  int listed = 0;
  s = query(
      "SELECT e.token_hash, e.price_micros, COALESCE(l.debit, 0) FROM events "
      "e LEFT JOIN (SELECT token_hash, -SUM(amount_micros) AS debit FROM "
      "ledger WHERE substr(account, 1, 11) = 'advertiser:' GROUP BY "
      "token_hash) l ON l.token_hash = e.token_hash WHERE e.type = 1 AND "
      "e.price_micros != COALESCE(l.debit, 0)",
      [&](const Statement& r) {
        if (listed++ >= kMaxListed) return;
        out.problems.push_back(absl::StrCat("event ", r.Text(0), ": price ", r.Int(1),
                                            " but advertiser debit ", r.Int(2)));
      });
  if (!s.ok()) return s;
  // Per campaign: billed events, advertiser debits and the spend counter
  // that the budget cap reads all agree.
  s = query(
      "SELECT c.campaign_id, c.billed, COALESCE(l.debits, 0), "
      "COALESCE(s.total_micros, 0) FROM (SELECT campaign_id, "
      "SUM(price_micros) AS billed FROM events WHERE type = 1 GROUP BY "
      "campaign_id) c LEFT JOIN (SELECT campaign_id, -SUM(amount_micros) AS "
      "debits FROM ledger WHERE substr(account, 1, 11) = 'advertiser:' GROUP "
      "BY campaign_id) l ON l.campaign_id = c.campaign_id LEFT JOIN "
      "campaign_spend s ON s.campaign_id = c.campaign_id",
      [&](const Statement& r) {
        ++out.campaigns_checked;
        if (r.Int(1) != r.Int(2) || r.Int(1) != r.Int(3)) {
          out.problems.push_back(absl::StrCat("campaign ", r.Text(0), ": billed ", r.Int(1),
                                              ", advertiser debits ", r.Int(2), ", spend counter ",
                                              r.Int(3)));
        }
      });
  if (!s.ok()) return s;
  if (absl::Status c = txn.Commit(); !c.ok()) return c;
  return out;
}

}  // namespace attex::store
