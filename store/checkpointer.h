// Checkpoints a WAL-mode database on a thread of its own, so that a commit
// waits for its own WAL fsync only, not for copying earlier commits into the
// database file and fsyncing that. Internal to attex::store.
#ifndef ATTEX_STORE_CHECKPOINTER_H_
#define ATTEX_STORE_CHECKPOINTER_H_

#include <sqlite3.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "store/sqlite.h"

namespace attex::store {

class Checkpointer final {
 public:
  // WAL frames after which a commit asks for a background checkpoint, and
  // after which the committing connection checkpoints itself: a background
  // (passive) checkpoint cannot make the WAL start over while commits keep
  // coming, so the file would otherwise grow without bound.
  static constexpr int kBackgroundFrames = 1000;
  static constexpr int kInlineFrames = 32 * kBackgroundFrames;

  // Opens a second connection to the database at path (synchronous=FULL,
  // so the copy is synced before the WAL can be reused) and starts the
  // thread. INTERNAL when SQLite cannot open it.
  static absl::StatusOr<std::unique_ptr<Checkpointer>> Start(const std::string& path);
  ~Checkpointer();  // Stops the thread; a checkpoint under way completes.

  // Installs the WAL hook on the writing connection `db` (instead of
  // SQLite's auto-checkpoint). The hook calls this object, which must
  // outlive db's last commit.
  void Attach(sqlite3* db);

 private:
  explicit Checkpointer(sqlite::DbHandle db);
  static int OnCommit(void* self, sqlite3* db, const char* name, int frames);
  void Loop();

  sqlite::DbHandle db_;  // Used by the thread only.
  absl::Mutex mu_;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace attex::store

#endif  // ATTEX_STORE_CHECKPOINTER_H_
