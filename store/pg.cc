#include "store/pg.h"

#include <libpq-fe.h>

#include <exception>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace attex::store::pg {

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& dsn) {
  // A malformed connection string is the caller's error, not an outage:
  // libpq's parser tells them apart before any connection is tried.
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return absl::InvalidArgumentError(absl::StrCat("malformed PostgreSQL DSN: ", message));
  }
  PQconninfoFree(options);
  try {
    auto conn = std::make_unique<pqxx::connection>(dsn);
    return conn;
  } catch (...) {
    return absl::UnavailableError(CurrentExceptionStatus("connect to PostgreSQL").message());
  }
}

absl::Status CurrentExceptionStatus(const std::string& what) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(what, ": connection lost: ", e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat(what, ": commit in doubt: ", e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    return absl::AbortedError(absl::StrCat(what, ": ", e.what()));
  } catch (const pqxx::unique_violation& e) {
    return absl::AlreadyExistsError(absl::StrCat(what, ": ", e.what()));
  } catch (const pqxx::sql_error& e) {
    // Class 22: data exceptions (invalid UTF-8, NUL in text, out of range);
    // 57P01..57P03: the server shutting down or not yet accepting.
    const std::string& state = e.sqlstate();
    if (state.rfind("22", 0) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
    }
    if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
      return absl::UnavailableError(absl::StrCat(what, ": ", e.what()));
    }
    return absl::InternalError(absl::StrCat(what, ": [", state, "] ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

std::string ByteaLiteral(const std::string& bytes) {
  return absl::StrCat("\\x", absl::BytesToHexString(bytes));
}

std::string FromHex(const pqxx::field& hex) {
  return absl::HexStringToBytes(absl::string_view(hex.c_str(), hex.size()));
}

}  // namespace attex::store::pg
