// The attention heatmap of an Explanation as a standalone SVG document.
#ifndef ATTEX_CLIENT_HEATMAP_SVG_H_
#define ATTEX_CLIENT_HEATMAP_SVG_H_

#include <string>
#include <string_view>

#include "attex/v1/exchange.pb.h"

namespace attex::client {

// Renders the attention weights of `explanation` as a heatmap: one row per
// slot, one column per candidate in the union of the slots' top candidates
// (labelled "campaign/creative", in order of first appearance), each cell
// coloured from white (0) to dark blue (the largest weight shown) with its
// weight printed inside. Cells of a candidate that was not among a slot's
// top candidates are grey and read "-"; the winner of a slot is outlined.
// Every cell is one <rect class="cell">. Includes a title (request id, model
// version), axis labels and a colour legend; needs no external resources.
// An explanation without slots or candidates gives a small SVG saying so.
std::string RenderHeatmapSvg(const attex::v1::Explanation& explanation);

// Escapes &, <, >, " and ' for use in XML text and attribute values.
std::string XmlEscape(std::string_view text);

}  // namespace attex::client

#endif  // ATTEX_CLIENT_HEATMAP_SVG_H_
