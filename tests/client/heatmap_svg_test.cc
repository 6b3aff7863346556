#include "client/heatmap_svg.h"

#include <string>

#include "gtest/gtest.h"

namespace attex::client {
namespace {

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

attex::v1::Candidate* AddCandidate(attex::v1::SlotExplanation* slot, const std::string& campaign,
                                   const std::string& creative, double weight) {
  attex::v1::Candidate* c = slot->add_candidates();
  c->set_campaign_id(campaign);
  c->set_creative_id(creative);
  c->set_attention_weight(weight);
  return c;
}

attex::v1::Explanation TwoSlots() {
  attex::v1::Explanation e;
  e.set_request_id("req-1");
  e.set_model_version("default-v1");
  attex::v1::SlotExplanation* s1 = e.add_slots();
  s1->set_slot_id("s1");
  AddCandidate(s1, "cmp-1", "cr-1", 0.6)->set_winner(true);
  AddCandidate(s1, "cmp-2", "cr-1", 0.3);
  attex::v1::SlotExplanation* s2 = e.add_slots();
  s2->set_slot_id("s2");
  AddCandidate(s2, "cmp-2", "cr-1", 0.5)->set_winner(true);
  AddCandidate(s2, "cmp-3", "cr-2", 0.25);
  return e;
}

TEST(HeatmapSvgTest, IsOneSvgDocument) {
  const std::string svg = RenderHeatmapSvg(TwoSlots());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(Count(svg, "<svg"), 1);
  EXPECT_EQ(Count(svg, "</svg>"), 1);
  EXPECT_EQ(svg.find("</svg>"), svg.size() - std::string("</svg>\n").size());
  // Every opened rect or text element is closed.
  EXPECT_EQ(Count(svg, "<text"), Count(svg, "</text>"));
  EXPECT_EQ(Count(svg, "<title>"), Count(svg, "</title>"));
}

TEST(HeatmapSvgTest, HasOneRectPerSlotAndCandidate) {
  // 2 slots x 3 distinct candidates (cmp-2/cr-1 is shared).
  const std::string svg = RenderHeatmapSvg(TwoSlots());
  EXPECT_EQ(Count(svg, "<rect class=\"cell\""), 6);
  EXPECT_EQ(Count(svg, ">cmp-1/cr-1</text>"), 1);
  EXPECT_EQ(Count(svg, ">cmp-2/cr-1</text>"), 1);
  EXPECT_EQ(Count(svg, ">cmp-3/cr-2</text>"), 1);
}

TEST(HeatmapSvgTest, PrintsWeightsTitleAndLegend) {
  const std::string svg = RenderHeatmapSvg(TwoSlots());
  EXPECT_NE(svg.find(">0.600</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.250</text>"), std::string::npos);
  EXPECT_NE(svg.find("req-1"), std::string::npos);
  EXPECT_NE(svg.find("default-v1"), std::string::npos);
  EXPECT_NE(svg.find("linearGradient"), std::string::npos);
  EXPECT_NE(svg.find(">slot</text>"), std::string::npos);
}

TEST(HeatmapSvgTest, LargestWeightIsDarkBlueAndZeroIsWhite) {
  const std::string svg = RenderHeatmapSvg(TwoSlots());
  EXPECT_NE(svg.find("fill=\"#08306b\""), std::string::npos);
  EXPECT_NE(svg.find("stop-color=\"#ffffff\""), std::string::npos);
}

TEST(HeatmapSvgTest, EscapesLabelsForXml) {
  attex::v1::Explanation e = TwoSlots();
  e.set_request_id("r<&>\"'");
  e.mutable_slots(0)->set_slot_id("top&<slot>");
  e.mutable_slots(0)->mutable_candidates(0)->set_campaign_id("a\"b<c>&d");
  const std::string svg = RenderHeatmapSvg(e);
  EXPECT_EQ(svg.find("r<&>"), std::string::npos);
  EXPECT_EQ(svg.find("top&<"), std::string::npos);
  EXPECT_EQ(svg.find("a\"b"), std::string::npos);
  EXPECT_NE(svg.find("r&lt;&amp;&gt;&quot;&apos;"), std::string::npos);
  EXPECT_NE(svg.find("top&amp;&lt;slot&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a&quot;b&lt;c&gt;&amp;d/cr-1"), std::string::npos);
  // No raw ampersand outside an entity.
  for (size_t pos = svg.find('&'); pos != std::string::npos; pos = svg.find('&', pos + 1)) {
    const std::string rest = svg.substr(pos, 6);
    EXPECT_TRUE(rest.rfind("&amp;", 0) == 0 || rest.rfind("&lt;", 0) == 0 ||
                rest.rfind("&gt;", 0) == 0 || rest.rfind("&quot;", 0) == 0 ||
                rest.rfind("&apos;", 0) == 0)
        << rest;
  }
}

TEST(HeatmapSvgTest, ExplanationWithoutCandidatesSaysSo) {
  attex::v1::Explanation e;
  e.set_request_id("empty");
  e.add_slots()->set_slot_id("s1");
  e.set_no_bid_reason("no_eligible_campaigns");
  const std::string svg = RenderHeatmapSvg(e);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(Count(svg, "<rect class=\"cell\""), 0);
  EXPECT_NE(svg.find("no candidates"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(XmlEscapeTest, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(XmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(XmlEscape("plain"), "plain");
}

}  // namespace
}  // namespace attex::client
