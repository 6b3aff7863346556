#include "store/pg_campaign_feed.h"

#include "absl/strings/str_cat.h"
#include "store/pg.h"
#include "store/pg_schema.h"

namespace attex::store {
namespace {

// LISTEN through libpqxx: notifications only wake the feed, which then
// reads the table; the payload is unused.
class Wakeup final : public pqxx::notification_receiver {
 public:
  Wakeup(pqxx::connection& conn) : pqxx::notification_receiver(conn, kPgCampaignChannel) {}
  void operator()(const std::string&, int) override {}
};

constexpr int kPageRows = 10'000;

}  // namespace

struct PgCampaignFeed::Connection {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Wakeup> wakeup;
};

namespace {

// A connection that LISTENs, and the latest change committed before it did.
absl::StatusOr<int64_t> Listen(const std::string& dsn, std::unique_ptr<pqxx::connection>& conn,
                               std::unique_ptr<Wakeup>& wakeup) {
  absl::StatusOr<std::unique_ptr<pqxx::connection>> opened = pg::Connect(dsn);
  if (!opened.ok()) return opened.status();
  try {
    auto w = std::make_unique<Wakeup>(**opened);  // LISTEN, at once.
    pqxx::read_transaction txn(**opened);
    const int64_t latest =
        txn.exec1("SELECT COALESCE(MAX(change_seq), 0) FROM campaigns")[0].as<int64_t>();
    txn.commit();
    conn = *std::move(opened);
    wakeup = std::move(w);
    return latest;
  } catch (...) {
    return pg::CurrentExceptionStatus("listen for campaign changes");
  }
}

}  // namespace

PgCampaignFeed::PgCampaignFeed(std::string dsn, absl::Duration poll_interval)
    : dsn_(std::move(dsn)), poll_interval_(poll_interval), conn_(std::make_unique<Connection>()) {}

absl::StatusOr<std::unique_ptr<PgCampaignFeed>> PgCampaignFeed::Open(std::string dsn,
                                                                     absl::Duration poll_interval) {
  std::unique_ptr<PgCampaignFeed> feed(new PgCampaignFeed(std::move(dsn), poll_interval));
  absl::StatusOr<int64_t> latest = Listen(feed->dsn_, feed->conn_->conn, feed->conn_->wakeup);
  if (!latest.ok()) return latest.status();
  absl::MutexLock lock(&feed->mu_);
  feed->last_change_ = *latest;
  return feed;
}

PgCampaignFeed::~PgCampaignFeed() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // The wakeup (UNLISTEN) goes before its connection.
  if (conn_ != nullptr) conn_->wakeup.reset();
}

void PgCampaignFeed::Start(Apply apply) {
  thread_ = std::thread([this, apply = std::move(apply)] { Loop(apply); });
}

int64_t PgCampaignFeed::last_change() const {
  absl::MutexLock lock(&mu_);
  return last_change_;
}

void PgCampaignFeed::CatchUp(const Apply& apply) {
  while (true) {
    const int64_t after = last_change();
    std::vector<attex::v1::Campaign> changed;
    int64_t last = after;
    {
      pqxx::read_transaction txn(*conn_->conn);
      pqxx::result rows = txn.exec_params(
          "SELECT id, encode(body, 'hex'), change_seq FROM campaigns WHERE change_seq > $1 "
          "ORDER BY change_seq LIMIT $2",
          after, kPageRows);
      for (const pqxx::row& row : rows) {
        attex::v1::Campaign c;
        // A body that does not parse was written by no replica of ours;
        // skipping it keeps the rest of the catalogue following.
        if (c.ParseFromString(pg::FromHex(row[1]))) changed.push_back(std::move(c));
        last = row[2].as<int64_t>();
      }
    }
    if (last == after) return;
    apply(std::move(changed));
    {
      absl::MutexLock lock(&mu_);
      last_change_ = last;
    }
  }
}

void PgCampaignFeed::Loop(Apply apply) {
  absl::Time next_poll = absl::Now();
  auto stopping = [this] {
    absl::MutexLock lock(&mu_);
    return stop_;
  };
  while (!stopping()) {
    try {
      if (conn_->conn == nullptr || !conn_->conn->is_open()) {
        conn_->wakeup.reset();
        conn_->conn.reset();
        std::unique_ptr<pqxx::connection> conn;
        std::unique_ptr<Wakeup> wakeup;
        if (!Listen(dsn_, conn, wakeup).ok()) {
          // PostgreSQL is away: try again in a second (checking stop).
          for (int i = 0; i < 10 && !stopping(); ++i) absl::SleepFor(absl::Milliseconds(100));
          continue;
        }
        conn_->conn = std::move(conn);
        conn_->wakeup = std::move(wakeup);
        next_poll = absl::Now();  // Read what changed while disconnected.
      }
      // Wakes within 100 ms for a notification or to check stop_.
      const int notified = conn_->conn->await_notification(0, 100'000);
      if (notified > 0 || absl::Now() >= next_poll) {
        CatchUp(apply);
        next_poll = absl::Now() + poll_interval_;
      }
    } catch (...) {
      // A lost connection: the next round reconnects and catches up.
      conn_->wakeup.reset();
      conn_->conn.reset();
    }
  }
}

}  // namespace attex::store
