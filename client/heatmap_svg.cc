#include "client/heatmap_svg.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace attex::client {
namespace {

constexpr int kCellWidth = 76;
constexpr int kCellHeight = 36;
constexpr int kCharWidth = 7;  // A generous estimate at font-size 12.
constexpr double kLabelAngle = 40.0;
constexpr double kSin = 0.643;  // sin(40 degrees)
constexpr double kCos = 0.766;  // cos(40 degrees)
constexpr int kLegendWidth = 220;

struct Rgb {
  int r, g, b;
};
constexpr Rgb kLow{255, 255, 255};
constexpr Rgb kHigh{8, 48, 107};

std::string Colour(double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto mix = [t](int lo, int hi) { return static_cast<int>(lo + (hi - lo) * t + 0.5); };
  return absl::StrFormat("#%02x%02x%02x", mix(kLow.r, kHigh.r), mix(kLow.g, kHigh.g),
                         mix(kLow.b, kHigh.b));
}

std::string FormatWeight(double w) {
  if (w == 0) return "0";
  if (w >= 0.01) return absl::StrFormat("%.3f", w);
  return absl::StrFormat("%.1e", w);
}

int TextWidth(std::string_view s) { return static_cast<int>(s.size()) * kCharWidth; }

std::string Label(const attex::v1::Candidate& c) {
  return absl::StrCat(c.campaign_id(), "/", c.creative_id());
}

std::string CellTitle(const attex::v1::Candidate& c) {
  std::string s = absl::StrFormat("%s weight %.6g, bid %d, ranking score %.6g", Label(c),
                                  c.attention_weight(), c.bid_cpm_micros(), c.ranking_score());
  if (c.winner()) {
    absl::StrAppend(&s, ", winner");
  } else if (!c.lost_reason().empty()) {
    absl::StrAppend(&s, ", lost: ", c.lost_reason());
  }
  return s;
}

std::string SlotTitle(const attex::v1::SlotExplanation& slot) {
  std::string s = absl::StrFormat("slot %s: %d eligible", slot.slot_id(), slot.eligible());
  if (!slot.winner_campaign_id().empty()) {
    absl::StrAppend(&s, ", winner ", slot.winner_campaign_id(), " at ", slot.price_cpm_micros(),
                    " CPM micros");
  } else {
    absl::StrAppend(&s, ", unfilled");
  }
  absl::StrAppend(&s, absl::StrFormat(", attention price %.0f, floor %d",
                                      slot.attention_price_cpm_micros(), slot.floor_cpm_micros()));
  return s;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string RenderHeatmapSvg(const attex::v1::Explanation& explanation) {
  // Columns: the union of every slot's candidates, in order of first appearance.
  std::vector<std::string> columns;
  std::map<std::pair<std::string, std::string>, int> column_of;
  double max_weight = 0;
  for (const auto& slot : explanation.slots()) {
    for (const auto& c : slot.candidates()) {
      auto key = std::make_pair(c.campaign_id(), c.creative_id());
      if (column_of.emplace(key, static_cast<int>(columns.size())).second) {
        columns.push_back(Label(c));
      }
      max_weight = std::max(max_weight, c.attention_weight());
    }
  }
  if (max_weight <= 0) max_weight = 1;
  const int rows = explanation.slots_size();
  const int cols = static_cast<int>(columns.size());

  const std::string title = absl::StrCat(
      "Attention weights, request ",
      explanation.request_id().empty() ? "(none)" : explanation.request_id(), ", model ",
      explanation.model_version().empty() ? "(unknown)" : explanation.model_version());
  const std::string subtitle = absl::StrFormat(
      "d_model %d, %d heads; rows: slots, columns: top candidates "
      "(campaign/creative)",
      explanation.d_model(), explanation.heads());

  int max_col_chars = 0;
  for (const auto& c : columns) max_col_chars = std::max<int>(max_col_chars, c.size());
  int max_row_chars = 4;
  for (const auto& s : explanation.slots()) {
    max_row_chars = std::max<int>(max_row_chars, s.slot_id().size());
  }
  const int label_height = static_cast<int>(max_col_chars * kCharWidth * kSin) + 16;
  const int grid_left = 36 + max_row_chars * kCharWidth + 10;
  const int grid_top = 84 + label_height;
  const int grid_width = cols * kCellWidth;
  const int grid_height = rows * kCellHeight;
  const int overhang = static_cast<int>(max_col_chars * kCharWidth * kCos);
  const int legend_top = grid_top + grid_height + 28;
  const int width = std::max({grid_left + grid_width + overhang + 20,
                              static_cast<int>(title.size()) * 10 + 40,  // bold, 16px
                              TextWidth(subtitle) + 40, grid_left + kLegendWidth + 330});
  const int height = legend_top + 70;

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" "
      "font-size=\"12\">\n",
      width, height, width, height);
  absl::StrAppend(&svg, "<title>", XmlEscape(title), "</title>\n");
  absl::StrAppend(&svg,
                  "<defs><linearGradient id=\"legend\" x1=\"0\" x2=\"1\" "
                  "y1=\"0\" y2=\"0\"><stop offset=\"0\" stop-color=\"",
                  Colour(0), "\"/><stop offset=\"1\" stop-color=\"", Colour(1),
                  "\"/></linearGradient></defs>\n");
  absl::StrAppend(&svg, "<rect class=\"background\" x=\"0\" y=\"0\" width=\"", width,
                  "\" height=\"", height, "\" fill=\"#ffffff\"/>\n");
  absl::StrAppend(&svg, "<text x=\"20\" y=\"28\" font-size=\"16\" font-weight=\"bold\">",
                  XmlEscape(title), "</text>\n");
  absl::StrAppend(&svg, "<text x=\"20\" y=\"48\" fill=\"#555555\">", XmlEscape(subtitle),
                  "</text>\n");

  if (rows == 0 || cols == 0) {
    absl::StrAppend(&svg, "<text x=\"20\" y=\"", grid_top, "\">no candidates to show",
                    explanation.no_bid_reason().empty()
                        ? ""
                        : absl::StrCat(" (", XmlEscape(explanation.no_bid_reason()), ")"),
                    "</text>\n</svg>\n");
    return svg;
  }

  // Axis titles.
  absl::StrAppend(&svg, "<text x=\"", grid_left, "\" y=\"72\" font-weight=\"bold\">",
                  "candidate (campaign/creative)</text>\n");
  absl::StrAppend(&svg, "<text transform=\"translate(20,", grid_top + grid_height / 2,
                  ") rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">slot</text>\n");

  // Column labels, rotated so that long ids fit.
  for (int j = 0; j < cols; ++j) {
    const int x = grid_left + j * kCellWidth + kCellWidth / 2;
    absl::StrAppend(&svg, "<text class=\"col-label\" transform=\"translate(", x, ",", grid_top - 6,
                    ") rotate(-", kLabelAngle, ")\">", XmlEscape(columns[j]), "</text>\n");
  }

  for (int i = 0; i < rows; ++i) {
    const auto& slot = explanation.slots(i);
    const int y = grid_top + i * kCellHeight;
    absl::StrAppend(&svg, "<text class=\"row-label\" x=\"", grid_left - 8, "\" y=\"",
                    y + kCellHeight / 2 + 4, "\" text-anchor=\"end\"><title>",
                    XmlEscape(SlotTitle(slot)), "</title>", XmlEscape(slot.slot_id()), "</text>\n");
    std::vector<const attex::v1::Candidate*> cells(cols, nullptr);
    for (const auto& c : slot.candidates()) {
      cells[column_of.at({c.campaign_id(), c.creative_id()})] = &c;
    }
    for (int j = 0; j < cols; ++j) {
      const int x = grid_left + j * kCellWidth;
      const attex::v1::Candidate* c = cells[j];
      if (c == nullptr) {
        absl::StrAppend(&svg, "<rect class=\"cell\" x=\"", x, "\" y=\"", y, "\" width=\"",
                        kCellWidth, "\" height=\"", kCellHeight,
                        "\" fill=\"#eeeeee\" stroke=\"#ffffff\"><title>", XmlEscape(columns[j]),
                        " not among the top candidates of slot ", XmlEscape(slot.slot_id()),
                        "</title></rect>\n");
        absl::StrAppend(&svg, "<text x=\"", x + kCellWidth / 2, "\" y=\"", y + kCellHeight / 2 + 4,
                        "\" text-anchor=\"middle\" fill=\"#999999\">-</text>\n");
        continue;
      }
      const double t = c->attention_weight() / max_weight;
      absl::StrAppend(&svg, "<rect class=\"cell\" x=\"", x, "\" y=\"", y, "\" width=\"", kCellWidth,
                      "\" height=\"", kCellHeight, "\" fill=\"", Colour(t), "\" stroke=\"",
                      c->winner() ? "#e6550d\" stroke-width=\"3" : "#ffffff", "\"><title>",
                      XmlEscape(CellTitle(*c)), "</title></rect>\n");
      absl::StrAppend(&svg, "<text x=\"", x + kCellWidth / 2, "\" y=\"", y + kCellHeight / 2 + 4,
                      "\" text-anchor=\"middle\" fill=\"", t > 0.5 ? "#ffffff" : "#000000", "\">",
                      FormatWeight(c->attention_weight()), "</text>\n");
    }
  }

  // Legend: the colour scale from 0 to the largest weight shown.
  absl::StrAppend(&svg, "<text x=\"", grid_left, "\" y=\"", legend_top - 6,
                  "\">attention weight (mean over heads)</text>\n");
  absl::StrAppend(&svg, "<rect class=\"legend\" x=\"", grid_left, "\" y=\"", legend_top,
                  "\" width=\"", kLegendWidth,
                  "\" height=\"14\" fill=\"url(#legend)\" stroke=\"#999999\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", grid_left, "\" y=\"", legend_top + 28,
                  "\" text-anchor=\"start\">0</text>\n");
  absl::StrAppend(&svg, "<text x=\"", grid_left + kLegendWidth, "\" y=\"", legend_top + 28,
                  "\" text-anchor=\"end\">", FormatWeight(max_weight), "</text>\n");
  absl::StrAppend(&svg, "<rect class=\"legend\" x=\"", grid_left + kLegendWidth + 20, "\" y=\"",
                  legend_top,
                  "\" width=\"14\" height=\"14\" fill=\"#ffffff\" "
                  "stroke=\"#e6550d\" stroke-width=\"3\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", grid_left + kLegendWidth + 42, "\" y=\"", legend_top + 12,
                  "\">the slot's winner</text>\n");
  absl::StrAppend(&svg, "<rect class=\"legend\" x=\"", grid_left + kLegendWidth + 20, "\" y=\"",
                  legend_top + 22, "\" width=\"14\" height=\"14\" fill=\"#eeeeee\"/>\n");
  absl::StrAppend(&svg, "<text x=\"", grid_left + kLegendWidth + 42, "\" y=\"", legend_top + 34,
                  "\">not among the slot's top candidates</text>\n");
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace attex::client
