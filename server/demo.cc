// --demo: three accounts and a few campaigns, so that a newcomer can bid at
// once. Tokens go to <data_dir>/demo-tokens.json; the store keeps only hashes.
#include "server/demo.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/validation.h"
#include "server/operator_service.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

struct DemoCampaign {
  const char* name;
  int64_t bid_cpm_micros;
  std::vector<std::string> countries;
  std::vector<std::string> features;
  const char* category;
  const char* markup;
  const char* domain;  // The advertiser's (adomain).
};

attex::v1::Campaign MakeCampaign(const DemoCampaign& d, const std::string& advertiser_id) {
  attex::v1::Campaign c;
  c.set_advertiser_id(advertiser_id);
  c.set_name(d.name);
  c.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
  c.set_bid_cpm_micros(d.bid_cpm_micros);
  c.mutable_budget()->set_daily_micros(50'000'000);
  c.mutable_budget()->set_total_micros(1'000'000'000);
  c.set_pacing(attex::v1::PACING_ASAP);
  for (const auto& country : d.countries) c.mutable_targeting()->add_countries(country);
  c.add_adomain(d.domain);
  for (const char* format : {"banner", "native"}) {
    auto* cr = c.add_creatives();
    cr->set_id(absl::StrCat(format, "-1"));
    cr->set_format(format);
    if (std::string_view(format) == "banner") {  // A medium rectangle.
      cr->set_w(300);
      cr->set_h(250);
    }
    cr->set_category(d.category);
    for (const auto& f : d.features) cr->add_features(f);
    cr->set_markup(d.markup);
  }
  return c;
}

}  // namespace

absl::Status SeedDemo(Core& core) {
  const std::string path = core.options.data_dir + "/demo-tokens.json";
  if (std::filesystem::exists(path)) {
    spdlog::info("demo data already seeded; tokens in {}", path);
    return absl::OkStatus();
  }
  std::string tokens[3];
  std::string ids[3];
  const attex::v1::Role roles[] = {attex::v1::ROLE_OPERATOR, attex::v1::ROLE_PLATFORM,
                                   attex::v1::ROLE_ADVERTISER};
  const char* names[] = {"demo operator", "demo platform", "demo advertiser"};
  for (int i = 0; i < 3; ++i) {
    auto account = CreateAccount(core, roles[i], names[i]);
    if (!account.ok()) return account.status();
    tokens[i] = account->token();
    ids[i] = account->id();
  }
  const DemoCampaign demos[] = {
      {"Stride running shoes",
       2'500'000,
       {"US", "CA", "GB"},
       {"interest:running", "kw:marathon", "brand:stride"},
       "sports",
       "<a href=\"https://example.com/stride\">Stride: run further</a>",
       "stride.example"},
      {"Morning Roast coffee",
       1'800'000,
       {},
       {"interest:coffee", "kw:espresso", "brand:morning-roast"},
       "food",
       "<a href=\"https://example.com/roast\">Morning Roast</a>",
       "morning-roast.example"},
      {"Far Away travel",
       3'000'000,
       {},
       {"interest:travel", "kw:flights", "brand:far-away"},
       "travel",
       "<a href=\"https://example.com/far\">Far Away: flights for less</a>",
       "far-away.example"},
  };
  const int64_t now_ms = NowMs();
  for (const auto& demo : demos) {
    auto c = MakeCampaign(demo, ids[2]);
    if (auto s = api::ValidateCampaign(c, core.catalog_manager.model()->d_model()); !s.ok())
      return s;
    auto stored = core.store->InsertCampaign(std::move(c), now_ms);
    if (!stored.ok()) return stored.status();
    core.catalog_manager.Upsert(*stored);
  }
  std::ofstream out(path, std::ios::trunc);
  out << "{\"operator\": \"" << tokens[0] << "\", \"platform\": \"" << tokens[1]
      << "\", \"advertiser\": \"" << tokens[2] << "\", \"advertiser_id\": \"" << ids[2]
      << "\", \"platform_id\": \"" << ids[1] << "\"}\n";
  out.close();
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  spdlog::info("demo accounts and {} campaigns created; tokens in {}", std::size(demos), path);
  return absl::OkStatus();
}

}  // namespace attex::server
