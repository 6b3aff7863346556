// Campaign changes committed by any replica, followed through PostgreSQL:
// every campaign write draws the next change_seq and notifies the channel
// attex_campaigns at commit (pg_schema.h, version 2). The feed LISTENs on
// a connection of its own and, on each notification (and every
// `poll_interval` in case one is lost), reads the campaigns whose
// change_seq is past the last it has seen. After its connection is lost it
// reconnects (every second while PostgreSQL is away) and reads what
// changed meanwhile, so a replica misses nothing.
#ifndef ATTEX_STORE_PG_CAMPAIGN_FEED_H_
#define ATTEX_STORE_PG_CAMPAIGN_FEED_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attex/v1/campaign.pb.h"

namespace attex::store {

class PgCampaignFeed final {
 public:
  // Campaigns as stored, in change order; a campaign may come again (at a
  // reconnect, or a change the replica made itself), so the receiver keeps
  // a campaign only when its version is newer than what it has.
  using Apply = std::function<void(std::vector<attex::v1::Campaign>)>;

  // Connects to `dsn`, LISTENs and notes the latest change: open the feed
  // before loading the catalogue, then Start it, so that a change committed
  // in between is read again rather than missed. UNAVAILABLE when
  // PostgreSQL cannot be reached.
  static absl::StatusOr<std::unique_ptr<PgCampaignFeed>> Open(
      std::string dsn, absl::Duration poll_interval = absl::Seconds(5));
  ~PgCampaignFeed();  // Stops the thread (within ~100 ms).
  PgCampaignFeed(const PgCampaignFeed&) = delete;
  PgCampaignFeed& operator=(const PgCampaignFeed&) = delete;

  // Starts the feed's thread, which calls `apply` with each group of
  // changes. Once only.
  void Start(Apply apply);
  // The last change_seq passed to apply (or noted by Open).
  int64_t last_change() const;

 private:
  struct Connection;
  PgCampaignFeed(std::string dsn, absl::Duration poll_interval);
  void Loop(Apply apply);
  // Reads and applies every change past last_change_. Throws libpqxx's
  // exceptions.
  void CatchUp(const Apply& apply);

  const std::string dsn_;
  const absl::Duration poll_interval_;
  std::unique_ptr<Connection> conn_;  // The feed thread's, once started.
  mutable absl::Mutex mu_;
  int64_t last_change_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace attex::store

#endif  // ATTEX_STORE_PG_CAMPAIGN_FEED_H_
