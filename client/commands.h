// The verbs of `attex`. Each prints its answer as protobuf JSON on stdout,
// or one error line on stderr, and returns the process exit code
// (kExitOk, kExitRpcError or kExitUsage).
#ifndef ATTEX_CLIENT_COMMANDS_H_
#define ATTEX_CLIENT_COMMANDS_H_

#include <string>
#include <vector>

#include "client/connection.h"
#include "client/request_builder.h"

namespace attex::client {

// Exchange: platforms.
int RunBid(Connection& conn, const BidFlags& flags);
// Writes the SVG heatmap to `svg_path` too, unless it is empty. `brief`
// prints the explanation without its query, key and head-score vectors.
int RunExplain(Connection& conn, const BidFlags& flags, const std::string& svg_path, bool brief);

struct EventsFlags {
  std::vector<std::string> billing_tokens;
  std::string type = "impression";     // or "click"
  std::vector<std::string> event_ids;  // none, or one per billing token
};
int RunEvents(Connection& conn, const EventsFlags& flags);

// Campaigns: advertisers.
int RunCampaignCreate(Connection& conn, const std::string& path);
int RunCampaignUpdate(Connection& conn, const std::string& path);
int RunCampaignGet(Connection& conn, const std::string& id);

struct ListFlags {
  int page_size = 0;
  std::string page_token;
  std::string advertiser_id;
  bool all = false;  // follow next_page_token to the end
};
int RunCampaignList(Connection& conn, const ListFlags& flags);
int RunCampaignSetStatus(Connection& conn, const std::string& id, attex::v1::CampaignStatus status);
int RunSpend(Connection& conn, const std::string& campaign_id);

// Operator.
int RunAccountCreate(Connection& conn, const std::string& role, const std::string& name);
int RunStats(Connection& conn);
int RunPing(Connection& conn);
int RunBalances(Connection& conn, const std::string& prefix);
// Exits non-zero when the check finds a problem.
int RunLedgerCheck(Connection& conn);
// Exactly one of user_id and platform_id is non-empty.
int RunEarnings(Connection& conn, const std::string& user_id, const std::string& platform_id);
int RunReloadModel(Connection& conn, const std::string& path);

}  // namespace attex::client

#endif  // ATTEX_CLIENT_COMMANDS_H_
