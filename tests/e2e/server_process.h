// Starts the real attex-server binary on a free port with its own data
// directory, for end-to-end tests, and stops it.
#ifndef ATTEX_TESTS_E2E_SERVER_PROCESS_H_
#define ATTEX_TESTS_E2E_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace attex::testing {

// A fresh temporary directory, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // flags: extra flags, e.g. {"--demo"}.
  ServerProcess(std::string data_dir, std::vector<std::string> flags = {});
  ~ServerProcess();  // SIGKILLs a server still running.

  // Starts the server and waits (up to 30 s) until it serves. False on
  // failure. plaintext: also wait until a plaintext channel connects (false
  // for a TLS server: then only the bound port is awaited).
  bool Start(bool plaintext = true);
  // Sends `signal` and waits; returns the exit code (-1 if killed by a signal).
  int Stop(int signal = 15);
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  std::string data_dir_;
  std::vector<std::string> flags_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context with "authorization: Bearer <token>" (none if empty) and
// a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token);

// The string values of a flat JSON object such as demo-tokens.json.
std::map<std::string, std::string> ReadFlatJson(const std::string& path);

}  // namespace attex::testing

#endif  // ATTEX_TESTS_E2E_SERVER_PROCESS_H_
