// Billing events, spend and the double-entry ledger in PostgreSQL: the SQL
// behind PgStore's ledger methods.
//
// The hard cap across replicas: a batch first locks (SELECT ... FOR
// UPDATE) the campaign_spend row of every campaign it charges, in campaign
// order, so that two replicas billing the same campaign take turns and
// never deadlock on these rows; each reads the spend the other committed.
// The dedup: events' primary key (token_hash, type); an insert that meets a
// row another transaction has not committed yet waits for it, then does
// nothing (READ COMMITTED, ON CONFLICT DO NOTHING), so an event reported to
// two replicas at once is recorded once.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "store/pg_store.h"

namespace attex::store {
namespace {

constexpr int64_t kMillisPerDay = 86'400'000;

struct Spend {
  int64_t total = 0;
  int64_t day = 0;
  int64_t today = 0;
  bool changed = false;
};

bool Charged(const BillingEvent& e) {
  return e.type == attex::v1::EVENT_TYPE_IMPRESSION && e.price_micros > 0;
}

// Shared by ReadSpend and ReadAllSpend; $1 is day_start_ms.
constexpr const char* kSpendColumns =
    "COALESCE(SUM(price_micros) FILTER (WHERE type = 1), 0)::BIGINT, "
    "COALESCE(SUM(price_micros) FILTER (WHERE type = 1 AND at_ms >= $1), 0)::BIGINT, "
    "COUNT(*) FILTER (WHERE type = 1), COUNT(*) FILTER (WHERE type = 2) ";

SpendTotals SpendAt(const pqxx::row& row, int first) {
  return SpendTotals{.total_micros = row[first].as<int64_t>(),
                     .today_micros = row[first + 1].as<int64_t>(),
                     .impressions = row[first + 2].as<int64_t>(),
                     .clicks = row[first + 3].as<int64_t>()};
}

// Locks the spend row of `campaign` (made if missing) and reads it.
Spend LockSpend(pqxx::transaction_base& txn, const std::string& campaign) {
  txn.exec_params(
      "INSERT INTO campaign_spend(campaign_id, total_micros, day, today_micros) "
      "VALUES($1, 0, 0, 0) ON CONFLICT(campaign_id) DO NOTHING",
      campaign);
  pqxx::row row = txn.exec_params1(
      "SELECT total_micros, day, today_micros FROM campaign_spend WHERE campaign_id = $1 "
      "FOR UPDATE",
      campaign);
  return Spend{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(), false};
}

// A PostgreSQL array literal of `values`, each element quoted, for one
// parameter in place of a statement per value.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string IntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (int64_t v : values) absl::StrAppend(&out, out.size() > 1 ? "," : "", v);
  return out + "}";
}

// LockSpend for every campaign of `spends` in two statements, locking in
// the same order (byte order, as the map's and COLLATE "C").
void LockAllSpend(pqxx::transaction_base& txn,
                  std::map<std::string, absl::StatusOr<Spend>>& spends) {
  std::vector<std::string> ids;
  for (const auto& [campaign, spend] : spends) ids.push_back(campaign);
  const std::string array = TextArray(ids);
  txn.exec_params(
      "INSERT INTO campaign_spend(campaign_id, total_micros, day, today_micros) "
      "SELECT id, 0, 0, 0 FROM unnest($1::text[]) AS id ON CONFLICT(campaign_id) DO NOTHING",
      array);
  pqxx::result rows = txn.exec_params(
      "SELECT campaign_id, total_micros, day, today_micros FROM campaign_spend "
      "WHERE campaign_id = ANY($1::text[]) ORDER BY campaign_id COLLATE \"C\" FOR UPDATE",
      array);
  for (const pqxx::row& row : rows) {
    spends.at(row[0].c_str()) =
        Spend{row[1].as<int64_t>(), row[2].as<int64_t>(), row[3].as<int64_t>(), false};
  }
  if (rows.size() != spends.size()) {
    // Not expected (the rows were made above); the batch is then done again
    // a campaign at a time, where a missing row fails its events alone.
    throw pqxx::sql_error(
        absl::StrCat("locked ", rows.size(), " campaign_spend rows of ", spends.size()));
  }
}

// Ledger rows of a batch, written in one statement at its end.
struct LedgerRows {
  std::vector<std::string> token_hash, account, campaign_id;
  std::vector<int64_t> amount_micros, at_ms;
};

// Records one event inside txn against the locked spend; updates `spend`
// only once every write of the event has succeeded, so an event rolled back
// to its savepoint leaves it as it was. With `deferred`, the event's ledger
// rows are added there instead of inserted (the caller inserts them before
// the commit).
RecordResult RecordOne(pqxx::transaction_base& txn, const BillingEvent& event, Spend* spend,
                       LedgerRows* deferred = nullptr) {
  Spend next;
  if (spend != nullptr) {
    next = *spend;
    // A new UTC day starts the daily counter afresh; an event stamped with
    // an earlier day (a clock step back) counts against the later one.
    const int64_t event_day = event.at_ms / kMillisPerDay;
    if (event_day > next.day) {
      next.day = event_day;
      next.today = 0;
    }
    next.total += event.price_micros;
    next.today += event.price_micros;
    next.changed = true;
    if (event.enforce_budget &&
        (next.total > event.total_budget_micros ||
         (event.daily_budget_micros > 0 && next.today > event.daily_budget_micros))) {
      // A repeat of an event recorded before the budget ran out is still
      // a duplicate.
      pqxx::result exists =
          txn.exec_params("SELECT 1 FROM events WHERE token_hash = $1 AND type = $2",
                          event.token_hash, static_cast<int>(event.type));
      return exists.empty() ? RecordResult::kOverBudget : RecordResult::kDuplicate;
    }
  }
  pqxx::result inserted = txn.exec_params(
      "INSERT INTO events(token_hash, type, event_id, campaign_id, platform_id, price_micros, "
      "at_ms) VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(token_hash, type) DO NOTHING",
      event.token_hash, static_cast<int>(event.type), event.event_id, event.campaign_id,
      event.platform_id, event.price_micros, event.at_ms);
  if (inserted.affected_rows() == 0) return RecordResult::kDuplicate;
  for (const LedgerEntry& e : event.entries) {
    if (deferred != nullptr) {
      deferred->token_hash.push_back(event.token_hash);
      deferred->account.push_back(e.account);
      deferred->campaign_id.push_back(event.campaign_id);
      deferred->amount_micros.push_back(e.amount_micros);
      deferred->at_ms.push_back(event.at_ms);
      continue;
    }
    txn.exec_params(
        "INSERT INTO ledger(token_hash, account, campaign_id, amount_micros, at_ms) "
        "VALUES($1, $2, $3, $4, $5)",
        event.token_hash, e.account, event.campaign_id, e.amount_micros, event.at_ms);
  }
  if (spend != nullptr) *spend = next;
  return RecordResult::kAccepted;
}

// Runs body() in a savepoint of txn: when it throws an SQL error, the
// savepoint is rolled back (the transaction lives on) and the error
// returned. A lost connection propagates. (Plain SAVEPOINT statements:
// libpqxx 6.4's subtransaction did not roll back on a failed statement
// here.)
template <typename Body>
absl::Status InSavepoint(pqxx::transaction_base& txn, Body body) {
  txn.exec("SAVEPOINT event");
  try {
    body();
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::sql_error&) {
    absl::Status s = pg::CurrentExceptionStatus("record event");
    txn.exec("ROLLBACK TO SAVEPOINT event");
    txn.exec("RELEASE SAVEPOINT event");
    return s;
  }
  txn.exec("RELEASE SAVEPOINT event");
  return absl::OkStatus();
}

// One attempt at the batch in one transaction; with_savepoints puts each
// campaign's lock and each event in its own subtransaction, so that one
// that fails fails alone. Without savepoints the statements that do not
// decide an event's result are one a batch, not one a campaign or a ledger
// row (the locks, the ledger rows, the spend totals): each is a round trip,
// and the campaigns' locks are held across all of them.
void RecordInTransaction(pqxx::connection& conn, const std::vector<BillingEvent>& events,
                         std::vector<absl::StatusOr<RecordResult>>& results, bool with_savepoints) {
  pqxx::work txn(conn);
  std::map<std::string, absl::StatusOr<Spend>> spends;  // Ordered: the lock order.
  for (size_t i = 0; i < events.size(); ++i) {
    if (results[i].ok() && Charged(events[i])) spends.emplace(events[i].campaign_id, Spend{});
  }
  if (!with_savepoints) {
    if (!spends.empty()) LockAllSpend(txn, spends);
  } else {
    for (auto& [campaign, spend] : spends) {
      absl::Status failed = InSavepoint(txn, [&] { spend = LockSpend(txn, campaign); });
      if (!failed.ok()) spend = failed;
    }
  }
  LedgerRows ledger;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!results[i].ok()) continue;
    Spend* spend = nullptr;
    if (Charged(events[i])) {
      absl::StatusOr<Spend>& locked = spends.at(events[i].campaign_id);
      if (!locked.ok()) {
        results[i] = locked.status();
        continue;
      }
      spend = &*locked;
    }
    if (!with_savepoints) {
      results[i] = RecordOne(txn, events[i], spend, &ledger);
      continue;
    }
    absl::Status failed = InSavepoint(txn, [&] { results[i] = RecordOne(txn, events[i], spend); });
    if (!failed.ok()) results[i] = failed;
  }
  if (!ledger.token_hash.empty()) {
    txn.exec_params(
        "INSERT INTO ledger(token_hash, account, campaign_id, amount_micros, at_ms) "
        "SELECT h, a, c, m, t FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
        "$5::bigint[]) WITH ORDINALITY AS r(h, a, c, m, t, n) ORDER BY n",
        TextArray(ledger.token_hash), TextArray(ledger.account), TextArray(ledger.campaign_id),
        IntArray(ledger.amount_micros), IntArray(ledger.at_ms));
  }
  // One write per campaign, however many of its events the batch billed;
  // without savepoints, one statement for all of them.
  std::vector<std::string> ids;
  std::vector<int64_t> totals, days, todays;
  for (const auto& [campaign, spend] : spends) {
    if (!spend.ok() || !spend->changed) continue;
    if (!with_savepoints) {
      ids.push_back(campaign);
      totals.push_back(spend->total);
      days.push_back(spend->day);
      todays.push_back(spend->today);
      continue;
    }
    txn.exec_params(
        "UPDATE campaign_spend SET total_micros = $2, day = $3, today_micros = $4 "
        "WHERE campaign_id = $1",
        campaign, spend->total, spend->day, spend->today);
  }
  if (!ids.empty()) {
    txn.exec_params(
        "UPDATE campaign_spend s SET total_micros = u.t, day = u.d, today_micros = u.td "
        "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(id, t, d, td) "
        "WHERE s.campaign_id = u.id",
        TextArray(ids), IntArray(totals), IntArray(days), IntArray(todays));
  }
  txn.commit();
}

}  // namespace

absl::Status PgRecordEventBatch(pqxx::connection& conn, const std::vector<BillingEvent>& events,
                                std::vector<absl::StatusOr<RecordResult>>& results) {
  // First without savepoints (a round trip fewer per event). Should a
  // statement fail (PostgreSQL then aborts the whole transaction), it is
  // done again with a savepoint per event, so that the failing event fails
  // alone and the others still commit. Lost connections, deadlocks and
  // serialization failures are not the events' fault: they propagate.
  const std::vector<absl::StatusOr<RecordResult>> validated = results;
  try {
    RecordInTransaction(conn, events, results, /*with_savepoints=*/false);
    return absl::OkStatus();
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    throw;
  } catch (const pqxx::transaction_rollback&) {
    throw;
  } catch (const pqxx::sql_error&) {
    results = validated;
  }
  RecordInTransaction(conn, events, results, /*with_savepoints=*/true);
  return absl::OkStatus();
}

SpendTotals PgReadSpend(pqxx::connection& conn, const std::string& campaign_id,
                        int64_t day_start_ms) {
  pqxx::read_transaction txn(conn);
  return SpendAt(
      txn.exec_params1(absl::StrCat("SELECT ", kSpendColumns, "FROM events WHERE campaign_id = $2"),
                       day_start_ms, campaign_id),
      0);
}

std::vector<std::pair<std::string, SpendTotals>> PgReadAllSpend(pqxx::connection& conn,
                                                                int64_t day_start_ms) {
  pqxx::read_transaction txn(conn);
  std::vector<std::pair<std::string, SpendTotals>> out;
  for (const pqxx::row& row :
       txn.exec_params(absl::StrCat("SELECT campaign_id, ", kSpendColumns,
                                    "FROM events GROUP BY campaign_id ORDER BY campaign_id"),
                       day_start_ms)) {
    out.emplace_back(row[0].c_str(), SpendAt(row, 1));
  }
  return out;
}

LedgerBalances PgReadBalances(pqxx::connection& conn, const std::string& prefix) {
  // One snapshot for the balances and the sum.
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn);
  LedgerBalances out;
  // left() instead of LIKE: the prefix is data, and '%' or '_' in it must
  // not act as wildcards.
  for (const pqxx::row& row : txn.exec_params(
           "SELECT account, SUM(amount_micros)::BIGINT FROM ledger "
           "WHERE left(account, length($1)) = $1 GROUP BY account ORDER BY account COLLATE \"C\"",
           prefix)) {
    out.accounts.push_back(
        Balance{.account = row[0].c_str(), .balance_micros = row[1].as<int64_t>()});
  }
  out.ledger_sum_micros =
      txn.exec1("SELECT COALESCE(SUM(amount_micros), 0)::BIGINT FROM ledger")[0].as<int64_t>();
  return out;
}

LedgerCheckResult PgCheckLedger(pqxx::connection& conn) {
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn);  // One snapshot.
  LedgerCheckResult out;
  constexpr int kMaxListed = 20;  // Problems listed per kind.
  pqxx::row totals = txn.exec1(
      "SELECT COALESCE(SUM(amount_micros), 0)::BIGINT, COUNT(DISTINCT token_hash), "
      "COUNT(DISTINCT account) FROM ledger");
  out.ledger_sum_micros = totals[0].as<int64_t>();
  out.events_checked = totals[1].as<int64_t>();
  out.accounts_checked = totals[2].as<int64_t>();
  if (out.ledger_sum_micros != 0) {
    out.problems.push_back(absl::StrCat("the ledger sums to ", out.ledger_sum_micros, ", not 0"));
  }
  for (const pqxx::row& r :
       txn.exec("SELECT token_hash, SUM(amount_micros)::BIGINT FROM ledger GROUP BY token_hash "
                "HAVING SUM(amount_micros) != 0 LIMIT 20")) {
    out.problems.push_back(
        absl::StrCat("event ", r[0].c_str(), ": entries sum to ", r[1].as<int64_t>()));
  }
  // Every billed impression has its advertiser debit, and no more.
  for (const pqxx::row& r : txn.exec(absl::StrCat(
           "SELECT e.token_hash, e.price_micros, COALESCE(l.debit, 0)::BIGINT FROM events e "
           "LEFT JOIN (SELECT token_hash, -SUM(amount_micros) AS debit FROM ledger "
           "WHERE left(account, 11) = 'advertiser:' GROUP BY token_hash) l "
           "ON l.token_hash = e.token_hash WHERE e.type = 1 AND "
           "e.price_micros != COALESCE(l.debit, 0) LIMIT ",
           kMaxListed))) {
    out.problems.push_back(absl::StrCat("event ", r[0].c_str(), ": price ", r[1].as<int64_t>(),
                                        " but advertiser debit ", r[2].as<int64_t>()));
  }
  // Per campaign: billed events, advertiser debits and the spend counter
  // that the budget cap reads all agree.
  for (const pqxx::row& r : txn.exec(
           "SELECT c.campaign_id, c.billed::BIGINT, COALESCE(l.debits, 0)::BIGINT, "
           "COALESCE(s.total_micros, 0) FROM (SELECT campaign_id, SUM(price_micros) AS billed "
           "FROM events WHERE type = 1 GROUP BY campaign_id) c LEFT JOIN (SELECT campaign_id, "
           "-SUM(amount_micros) AS debits FROM ledger WHERE left(account, 11) = 'advertiser:' "
           "GROUP BY campaign_id) l ON l.campaign_id = c.campaign_id LEFT JOIN campaign_spend s "
           "ON s.campaign_id = c.campaign_id")) {
    ++out.campaigns_checked;
    const int64_t billed = r[1].as<int64_t>(), debits = r[2].as<int64_t>(),
                  counter = r[3].as<int64_t>();
    if (billed != debits || billed != counter) {
      out.problems.push_back(absl::StrCat("campaign ", r[0].c_str(), ": billed ", billed,
                                          ", advertiser debits ", debits, ", spend counter ",
                                          counter));
    }
  }
  return out;
}

}  // namespace attex::store
