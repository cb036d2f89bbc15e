#include "http/headers.h"

namespace tide::httpc {

void Headers::Add(std::string_view name, std::string_view value) {
  if (text_.capacity() < 256) text_.reserve(256);  // one allocation for a typical head
  Field f;
  f.name_at = static_cast<uint32_t>(text_.size());
  f.name_len = static_cast<uint32_t>(name.size());
  text_.append(name);
  f.value_at = static_cast<uint32_t>(text_.size());
  f.value_len = static_cast<uint32_t>(value.size());
  text_.append(value);
  fields_.push_back(f);
}

std::string_view Headers::name(size_t i) const {
  return std::string_view(text_).substr(fields_[i].name_at, fields_[i].name_len);
}

std::string_view Headers::value(size_t i) const {
  return std::string_view(text_).substr(fields_[i].value_at, fields_[i].value_len);
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name_len == name.size() && EqualsIgnoreCase(this->name(i), name)) {
      return value(i);
    }
  }
  return std::nullopt;
}

std::string_view Headers::GetOr(std::string_view name, std::string_view fallback) const {
  auto v = Get(name);
  return v ? *v : fallback;
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (EqualsIgnoreCase(this->name(i), name)) out.push_back(value(i));
  }
  return out;
}

void Headers::Clear() {
  text_.clear();
  fields_.clear();
}

}  // namespace tide::httpc
