// attex-model: the C++ side of the model's parity with tools/attex_model.py.
//
//   attex-model default --out FILE [--d_model D --heads H --buckets B]
//                       [--pooling normalised|sum]
//       writes Model::Default's file (the trainer's starting point); with
//       --pooling sum, its context vector sums the evidence (format 2).
//   attex-model probe --model FILE
//       loads FILE with Model::Load (exit 1 with the error if it refuses it),
//       then reads one JSON case a line on stdin:
//         {"features": [..], "recent": [..], "user_embedding": [..],
//          "slots": ["banner", ..], "ads": [{"tokens": [..], "embedding": [..],
//          "format": "banner"}, ..]}
//       and prints one JSON line for each: the context vector u, each ad's key,
//       and per slot its query, head scores (ads x heads), log normalisers and
//       weights over the ads of the slot's format, computed by the server's
//       own Model and attention::ScoreSlot.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attention/model.h"
#include "attention/scorer.h"
#include "simdjson.h"

namespace {

using attex::attention::Model;

void AppendFloats(std::string& out, const float* v, size_t n) {
  out += '[';
  for (size_t i = 0; i < n; ++i) absl::StrAppendFormat(&out, "%s%.9g", i ? "," : "", v[i]);
  out += ']';
}

void AppendDoubles(std::string& out, const std::vector<double>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    absl::StrAppendFormat(&out, "%s%.17g", i ? "," : "", v[i]);
  }
  out += ']';
}

std::vector<std::string> Strings(simdjson::dom::element e, const char* field) {
  std::vector<std::string> out;
  simdjson::dom::array a;
  if (e[field].get_array().get(a) == simdjson::SUCCESS) {
    for (auto s : a) out.emplace_back(std::string_view(s.get_string().value()));
  }
  return out;
}

std::vector<float> Floats(simdjson::dom::element e, const char* field) {
  std::vector<float> out;
  simdjson::dom::array a;
  if (e[field].get_array().get(a) == simdjson::SUCCESS) {
    for (auto x : a) out.push_back(static_cast<float>(x.get_double().value()));
  }
  return out;
}

std::vector<std::string_view> Views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

// One case: what the server computes for it, as one JSON line.
std::string Probe(const Model& model, simdjson::dom::element c) {
  const int d = model.d_model();
  const int heads = model.heads();
  const auto features = Strings(c, "features");
  const auto recent = Strings(c, "recent");
  const auto user_embedding = Floats(c, "user_embedding");
  const auto feature_views = Views(features);
  const auto recent_views = Views(recent);
  attex::attention::QueryInputs in{feature_views, recent_views, user_embedding};
  std::vector<float> u(d);
  model.ContextVector(in, absl::MakeSpan(u));

  std::vector<float> keys;
  std::vector<std::string> ad_formats;
  simdjson::dom::array ads = c["ads"].get_array().value();
  for (auto ad : ads) {
    const auto tokens = Strings(ad, "tokens");
    const auto embedding = Floats(ad, "embedding");
    if (!embedding.empty() && embedding.size() != static_cast<size_t>(d)) {
      std::fprintf(stderr, "attex-model: an ad's embedding must have d_model floats\n");
      std::exit(2);
    }
    const auto views = Views(tokens);
    keys.resize(keys.size() + d);
    model.AdKey(views, embedding, absl::MakeSpan(keys.data() + keys.size() - d, d));
    std::string_view format;
    if (ad["format"].get_string().get(format) != simdjson::SUCCESS) format = "";
    ad_formats.emplace_back(format);
  }
  const int64_t n = static_cast<int64_t>(ad_formats.size());
  const attex::attention::KeyView view{keys.data(), n, d, heads};

  std::string out = "{\"u\":";
  AppendFloats(out, u.data(), d);
  out += ",\"keys\":[";
  for (int64_t i = 0; i < n; ++i) {
    if (i) out += ',';
    AppendFloats(out, keys.data() + i * d, d);
  }
  out += "],\"slots\":[";
  const auto slots = Strings(c, "slots");
  std::vector<float> q(d), values(n, 1.0f), weights(n);
  std::vector<uint8_t> mask(n);
  std::vector<double> log_z(heads), scores(heads);
  for (size_t s = 0; s < slots.size(); ++s) {
    model.SlotQuery(u, slots[s], absl::MakeSpan(q));
    for (int64_t i = 0; i < n; ++i) mask[i] = ad_formats[i] == slots[s];
    attex::attention::SlotScores result{absl::MakeSpan(weights), absl::MakeSpan(log_z)};
    attex::attention::ScoreSlot(view, values, mask, q, &result);
    absl::StrAppend(&out, s ? "," : "", "{\"query\":");
    AppendFloats(out, q.data(), d);
    out += ",\"head_scores\":[";
    for (int64_t i = 0; i < n; ++i) {
      attex::attention::HeadScores(view, i, q, absl::MakeSpan(scores));
      if (i) out += ',';
      AppendDoubles(out, scores);
    }
    out += "],\"log_normalisers\":";
    AppendDoubles(out, log_z);
    out += ",\"weights\":";
    AppendFloats(out, weights.data(), n);
    out += '}';
  }
  absl::StrAppend(&out, "],\"version\":\"", model.version(), "\"}");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attex-model: the default model file, and probes of a model for parity tests"};
  app.require_subcommand(1);
  attex::attention::ModelConfig config;
  std::string out_path, model_path;
  auto* def = app.add_subcommand("default", "write the default model's file");
  def->add_option("--out", out_path, "where to write it")->required();
  def->add_option("--d_model", config.d_model, "width");
  def->add_option("--heads", config.heads, "heads");
  def->add_option("--buckets", config.buckets, "rows of the embedding table");
  std::string pooling = "normalised";
  def->add_option("--pooling", pooling, "how the context vector pools: normalised or sum")
      ->check(CLI::IsMember({"normalised", "sum"}));
  auto* probe =
      app.add_subcommand("probe", "print what the model computes for JSON cases on stdin");
  probe->add_option("--model", model_path, "the model file")->required();
  CLI11_PARSE(app, argc, argv);

  if (def->parsed()) {
    config.pooling =
        pooling == "sum" ? attex::attention::Pooling::kSum : attex::attention::Pooling::kNormalised;
    if (auto s = attex::attention::ValidateConfig(config); !s.ok()) {
      std::fprintf(stderr, "attex-model: %s\n", std::string(s.message()).c_str());
      return 2;
    }
    if (auto s = Model::Default(config)->Save(out_path); !s.ok()) {
      std::fprintf(stderr, "attex-model: %s\n", s.ToString().c_str());
      return 1;
    }
    return 0;
  }
  auto model = Model::Load(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "attex-model: %s\n", model.status().ToString().c_str());
    return 1;
  }
  simdjson::dom::parser parser;
  std::string line;
  int line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.empty()) continue;
    simdjson::dom::element c;
    if (auto err = parser.parse(line).get(c); err) {
      std::fprintf(stderr, "attex-model: line %d: %s\n", line_no, simdjson::error_message(err));
      return 2;
    }
    const auto embedding = Floats(c, "user_embedding");
    if (!embedding.empty() && embedding.size() != static_cast<size_t>((*model)->d_model())) {
      std::fprintf(stderr, "attex-model: line %d: user_embedding must have d_model floats\n",
                   line_no);
      return 2;
    }
    std::cout << Probe(**model, c) << '\n';
  }
  return 0;
}
