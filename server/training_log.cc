#include "server/training_log.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "auction/billing_token.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "training-";
constexpr std::string_view kSuffix = ".pb";

bool IsLogFile(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.starts_with(kPrefix) && name.ends_with(kSuffix);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TrainingLog>> TrainingLog::Open(TrainingLogOptions options,
                                                               std::string user_key) {
  if (options.file_bytes < 1) {
    return absl::InvalidArgumentError("training_log_file_bytes must be positive");
  }
  if (options.max_bytes < options.file_bytes) {
    return absl::InvalidArgumentError(
        "training_log_max_bytes must be at least training_log_file_bytes");
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("training_log ", options.dir, ": ", ec.message()));
  return std::unique_ptr<TrainingLog>(new TrainingLog(std::move(options), std::move(user_key)));
}

TrainingLog::TrainingLog(TrainingLogOptions options, std::string user_key)
    : options_(std::move(options)), user_key_(std::move(user_key)) {
  writer_ = std::thread([this] { Run(); });
}

TrainingLog::~TrainingLog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  writer_.join();
}

std::string TrainingLog::UserHash(const std::string& user_id) const {
  if (user_id.empty()) return "";
  return auction::Sha256Hex(absl::StrCat(user_key_, "\n", user_id));
}

void TrainingLog::Served(attex::v1::TrainingImpression record, int64_t expires_ms) {
  absl::MutexLock lock(&mu_);
  if (pending_ >= options_.max_pending) {
    ++counts_.dropped;
    return;
  }
  ++pending_;
  ++enqueued_;
  const uint64_t nonce = record.impression_id();
  queue_.push_back({Kind::kServed, nonce, expires_ms,
                    std::make_shared<attex::v1::TrainingImpression>(std::move(record))});
}

void TrainingLog::Impression(uint64_t nonce, int64_t at_ms) {
  absl::MutexLock lock(&mu_);
  ++enqueued_;
  queue_.push_back({Kind::kImpression, nonce, at_ms, nullptr});
}

void TrainingLog::Click(uint64_t nonce, int64_t at_ms) {
  absl::MutexLock lock(&mu_);
  ++enqueued_;
  queue_.push_back({Kind::kClick, nonce, at_ms, nullptr});
}

void TrainingLog::Flush() {
  absl::MutexLock lock(&mu_);
  std::pair<TrainingLog*, int64_t> until(this, enqueued_);
  mu_.Await(absl::Condition(
      +[](std::pair<TrainingLog*, int64_t>* a) {
        a->first->mu_.AssertHeld();
        return a->first->written_ >= a->second;
      },
      &until));
}

TrainingLog::Counts TrainingLog::counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

void TrainingLog::Run() {
  std::vector<Item> batch;
  for (;;) {
    bool stop;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](TrainingLog* log) {
                                 log->mu_.AssertHeld();
                                 return log->stop_ || !log->queue_.empty();
                               },
                               this),
                           absl::Seconds(1));
      batch.swap(queue_);
      stop = stop_;
    }
    for (Item& item : batch) Handle(item);
    if (out_.is_open()) out_.flush();
    Sweep(absl::ToUnixMillis(absl::Now()));
    {
      absl::MutexLock lock(&mu_);
      written_ += static_cast<int64_t>(batch.size());
    }
    batch.clear();
    if (stop) {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) break;
    }
  }
}

void TrainingLog::Handle(Item& item) {
  switch (item.kind) {
    case Kind::kServed:
      served_[item.nonce] = std::move(item);
      return;
    case Kind::kImpression: {
      auto it = served_.find(item.nonce);
      if (it == served_.end()) return;  // Dropped, expired, or billed before.
      attex::v1::TrainingRecord record;
      *record.mutable_impression() = std::move(*it->second.record);
      record.mutable_impression()->set_at_ms(item.ms);
      logged_[item.nonce] = it->second.ms;
      served_.erase(it);
      {
        absl::MutexLock lock(&mu_);
        --pending_;
        ++counts_.impressions;
      }
      Write(record);
      return;
    }
    case Kind::kClick: {
      if (!logged_.contains(item.nonce)) return;
      attex::v1::TrainingRecord record;
      record.mutable_click()->set_impression_id(item.nonce);
      record.mutable_click()->set_at_ms(item.ms);
      logged_.erase(item.nonce);  // One click an impression is joined.
      {
        absl::MutexLock lock(&mu_);
        ++counts_.clicks;
      }
      Write(record);
      return;
    }
  }
}

void TrainingLog::Write(const attex::v1::TrainingRecord& record) {
  if (!out_.is_open() || out_bytes_ >= options_.file_bytes) Rotate();
  if (!out_.is_open()) return;
  const size_t bytes = record.ByteSizeLong();
  if (!google::protobuf::util::SerializeDelimitedToOstream(record, &out_)) {
    spdlog::error("training log: cannot write {}", out_path_);
    return;
  }
  out_bytes_ += static_cast<int64_t>(bytes + 1 + (bytes >= 128) + (bytes >= 16384));
}

void TrainingLog::Rotate() {
  if (out_.is_open()) out_.close();
  // Names sort by time, so the oldest go first.
  out_path_ = (fs::path(options_.dir) / absl::StrFormat("%s%013d-%06d%s", kPrefix,
                                                        absl::ToUnixMillis(absl::Now()),
                                                        file_seq_++, kSuffix))
                  .string();
  out_.open(out_path_, std::ios::binary | std::ios::trunc);
  out_bytes_ = 0;
  if (!out_.is_open()) {
    spdlog::error("training log: cannot create {}", out_path_);
    return;
  }
  // Retention: the oldest whole files go while the total is past the bound.
  std::error_code ec;
  std::vector<std::pair<std::string, int64_t>> files;
  int64_t total = 0;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    if (!IsLogFile(entry.path())) continue;
    const int64_t size = static_cast<int64_t>(entry.file_size(ec));
    files.emplace_back(entry.path().string(), size);
    total += size;
  }
  std::sort(files.begin(), files.end());
  int64_t removed = 0;
  for (const auto& [path, size] : files) {
    if (total + options_.file_bytes <= options_.max_bytes || path == out_path_) break;
    if (fs::remove(path, ec)) {
      total -= size;
      ++removed;
    }
  }
  if (removed > 0) {
    absl::MutexLock lock(&mu_);
    counts_.files_removed += removed;
  }
}

void TrainingLog::Sweep(int64_t now_ms) {
  if (now_ms - last_sweep_ms_ < 10'000) return;
  last_sweep_ms_ = now_ms;
  size_t expired = 0;
  absl::erase_if(served_, [&](const auto& kv) {
    const bool gone = kv.second.ms < now_ms;
    expired += gone;
    return gone;
  });
  absl::erase_if(logged_, [&](const auto& kv) { return kv.second < now_ms; });
  if (expired > 0) {
    absl::MutexLock lock(&mu_);
    pending_ -= expired;
  }
}

}  // namespace attex::server
