// The training log (--training_log DIR, docs/model.md): one record per
// billed impression of a consented request, and one per click on it, as
// length-delimited attex.v1.TrainingRecord messages in size-rotated files
// with a bound on their total size.
#ifndef ATTEX_SERVER_TRAINING_LOG_H_
#define ATTEX_SERVER_TRAINING_LOG_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "attex/v1/training.pb.h"

namespace attex::server {

struct TrainingLogOptions {
  std::string dir;                         // Empty: no training log.
  int64_t file_bytes = int64_t{64} << 20;  // A new file past this size.
  int64_t max_bytes = int64_t{1} << 30;    // The oldest files go past this in all.
  // Placements waiting for their impression; past it new ones are not logged.
  size_t max_pending = 1 << 20;
};

// Thread-safe. Served (the Bid path) and Event (the work queue) take one
// short lock and never touch the disk; a writer thread of its own joins
// impressions to their placements and writes.
class TrainingLog final {
 public:
  // Creates `options.dir` if needed. `user_key`: the secret of the user id
  // hash. INVALID_ARGUMENT for bad sizes; INTERNAL if the folder cannot be
  // made.
  static absl::StatusOr<std::unique_ptr<TrainingLog>> Open(TrainingLogOptions options,
                                                           std::string user_key);
  ~TrainingLog();  // Writes what is queued, then stops the writer.

  // A placement of a consented request: `record` lacks only at_ms, which
  // its impression sets. Kept until `expires_ms` (its billing token's).
  void Served(attex::v1::TrainingImpression record, int64_t expires_ms);
  // An accepted billing event of a placement (by its nonce): an impression
  // writes the placement's record, a click one on a logged impression.
  void Impression(uint64_t nonce, int64_t at_ms);
  void Click(uint64_t nonce, int64_t at_ms);

  // The hex keyed hash of a user id that records carry ("" for "").
  std::string UserHash(const std::string& user_id) const;
  // Blocks until everything queued before the call is written and flushed.
  void Flush();

  // What the writer has done so far.
  struct Counts {
    int64_t impressions = 0, clicks = 0, dropped = 0, files_removed = 0;
  };
  Counts counts() const;

 private:
  enum class Kind { kServed, kImpression, kClick };
  struct Item {
    Kind kind;
    uint64_t nonce = 0;
    int64_t ms = 0;  // at_ms, or the placement's expiry.
    std::shared_ptr<attex::v1::TrainingImpression> record;
  };

  TrainingLog(TrainingLogOptions options, std::string user_key);
  void Run();
  void Handle(Item& item);
  void Write(const attex::v1::TrainingRecord& record);
  void Rotate();
  void Sweep(int64_t now_ms);

  const TrainingLogOptions options_;
  const std::string user_key_;
  mutable absl::Mutex mu_;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;  // Served items queued or held.
  int64_t enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;  // Items handled and flushed.
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Counts counts_ ABSL_GUARDED_BY(mu_);

  // The writer thread's own.
  absl::flat_hash_map<uint64_t, Item> served_;
  absl::flat_hash_map<uint64_t, int64_t> logged_;  // Impression -> until when a click joins.
  std::ofstream out_;
  std::string out_path_;
  int64_t out_bytes_ = 0;
  int64_t file_seq_ = 0;
  int64_t last_sweep_ms_ = 0;
  std::thread writer_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_TRAINING_LOG_H_
