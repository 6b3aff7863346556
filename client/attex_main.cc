// attex: the command-line client of attex-server. See `attex --help`.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/commands.h"
#include "client/connection.h"

namespace {

using attex::client::BidFlags;

// The request flags shared by `bid` and `explain`.
void AddBidFlags(CLI::App* sub, BidFlags* f) {
  sub->add_option("--request", f->request_file,
                  "BidRequest in protobuf JSON; the flags below add to it")
      ->check(CLI::ExistingFile);
  sub->add_option_function<std::string>(
      "--request_id", [f](const std::string& v) { f->request_id = v; },
      "request id (default: cli-<unix ms>)");
  sub->add_option_function<std::string>(
      "--user_id", [f](const std::string& v) { f->user_id = v; }, "the platform's user id");
  sub->add_option("--feature", f->features,
                  "user feature token, e.g. interest:running (repeatable, or a,b)")
      ->delimiter(',');
  sub->add_option("--recent", f->recent,
                  "recent interaction token, oldest first (repeatable, or a,b)")
      ->delimiter(',');
  sub->add_option("--context_feature", f->context_features,
                  "page/app feature token, e.g. site:news (repeatable, or a,b)")
      ->delimiter(',');
  sub->add_option_function<std::string>(
      "--country", [f](const std::string& v) { f->country = v; }, "ISO 3166-1 alpha-2, e.g. US");
  sub->add_option_function<std::string>(
      "--device_type", [f](const std::string& v) { f->device_type = v; },
      "mobile, desktop, tablet or ctv");
  sub->add_option("--slot", f->slots,
                  "id:format[:position[:floor_cpm_micros[:WxH,...]]] (repeatable; default "
                  "s1:banner:0; sizes: those the slot accepts, none: any)");
  sub->add_option_function<int>(
      "--tmax_ms", [f](const int& v) { f->tmax_ms = v; }, "the platform's deadline, ms");
  sub->add_option_function<std::string>(
         "--auction", [f](const std::string& v) { f->auction = v; }, "first or second price")
      ->check(CLI::IsMember({"first", "second"}));
  sub->add_option("--block_category", f->blocked_categories,
                  "creative category to refuse (repeatable, or a,b)")
      ->delimiter(',');
  sub->add_option("--block_advertiser", f->blocked_advertisers,
                  "advertiser account id to refuse (repeatable, or a,b)")
      ->delimiter(',');
  sub->add_option("--block_domain", f->blocked_domains,
                  "advertiser domain to refuse, e.g. ford.com (repeatable, or a,b)")
      ->delimiter(',');
  sub->add_flag("--test", f->test, "test request: nothing is charged");
  sub->add_flag("--gdpr", f->gdpr_applies, "GDPR applies to the user");
  sub->add_option_function<std::string>(
      "--tcf_consent", [f](const std::string& v) { f->tcf_consent = v; }, "IAB TCF consent string");
  sub->add_flag("--coppa", f->coppa, "the user is a child (COPPA)");
  sub->add_flag("--limit_ad_tracking", f->limit_ad_tracking, "limit ad tracking is on");
}

}  // namespace

int main(int argc, char** argv) {
  namespace ac = attex::client;
  CLI::App app{
      "attex: the command-line client of the attention exchange.\n"
      "Answers are printed as protobuf JSON on stdout; errors as one line on "
      "stderr (exit 1: the server refused or could not be reached, 2: usage)."};
  app.fallthrough();  // global options may follow the verb; inherited below
  app.require_subcommand(1);

  ac::ClientOptions options;
  const char* env_addr = std::getenv("ATTEX_ADDR");
  options.addr = env_addr != nullptr && *env_addr != '\0' ? env_addr : "127.0.0.1:50051";
  app.add_option("--addr", options.addr,
                 "server host:port, several as a comma-separated list of IPv4 address:port, or "
                 "dns:///name:port (round robin over the healthy ones; env ATTEX_ADDR)")
      ->capture_default_str();
  app.add_option("--token", options.token, "bearer token (env ATTEX_TOKEN)")
      ->envname("ATTEX_TOKEN");
  app.add_option("--timeout_ms", options.timeout_ms, "deadline of each call, ms")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  app.add_option("--ca_cert", options.ca_cert,
                 "PEM file of trusted roots: use TLS (default: plaintext)")
      ->check(CLI::ExistingFile);
  app.add_option("--client_cert", options.client_cert,
                 "PEM client certificate for mutual TLS (with --client_key)")
      ->check(CLI::ExistingFile);
  app.add_option("--client_key", options.client_key, "PEM private key of --client_cert")
      ->check(CLI::ExistingFile);

  // What the chosen verb runs, once the connection is open.
  std::function<int(ac::Connection&)> run;

  BidFlags bid_flags;
  CLI::App* bid = app.add_subcommand("bid", "run an auction (Exchange.Bid)");
  AddBidFlags(bid, &bid_flags);
  bid->callback([&] { run = [&](ac::Connection& c) { return ac::RunBid(c, bid_flags); }; });

  std::string svg_path;
  CLI::App* explain =
      app.add_subcommand("explain", "the same decision with every number behind it");
  AddBidFlags(explain, &bid_flags);
  explain->add_option("--svg", svg_path, "also write a heatmap of the attention weights");
  bool brief = false;
  explain->add_flag("--brief", brief, "leave out the query and key vectors");
  explain->callback([&] {
    run = [&](ac::Connection& c) { return ac::RunExplain(c, bid_flags, svg_path, brief); };
  });

  ac::EventsFlags events_flags;
  std::vector<std::string> positional_tokens;
  CLI::App* events = app.add_subcommand("events", "report impressions or clicks");
  events->add_option("--billing_token", events_flags.billing_tokens,
                     "a placement's billing token (repeatable)");
  events->add_option("billing_tokens", positional_tokens, "more billing tokens");
  events->add_option("--type", events_flags.type, "impression or click")
      ->check(CLI::IsMember({"impression", "click"}))
      ->capture_default_str();
  events->add_option("--event_id", events_flags.event_ids,
                     "your id of the event (repeatable: one per token, in order)");
  events->callback([&] {
    for (auto& t : positional_tokens) events_flags.billing_tokens.push_back(t);
    run = [&](ac::Connection& c) { return ac::RunEvents(c, events_flags); };
  });

  CLI::App* campaign = app.add_subcommand("campaign", "manage campaigns");
  campaign->require_subcommand(1);
  std::string campaign_file, campaign_id;
  CLI::App* create = campaign->add_subcommand("create", "create a campaign from a JSON file");
  create->add_option("FILE", campaign_file, "Campaign in protobuf JSON")->required();
  create->callback(
      [&] { run = [&](ac::Connection& c) { return ac::RunCampaignCreate(c, campaign_file); }; });
  CLI::App* update =
      campaign->add_subcommand("update", "replace a campaign (the file names its id)");
  update->add_option("FILE", campaign_file, "Campaign in protobuf JSON, with id")->required();
  update->callback(
      [&] { run = [&](ac::Connection& c) { return ac::RunCampaignUpdate(c, campaign_file); }; });
  CLI::App* get = campaign->add_subcommand("get", "show a campaign");
  get->add_option("ID", campaign_id, "campaign id")->required();
  get->callback(
      [&] { run = [&](ac::Connection& c) { return ac::RunCampaignGet(c, campaign_id); }; });
  ac::ListFlags list_flags;
  CLI::App* list = campaign->add_subcommand("list", "list your campaigns");
  list->add_option("--page_size", list_flags.page_size, "1 to 1000 (default: server's)");
  list->add_option("--page_token", list_flags.page_token, "from a previous page");
  list->add_option("--advertiser_id", list_flags.advertiser_id,
                   "operators: only this advertiser's");
  list->add_flag("--all", list_flags.all, "follow next_page_token to the last page");
  list->callback(
      [&] { run = [&](ac::Connection& c) { return ac::RunCampaignList(c, list_flags); }; });
  struct StatusVerb {
    const char* name;
    const char* help;
    attex::v1::CampaignStatus status;
  };
  for (const StatusVerb& v :
       {StatusVerb{"pause", "pause a campaign", attex::v1::CAMPAIGN_STATUS_PAUSED},
        StatusVerb{"resume", "resume (activate) a campaign", attex::v1::CAMPAIGN_STATUS_ACTIVE},
        StatusVerb{"archive", "archive a campaign (final)", attex::v1::CAMPAIGN_STATUS_ARCHIVED}}) {
    CLI::App* sub = campaign->add_subcommand(v.name, v.help);
    sub->add_option("ID", campaign_id, "campaign id")->required();
    const attex::v1::CampaignStatus status = v.status;
    sub->callback([&run, &campaign_id, status] {
      run = [&campaign_id, status](ac::Connection& c) {
        return ac::RunCampaignSetStatus(c, campaign_id, status);
      };
    });
  }

  CLI::App* spend = app.add_subcommand("spend", "a campaign's billed spend");
  spend->add_option("CAMPAIGN_ID", campaign_id, "campaign id")->required();
  spend->callback([&] { run = [&](ac::Connection& c) { return ac::RunSpend(c, campaign_id); }; });

  CLI::App* account = app.add_subcommand("account", "manage accounts (operators)");
  account->require_subcommand(1);
  std::string role, name;
  CLI::App* account_create =
      account->add_subcommand("create", "create an account; prints its token once");
  account_create->add_option("--role", role, "platform, advertiser or operator")
      ->required()
      ->check(CLI::IsMember({"platform", "advertiser", "operator"}));
  account_create->add_option("--name", name, "a name for statements")->required();
  account_create->callback(
      [&] { run = [&](ac::Connection& c) { return ac::RunAccountCreate(c, role, name); }; });

  app.add_subcommand("stats", "server statistics (operators)")->callback([&] {
    run = [](ac::Connection& c) { return ac::RunStats(c); };
  });
  app.add_subcommand("ping", "a call that does no work")->callback([&] {
    run = [](ac::Connection& c) { return ac::RunPing(c); };
  });
  std::string prefix;
  CLI::App* balances = app.add_subcommand("balances", "ledger balances (operators)");
  balances->add_option("--prefix", prefix, "only accounts starting with this, e.g. platform:");
  balances->callback([&] { run = [&](ac::Connection& c) { return ac::RunBalances(c, prefix); }; });
  CLI::App* ledger = app.add_subcommand("ledger", "the double-entry ledger (operators)");
  ledger->require_subcommand(1);
  ledger->add_subcommand("check", "check that every event and the ledger balance")->callback([&] {
    run = [](ac::Connection& c) { return ac::RunLedgerCheck(c); };
  });
  std::string earnings_user, earnings_platform;
  CLI::App* earnings =
      app.add_subcommand("earnings", "what a user or a platform has earned (operators)");
  earnings->add_option("--user", earnings_user, "a user id: its attention dividend");
  earnings->add_option("--platform", earnings_platform, "a platform account id: its share");
  earnings->callback([&] {
    run = [&](ac::Connection& c) { return ac::RunEarnings(c, earnings_user, earnings_platform); };
  });
  std::string model_path;
  CLI::App* reload = app.add_subcommand("reload-model", "reload the attention model (operators)");
  reload->add_option("PATH", model_path, "model file on the server (default: built-in)");
  reload->callback(
      [&] { run = [&](ac::Connection& c) { return ac::RunReloadModel(c, model_path); }; });

  // CLI11 reports through exceptions; they stop here.
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "attex: " << e.what() << " (see attex --help)" << std::endl;
    return ac::kExitUsage;
  }
  if (!run) return ac::UsageError("no verb (see attex --help)");
  if (options.token.empty()) {
    return ac::UsageError("no token: pass --token or set ATTEX_TOKEN");
  }
  absl::StatusOr<ac::Connection> conn = ac::Connection::Open(options);
  if (!conn.ok()) return ac::UsageError(std::string(conn.status().message()));
  return run(*conn);
}
