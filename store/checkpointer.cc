#include "store/checkpointer.h"

#include <utility>

namespace attex::store {

absl::StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path) {
  absl::StatusOr<sqlite::DbHandle> db = sqlite::Open(path);
  if (!db.ok()) return db.status();
  if (absl::Status s = sqlite::Exec(db->get(), "PRAGMA synchronous=FULL"); !s.ok()) return s;
  return std::unique_ptr<Checkpointer>(new Checkpointer(*std::move(db)));
}

Checkpointer::Checkpointer(sqlite::DbHandle db) : db_(std::move(db)), thread_([this] { Loop(); }) {}

Checkpointer::~Checkpointer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void Checkpointer::Attach(sqlite3* db) { sqlite3_wal_hook(db, &OnCommit, this); }

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* name, int frames) {
  if (frames >= kInlineFrames) {
    // What the background checkpoints have copied is not copied again, so
    // this is mostly the database fsync. Errors (SQLITE_BUSY while a
    // background checkpoint runs) leave it to the next commit.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (frames >= kBackgroundFrames) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    absl::MutexLock lock(&checkpointer->mu_);
    checkpointer->requested_ = true;
  }
  return SQLITE_OK;  // The commit itself succeeded whatever happens here.
}

void Checkpointer::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Checkpointer* c)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) { return c->requested_ || c->stopping_; },
          this));
      if (stopping_) return;
      requested_ = false;
    }
    // PASSIVE: never waits for, or blocks, the writer. A failure is retried
    // at the next request (or the writer checkpoints inline).
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

}  // namespace attex::store
