// Admission control. Admission: at most max_in_flight calls are worked on at
// once; past that a call is refused at once with RESOURCE_EXHAUSTED rather
// than queued, so that memory and queueing delay stay bounded and clients
// can back off or go to another replica. A call whose deadline has already
// passed is not worked on (DEADLINE_EXCEEDED), neither when it arrives nor
// when it reaches the front of the work queue. Thread-safe.
//
// QueueLimit: how much work a queue served by a few threads may take on, for
// the Bid calls (BidQueue). Admission there is decided when a call arrives.
#ifndef ATTEX_SERVER_ADMISSION_H_
#define ATTEX_SERVER_ADMISSION_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "server/metrics.h"

namespace attex::server {

class Admission final {
 public:
  // max_in_flight 0: no bound. `metrics` counts the calls in flight and the
  // shed ones; it must outlive this.
  Admission(int64_t max_in_flight, Metrics* metrics)
      : max_in_flight_(max_in_flight), metrics_(metrics) {}

  // Whether a call that has just arrived may be worked on.
  absl::Status Admit(const grpc::CallbackServerContext& ctx) const;
  // Whether queued work is still wanted: DEADLINE_EXCEEDED once `deadline`
  // has passed.
  absl::Status StillWanted(absl::Time deadline) const;

  int64_t max_in_flight() const { return max_in_flight_; }

 private:
  const int64_t max_in_flight_;
  Metrics* const metrics_;
};

// An adaptive bound on a queue of jobs served by `workers` threads, in the
// manner of an adaptive concurrency limit: the service time of a job is
// measured as jobs finish (a moving average of their wall time on a worker,
// which includes the CPU that other threads take from it), and Little's law
// turns it into the wait of a job that arrives behind the ones queued. A job
// is taken only if that wait is at most `max_delay` (so that the queue holds
// what the workers drain within it, whatever the catalogue costs) and it can
// be answered before its own deadline. Everything else is refused at
// arrival, when refusing is cheap and the caller can still go elsewhere.
// Not thread-safe: its owner serialises the calls.
class QueueLimit final {
 public:
  // Before the first job has been measured, one is taken to cost this.
  static constexpr absl::Duration kInitialService = absl::Milliseconds(1);

  QueueLimit(int workers, absl::Duration max_delay);

  // Why a job that arrives at `now`, with `waiting` jobs queued and
  // `running` being served (for `running_elapsed` in all so far), and must
  // be answered by `deadline`, is refused: kQueue when the wait for a
  // worker would pass max_delay, kLate when it could not be answered before
  // `deadline`; nullopt when it is taken.
  std::optional<Metrics::ShedReason> Refusal(
      absl::Time now, absl::Time deadline, int64_t waiting, int64_t running,
      absl::Duration running_elapsed = absl::ZeroDuration()) const;
  // The expected wait for a worker of a job arriving behind `waiting`
  // queued and `running` served jobs: the work ahead of it less what the
  // running ones have done (`running_elapsed`, each counted up to the
  // service time). A call that arrives as the one before it is answering
  // (a client with one call in flight) waits for nothing.
  absl::Duration Wait(int64_t waiting, int64_t running,
                      absl::Duration running_elapsed = absl::ZeroDuration()) const;
  // One job was served in `service` (wall time on its worker). A sample
  // past four times the current estimate counts as four times it, so that
  // one preempted job does not close the queue for long.
  void Served(absl::Duration service);

  absl::Duration service() const { return service_; }
  absl::Duration max_delay() const { return max_delay_; }
  int workers() const { return workers_; }
  // Jobs that may wait at most: max_delay's worth at the measured service
  // time.
  int64_t limit() const;

 private:
  const int workers_;
  const absl::Duration max_delay_;
  absl::Duration service_ = kInitialService;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_ADMISSION_H_
