// Operator.ReloadModel off the work queue: loads and checks a model file,
// re-embeds every campaign with it on a thread of its own while the old
// model serves, then swaps the catalogue on the work queue (a pointer swap
// and the few campaigns changed meanwhile), so billing and campaign changes
// do not wait behind the re-embedding.
#ifndef ATTEX_SERVER_MODEL_RELOADER_H_
#define ATTEX_SERVER_MODEL_RELOADER_H_

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/catalog_manager.h"
#include "store/store.h"
#include "store/work_queue.h"

namespace attex::server {

struct ReloadResult {
  std::string model_version;
  int64_t ads_embedded = 0;
  double embed_seconds = 0;  // Reading, re-embedding and laying out, off the queue.
  double swap_seconds = 0;   // On the work queue.
};

class ModelReloader final {
 public:
  using Done = std::function<void(absl::StatusOr<ReloadResult>)>;

  // All three outlive the reloader.
  ModelReloader(CatalogManager* catalog, store::Store* store, store::WorkQueue* queue);
  // Finishes a reload in progress, then joins.
  ~ModelReloader();
  ModelReloader(const ModelReloader&) = delete;
  ModelReloader& operator=(const ModelReloader&) = delete;

  // Starts reloading from `path` (empty: the default model); never blocks.
  // `done` runs once: after the new model serves (on the work queue, after
  // its batch), or with the error that left the old model serving:
  // NOT_FOUND (no such file), INVALID_ARGUMENT "path: ..." (a bad checksum,
  // header or shape: a d_model other than the one campaigns were validated
  // for), FAILED_PRECONDITION (another reload in progress; answered at once).
  void Start(std::string path, Done done);

 private:
  struct Job {
    std::string path;
    Done done;
  };
  void Loop();
  void Run(Job job);

  CatalogManager* const catalog_;
  store::Store* const store_;
  store::WorkQueue* const queue_;
  absl::Mutex mu_;
  std::optional<Job> job_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_MODEL_RELOADER_H_
