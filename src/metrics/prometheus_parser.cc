#include "metrics/prometheus_parser.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tide::metrics {
namespace {

// Debian's Abseil has its own string_view type; StrCat & co. take that one.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsMetricNameChar(char c, bool first) {
  return IsAlpha(c) || c == ':' || (!first && IsDigit(c));
}
bool IsLabelNameChar(char c, bool first) { return IsAlpha(c) || (!first && IsDigit(c)); }

// At most 48 bytes of untrusted text, quoted and C-escaped, for a message.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 48;
  return absl::StrCat("\"", absl::CHexEscape(Av(s.substr(0, kMax))),
                      s.size() > kMax ? "\"..." : "\"");
}

// UTF-8 as Go's utf8.ValidString accepts it: no overlong forms, no
// surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

bool ParseTimestamp(std::string_view s, int64_t* out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return false;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// One line being read: a position in it and the token readers the format needs.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  bool Done() const { return i >= s.size(); }
  char Peek() const { return s[i]; }
  std::string_view Rest() const { return s.substr(i); }
  void SkipBlanks() {
    while (i < s.size() && IsBlank(s[i])) ++i;
  }
  std::string_view Token() {
    size_t begin = i;
    while (i < s.size() && !IsBlank(s[i])) ++i;
    return s.substr(begin, i - begin);
  }
  template <typename Pred>
  std::string_view Name(Pred is_name_char) {
    size_t begin = i;
    while (i < s.size() && is_name_char(s[i], i == begin)) ++i;
    return s.substr(begin, i - begin);
  }
};

// `name` or `name{labels}` at the cursor. Returns what is wrong, or "".
std::string ReadSeries(Cursor& c, Series* out) {
  std::string_view name = c.Name(IsMetricNameChar);
  if (name.empty()) return absl::StrCat("expected a metric name, got ", Quote(c.Rest()));
  out->name = std::string(name);
  if (!c.Done() && !IsBlank(c.Peek()) && c.Peek() != '{') {
    return absl::StrCat("invalid character in metric name at ",
                        Quote(c.s.substr(c.i - name.size())));
  }
  c.SkipBlanks();
  if (c.Done() || c.Peek() != '{') return "";
  ++c.i;
  while (true) {
    c.SkipBlanks();
    if (c.Done()) return absl::StrCat("unterminated label set of ", out->name);
    if (c.Peek() == '}') {
      ++c.i;
      return "";
    }
    std::string_view label = c.Name(IsLabelNameChar);
    if (label.empty()) {
      return absl::StrCat("invalid label name in ", out->name, " at ", Quote(c.Rest()));
    }
    const std::string what = absl::StrCat("label ", Av(label), " of ", out->name);
    c.SkipBlanks();
    if (c.Done() || c.Peek() != '=') return absl::StrCat("expected '=' after ", what);
    ++c.i;
    c.SkipBlanks();
    if (c.Done() || c.Peek() != '"')
      return absl::StrCat("expected '\"' to open the value of ", what);
    ++c.i;
    std::string value;
    while (true) {
      if (c.Done()) return absl::StrCat("unterminated value of ", what);
      char ch = c.s[c.i++];
      if (ch == '"') break;
      if (ch != '\\') {
        value += ch;
        continue;
      }
      if (c.Done()) return absl::StrCat("unterminated value of ", what);
      char e = c.s[c.i++];
      if (e == '\\' || e == '"') {
        value += e;
      } else if (e == 'n') {
        value += '\n';
      } else {
        return absl::StrCat("invalid escape sequence ",
                            Quote(absl::StrCat("\\", std::string(1, e))), " in the value of ", what,
                            " (only \\\\, \\\" and \\n)");
      }
    }
    if (!IsValidUtf8(value)) return absl::StrCat("the value of ", what, " is not valid UTF-8");
    if (label == "__name__")
      return absl::StrCat("label name __name__ is reserved (in ", out->name, ")");
    if (!out->labels.emplace(std::string(label), std::move(value)).second) {
      return absl::StrCat("duplicate ", what);
    }
    c.SkipBlanks();
    if (c.Done()) return absl::StrCat("unterminated label set of ", out->name);
    if (c.Peek() == ',') {
      ++c.i;
    } else if (c.Peek() != '}') {
      return absl::StrCat("expected ',' or '}' after ", what, ", got ", Quote(c.Rest()));
    }
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<MetricType> TypeFromName(std::string_view word) {
  std::string lower(word);
  for (char& ch : lower) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  for (MetricType t : {MetricType::kUntyped, MetricType::kCounter, MetricType::kGauge,
                       MetricType::kHistogram, MetricType::kSummary}) {
    if (lower == MetricTypeName(t)) return t;
  }
  return std::nullopt;
}

// The parse of one exposition, line by line.
class Parser {
 public:
  absl::StatusOr<Exposition> Run(std::string_view text) {
    size_t line_no = 0;
    while (!text.empty()) {
      ++line_no;
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF
      std::string error = Line(line);
      if (!error.empty())
        return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", error));
    }
    return std::move(out_);
  }

 private:
  struct FamilyState {
    bool has_help = false, has_type = false, has_samples = false;
  };

  std::string Line(std::string_view line) {
    Cursor c{line};
    c.SkipBlanks();
    if (c.Done()) return "";
    if (c.Peek() == '#') {
      ++c.i;
      return Comment(c);
    }
    return Sample(c);
  }

  size_t FamilyIndex(std::string_view name) {
    auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    size_t i = out_.families.size();
    out_.families.push_back({std::string(name), MetricType::kUntyped, ""});
    state_.push_back({});
    index_.emplace(std::string(name), i);
    return i;
  }

  std::string Comment(Cursor& c) {
    c.SkipBlanks();
    std::string_view keyword = c.Token();
    if (keyword != "HELP" && keyword != "TYPE") return "";  // any other comment
    c.SkipBlanks();
    std::string_view name = c.Name(IsMetricNameChar);
    if (name.empty() || (!c.Done() && !IsBlank(c.Peek()))) {
      return absl::StrCat("invalid metric name in # ", Av(keyword), " at ", Quote(c.Rest()));
    }
    c.SkipBlanks();
    if (!index_.count(name) && suffixed_.count(name)) {
      // Its samples so far belong to a histogram or summary; from here on
      // they would belong to this family: refuse the ambiguity.
      return absl::StrCat("# ", Av(keyword), " ", Av(name), " comes after samples named ", Av(name),
                          " that belong to another family (a histogram or summary)");
    }
    size_t f = FamilyIndex(name);
    MetricFamily& family = out_.families[f];
    FamilyState& state = state_[f];
    if (keyword == "HELP") {
      if (state.has_help) return absl::StrCat("second HELP line for ", family.name);
      state.has_help = true;
      std::string help;
      for (; !c.Done(); ++c.i) {
        char ch = c.Peek();
        if (ch != '\\') {
          help += ch;
          continue;
        }
        if (++c.i >= c.s.size())
          return absl::StrCat("HELP of ", family.name, " ends in a lone '\\'");
        if (c.Peek() == '\\') {
          help += '\\';
        } else if (c.Peek() == 'n') {
          help += '\n';
        } else {
          return absl::StrCat("invalid escape sequence ",
                              Quote(absl::StrCat("\\", std::string(1, c.Peek()))),
                              " in the HELP of ", family.name, " (only \\\\ and \\n)");
        }
      }
      family.help = std::move(help);
      return "";
    }
    if (state.has_type || state.has_samples) {
      return absl::StrCat("second TYPE line for ", family.name, ", or TYPE after its samples");
    }
    std::string_view word = c.Rest();
    while (!word.empty() && IsBlank(word.back())) word.remove_suffix(1);
    std::optional<MetricType> type = TypeFromName(word);
    if (!type) {
      return absl::StrCat("unknown type ", Quote(word), " for ", family.name,
                          " (counter, gauge, histogram, summary or untyped)");
    }
    family.type = *type;
    state.has_type = true;
    return "";
  }

  // The family a sample named `name` belongs to, as the reference parser
  // decides it: its own name first, then a histogram's or summary's suffixes.
  size_t FamilyOfSample(std::string_view name) {
    if (index_.count(name)) return index_.find(name)->second;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!EndsWith(name, suffix)) continue;
      auto base = index_.find(name.substr(0, name.size() - suffix.size()));
      if (base == index_.end()) continue;
      MetricType t = out_.families[base->second].type;
      if (t == MetricType::kHistogram || (t == MetricType::kSummary && suffix != "_bucket")) {
        if (!suffixed_.count(name)) suffixed_.emplace(name);
        return base->second;
      }
    }
    return FamilyIndex(name);
  }

  std::string Sample(Cursor& c) {
    MetricSample s;
    Series series;
    std::string error = ReadSeries(c, &series);
    if (!error.empty()) return error;
    s.name = std::move(series.name);
    s.labels = std::move(series.labels);
    c.SkipBlanks();
    std::string_view value = c.Token();
    if (value.empty()) return absl::StrCat("missing value for ", s.name);
    std::optional<double> v = ParsePrometheusValue(value);
    if (!v) return absl::StrCat("invalid value ", Quote(value), " for ", s.name);
    s.value = *v;
    c.SkipBlanks();
    if (!c.Done()) {
      std::string_view ts = c.Token();
      int64_t ms;
      if (!ParseTimestamp(ts, &ms)) {
        return absl::StrCat("invalid timestamp ", Quote(ts), " for ", s.name,
                            " (integer milliseconds)");
      }
      s.timestamp_ms = ms;
      c.SkipBlanks();
      if (!c.Done()) {
        return absl::StrCat("unexpected text after the timestamp of ", s.name, ": ",
                            Quote(c.Rest()));
      }
    }
    s.family = FamilyOfSample(s.name);
    const MetricFamily& family = out_.families[s.family];
    state_[s.family].has_samples = true;
    error = CheckShape(family, s);
    if (!error.empty()) return error;
    out_.samples.push_back(std::move(s));
    return "";
  }

  // A histogram's or summary's samples carry the labels their suffix needs.
  static std::string CheckShape(const MetricFamily& family, const MetricSample& s) {
    auto bound = [&](const char* label) -> std::string {
      auto it = s.labels.find(label);
      if (it == s.labels.end()) return absl::StrCat(s.name, " has no ", label, " label");
      if (!ParsePrometheusValue(it->second)) {
        return absl::StrCat(s.name, " has a ", label,
                            " label that is not a number: ", Quote(it->second));
      }
      return "";
    };
    if (family.type == MetricType::kHistogram) {
      if (s.name == family.name) {
        return absl::StrCat("histogram ", family.name,
                            " has a sample without _bucket, _sum or _count");
      }
      if (s.name.size() == family.name.size() + 7) return bound("le");  // _bucket
    } else if (family.type == MetricType::kSummary && s.name == family.name) {
      return bound("quantile");
    }
    return "";
  }

  Exposition out_;
  std::vector<FamilyState> state_;  // parallel to out_.families
  std::map<std::string, size_t, std::less<>> index_;
  // Sample names that joined a histogram or summary by their suffix.
  std::set<std::string, std::less<>> suffixed_;
};

bool HasLabels(const MetricSample& s, const LabelMap& match) {
  for (const auto& [k, v] : match) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

std::optional<double> ParsePrometheusValue(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
    if (!digits.empty() && digits.front() == '-') return std::nullopt;
  }
  if (digits.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (end != digits.data() + digits.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Underflow reads as the nearest double (0 or subnormal), as in Go;
    // overflow is an error, as in Go.
    v = std::strtod(std::string(digits).c_str(), nullptr);
    if (std::isinf(v)) return std::nullopt;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  // from_chars reads nan(chars) too; the format knows only NaN.
  if (std::isnan(v) && digits.back() == ')') return std::nullopt;
  return v;
}

absl::StatusOr<Exposition> ParsePrometheusText(std::string_view text) { return Parser().Run(text); }

absl::StatusOr<Series> ParseSeries(std::string_view text) {
  Cursor c{text};
  c.SkipBlanks();
  Series out;
  std::string error = ReadSeries(c, &out);
  if (error.empty()) {
    c.SkipBlanks();
    if (!c.Done()) error = absl::StrCat("unexpected text after the series: ", Quote(c.Rest()));
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return out;
}

const MetricFamily* Exposition::FindFamily(std::string_view name) const {
  for (const MetricFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<double> Exposition::Value(std::string_view name, const LabelMap& labels) const {
  for (const MetricSample& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

std::vector<const MetricSample*> Exposition::Select(std::string_view name,
                                                    const LabelMap& match) const {
  std::vector<const MetricSample*> out;
  for (const MetricSample& s : samples) {
    if (s.name == name && HasLabels(s, match)) out.push_back(&s);
  }
  return out;
}

double Exposition::Sum(std::string_view name, const LabelMap& match) const {
  double sum = 0;
  for (const MetricSample* s : Select(name, match)) sum += s->value;
  return sum;
}

HistogramSum Exposition::SumHistogram(std::string_view name, const LabelMap& match) const {
  HistogramSum h;
  const std::string bucket = absl::StrCat(Av(name), "_bucket");
  const std::string sum = absl::StrCat(Av(name), "_sum");
  const std::string count = absl::StrCat(Av(name), "_count");
  for (const MetricSample& s : samples) {
    if (!HasLabels(s, match)) continue;
    if (s.name == sum) {
      h.sum += s.value;
    } else if (s.name == count) {
      h.count += s.value;
    } else if (s.name == bucket) {
      auto le = s.labels.find("le");
      if (le == s.labels.end()) continue;
      std::optional<double> bound = ParsePrometheusValue(le->second);
      if (bound && !std::isnan(*bound))
        h.buckets[*bound] += s.value;  // NaN would break the map's order
    }
  }
  return h;
}

}  // namespace tide::metrics
