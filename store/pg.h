// What the PostgreSQL store's files share (internal to attex::store, and
// the only header that includes libpqxx): opening a connection, and turning
// libpqxx's exceptions into absl::Status at the store's boundary, since no
// exception leaves the store.
#ifndef ATTEX_STORE_PG_H_
#define ATTEX_STORE_PG_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace attex::store::pg {

// Opens a connection to `dsn` (a libpq connection string or URI).
// UNAVAILABLE, naming the server libpq reports, when it cannot connect.
absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& dsn);

// The status of the exception being handled (call from a catch block):
// UNAVAILABLE for a lost connection or a commit in doubt (the caller may
// retry: billing events are deduplicated), ABORTED for a deadlock or a
// serialization failure, ALREADY_EXISTS for a unique violation,
// INVALID_ARGUMENT for data PostgreSQL refuses (bad UTF-8, a NUL byte),
// INTERNAL otherwise. `what` prefixes the message.
absl::Status CurrentExceptionStatus(const std::string& what);

// Whether `status` says the connection is gone (the caller drops it and
// opens a new one on the next call).
inline bool ConnectionLost(const absl::Status& status) { return absl::IsUnavailable(status); }

// bytea in text form: "\x" and lower-case hex. A parameter written so needs
// no binary format; read a column back with encode(column, 'hex').
std::string ByteaLiteral(const std::string& bytes);
std::string FromHex(const pqxx::field& hex);

}  // namespace attex::store::pg

#endif  // ATTEX_STORE_PG_H_
