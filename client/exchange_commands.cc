// attex bid, explain, events.
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/heatmap_svg.h"

namespace attex::client {
namespace {

// The request, or a usage error already reported.
bool Build(const BidFlags& flags, attex::v1::BidRequest* request, int* rc) {
  absl::StatusOr<attex::v1::BidRequest> built = BuildBidRequest(flags);
  if (!built.ok()) {
    *rc = UsageError(std::string(built.status().message()));
    return false;
  }
  *request = *std::move(built);
  return true;
}

}  // namespace

int RunBid(Connection& conn, const BidFlags& flags) {
  attex::v1::BidRequest request;
  int rc;
  if (!Build(flags, &request, &rc)) return rc;
  return conn.CallAndPrint(&attex::v1::Exchange::Stub::Bid, request);
}

int RunExplain(Connection& conn, const BidFlags& flags, const std::string& svg_path, bool brief) {
  attex::v1::BidRequest request;
  int rc;
  if (!Build(flags, &request, &rc)) return rc;
  attex::v1::Explanation explanation;
  rc = conn.Call(&attex::v1::Exchange::Stub::Explain, request, &explanation);
  if (rc != kExitOk) return rc;
  if (brief) {
    attex::v1::Explanation shown = explanation;
    for (auto& slot : *shown.mutable_slots()) {
      slot.clear_query();
      for (auto& c : *slot.mutable_candidates()) {
        c.clear_key();
        c.clear_head_scores();
      }
    }
    Print(shown);
  } else {
    Print(explanation);
  }
  if (!svg_path.empty()) {
    std::ofstream out(svg_path, std::ios::binary | std::ios::trunc);
    out << RenderHeatmapSvg(explanation);
    out.close();
    if (!out) {
      std::cerr << "attex: " << svg_path << ": cannot write file" << std::endl;
      return kExitRpcError;
    }
    std::cerr << "wrote " << svg_path << std::endl;
  }
  return kExitOk;
}

int RunEvents(Connection& conn, const EventsFlags& flags) {
  if (flags.billing_tokens.empty()) {
    return UsageError("events: pass at least one --billing_token");
  }
  if (!flags.event_ids.empty() && flags.event_ids.size() != flags.billing_tokens.size()) {
    return UsageError(absl::StrCat("events: ", flags.event_ids.size(), " --event_id for ",
                                   flags.billing_tokens.size(),
                                   " --billing_token; give one per token or none"));
  }
  attex::v1::EventType type;
  if (flags.type == "impression") {
    type = attex::v1::EVENT_TYPE_IMPRESSION;
  } else if (flags.type == "click") {
    type = attex::v1::EVENT_TYPE_CLICK;
  } else {
    return UsageError(absl::StrCat("--type '", flags.type, "': expected impression or click"));
  }
  attex::v1::ReportEventsRequest request;
  for (size_t i = 0; i < flags.billing_tokens.size(); ++i) {
    attex::v1::Event* event = request.add_events();
    event->set_billing_token(flags.billing_tokens[i]);
    event->set_type(type);
    if (!flags.event_ids.empty()) event->set_event_id(flags.event_ids[i]);
  }
  return conn.CallAndPrint(&attex::v1::Exchange::Stub::ReportEvents, request);
}

}  // namespace attex::client
