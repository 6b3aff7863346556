#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "health.grpc.pb.h"
#include "tests/testing/poll.h"

namespace attex::testing {
namespace {

// execv's argv for `args` (which must outlive it).
std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// On SIGTERM the server's gRPC shutdown waits for each connected client to
// answer the PING that comes with its GOAWAY; a client channel with no call
// in flight reads its socket only on gRPC's backup poll, every 5 s by
// default, so every test that stopped a server while holding a channel
// waited 5 s. Set before gRPC starts (it reads the variable at init); a
// value already in the environment wins.
[[maybe_unused]] const bool kFastBackupPoll = [] {
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "50", /*overwrite=*/0);
  return true;
}();

}  // namespace

ServerProcess::ServerProcess(std::string data_dir, std::vector<std::string> flags)
    : data_dir_(std::move(data_dir)), flags_(std::move(flags)) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL);
}

std::vector<std::string> ServerProcess::Args() const {
  std::vector<std::string> args = {
      ATTEX_SERVER_BIN,
      "--listen=127.0.0.1:0",
      "--data_dir=" + data_dir_,
      "--port_file=" + data_dir_ + "/port",
      "--metrics_listen=127.0.0.1:0",
      std::getenv("ATTEX_E2E_LOG") ? "--log_level=info" : "--log_level=warn"};
  args.insert(args.end(), flags_.begin(), flags_.end());
  return args;
}

bool ServerProcess::Start(bool plaintext) {
  const std::string port_file = data_dir_ + "/port";
  std::error_code ec;
  std::filesystem::remove(port_file, ec);
  port_ = 0;
  channel_.reset();
  std::vector<std::string> args = Args();
  std::vector<char*> argv = Argv(args);  // Before fork: the child only execs.
  const int log_fd = log_file_.empty()
                         ? -1
                         : open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (!log_file_.empty() && log_fd < 0) return false;
  pid_ = fork();
  if (pid_ == 0) {
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);  // dup2 clears close-on-exec on the copies.
      dup2(log_fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  if (pid_ < 0) return false;
  // The server writes its port file (by rename, so whole) once it serves.
  // Looked for every 10 ms (30 s in all): a server starts in about 100 ms,
  // and every test start waited for the next look.
  bool exited = false;
  PollUntil(
      [&] {
        std::ifstream in(port_file);
        if (in >> port_ && port_ > 0) return true;
        port_ = 0;
        int status = 0;
        exited = waitpid(pid_, &status, WNOHANG) == pid_;
        return exited;
      },
      3000, absl::Milliseconds(10));
  if (exited) {
    pid_ = -1;
    return false;
  }
  if (port_ <= 0) return false;
  if (!plaintext) return true;
  channel_ =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
  // Waits for the connection as well as for the answer.
  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse health;
  const grpc::Status status = grpc::health::v1::Health::NewStub(channel_)->Check(
      &ctx, grpc::health::v1::HealthCheckRequest(), &health);
  return status.ok() && health.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

std::string ServerProcess::ReadLog() const {
  std::ifstream in(log_file_);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int ServerProcess::Stop(int signal) {
  Signal(signal);
  return Wait();
}

void ServerProcess::Signal(int signal) {
  if (pid_ <= 0) return;
  channel_.reset();
  kill(pid_, signal);
}

int ServerProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return ExitCode(status);
}

int ServerProcess::RunToExit(std::string* output) {
  std::vector<std::string> args = Args();
  std::vector<char*> argv = Argv(args);
  // Close-on-exec, so that no other child keeps the write end open.
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);  // dup2 clears close-on-exec on the copies.
    dup2(out[1], STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  if (pid < 0) {
    close(out[0]);
    return -1;
  }
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) != 0;) {
    if (n > 0) output->append(buf, n);
    if (n < 0 && errno != EINTR) break;
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return ExitCode(status);
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

std::map<std::string, std::string> ReadFlatJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  std::map<std::string, std::string> out;
  const std::regex pair("\"([^\"]+)\"\\s*:\\s*\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pair); it != std::sregex_iterator();
       ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

}  // namespace attex::testing
