#include "server/model_reloader.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

// The file's error as the operator's: what is wrong with `path`.
absl::StatusOr<std::shared_ptr<const attention::Model>> LoadChecked(const std::string& path,
                                                                    int d_model) {
  if (path.empty()) return std::shared_ptr<const attention::Model>(attention::Model::Default());
  auto loaded = attention::Model::Load(path);
  if (!loaded.ok()) {
    const auto code = loaded.status().code() == absl::StatusCode::kNotFound
                          ? absl::StatusCode::kNotFound
                          : absl::StatusCode::kInvalidArgument;
    return absl::Status(code, absl::StrCat("path: ", loaded.status().message()));
  }
  if ((*loaded)->d_model() != d_model) {
    return absl::InvalidArgumentError(
        absl::StrCat("path: ", path, ": the model's d_model is ", (*loaded)->d_model(),
                     " but the campaigns (their embeddings) were validated for ", d_model));
  }
  return std::shared_ptr<const attention::Model>(*std::move(loaded));
}

}  // namespace

ModelReloader::ModelReloader(CatalogManager* catalog, store::Store* store, store::WorkQueue* queue)
    : catalog_(catalog), store_(store), queue_(queue), thread_([this] { Loop(); }) {}

ModelReloader::~ModelReloader() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void ModelReloader::Start(std::string path, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!busy_ && !stop_) {
      busy_ = true;
      job_ = Job{std::move(path), std::move(done)};
      return;
    }
  }
  done(absl::FailedPreconditionError("a model reload is already in progress"));
}

void ModelReloader::Loop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ModelReloader* r)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) { return r->stop_ || r->job_.has_value(); },
          this));
      if (!job_.has_value()) return;  // Stopping, nothing queued.
      job = *std::move(job_);
      job_.reset();
    }
    Run(std::move(job));
  }
}

void ModelReloader::Run(Job job) {
  const absl::Time start = absl::Now();
  auto fail = [&](absl::Status status) {
    spdlog::warn("model reload refused, the old model keeps serving: {}", status.ToString());
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
    }
    job.done(std::move(status));
  };
  auto model = LoadChecked(job.path, catalog_->model()->d_model());
  if (!model.ok()) return fail(model.status());
  if (!catalog_->BeginModelChange()) {
    return fail(absl::FailedPreconditionError("a model change is already in progress"));
  }
  // After BeginModelChange: a change the store read misses is kept by the
  // manager and compiled again at the swap.
  auto campaigns = store_->LoadAllCampaigns();
  if (!campaigns.ok()) {
    catalog_->AbandonModelChange();
    return fail(campaigns.status());
  }
  auto prepared =
      std::make_shared<CatalogManager::PreparedModel>(catalog_->PrepareModel(*model, *campaigns));
  auto result = std::make_shared<ReloadResult>();
  result->model_version = (*model)->version();
  result->ads_embedded = static_cast<int64_t>(prepared->catalog->ads.size());
  result->embed_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  queue_->Submit([this, prepared, result, done = std::move(job.done)]() mutable {
    const absl::Time swap_start = absl::Now();
    catalog_->InstallModel(std::move(*prepared));
    result->swap_seconds = absl::ToDoubleSeconds(absl::Now() - swap_start);
    spdlog::info(
        "model reloaded: {} ({} ads embedded in {:.3f} s off the work queue, swapped in "
        "{:.6f} s)",
        result->model_version, result->ads_embedded, result->embed_seconds, result->swap_seconds);
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
    }
    return [result, done = std::move(done)] { done(*result); };
  });
}

}  // namespace attex::server
