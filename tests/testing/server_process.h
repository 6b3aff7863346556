// The real attex-server binary as a child process, for end-to-end tests:
// started on a free port (port 0, learnt from --port_file) with the test's
// own data directory, awaited until it serves, and stopped. The one place
// tests start the server, so the one place that knows how it comes up.
#ifndef ATTEX_TESTS_TESTING_SERVER_PROCESS_H_
#define ATTEX_TESTS_TESTING_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace attex::testing {

class ServerProcess final {
 public:
  // flags: extra flags, e.g. {"--demo"}; they come after (and so override)
  // the helper's own: --listen=127.0.0.1:0, --data_dir, --port_file,
  // --metrics_listen=127.0.0.1:0 and --log_level=warn (info with
  // $ATTEX_E2E_LOG set).
  ServerProcess(std::string data_dir, std::vector<std::string> flags = {});
  ~ServerProcess();  // SIGKILLs a server still running.
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits until it is ready: its port file names the
  // bound port (the server writes it once serving) and, if `plaintext`, the
  // gRPC health service answers SERVING on channel(). For a TLS server pass
  // false: only the port is awaited, and channel() stays null. False if the
  // server exits first, or has no port after 30 s, or does not answer the
  // health check 10 s after that. Start again after Stop to restart on the
  // same data directory (on a new port).
  bool Start(bool plaintext = true);
  // Sends `signal` and waits; returns the exit code (-1 if killed by a
  // signal, or if not running).
  int Stop(int signal = SIGTERM);
  // Stop in two steps, for a test that acts between them: Signal returns at
  // once, Wait returns what Stop would.
  void Signal(int signal);
  int Wait();
  // Runs the server in the foreground until it exits, for flags that must
  // stop it before it serves; returns its exit code (-1 if killed by a
  // signal) and appends its stdout and stderr to `output`.
  int RunToExit(std::string* output);

  // Where the server's stdout and stderr go from the next Start (appended);
  // empty (the default): the test's own.
  void set_log_file(std::string path) { log_file_ = std::move(path); }
  // What the server has written to its log file so far.
  std::string ReadLog() const;

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  std::vector<std::string> Args() const;

  std::string data_dir_;
  std::vector<std::string> flags_;
  std::string log_file_;
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

#endif  // ATTEX_TESTS_TESTING_SERVER_PROCESS_H_
