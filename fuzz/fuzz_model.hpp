#pragma once
// A described model for the JSON fuzz targets: loosely the shape of a run result, with a member of
// every kind the codecs support, nested through vectors and optionals.
//
// Every json::raw member is required, optional or inside a vector: a plain raw member that is
// absent decodes to empty text, which is written back as null, so it would not survive a round trip
// unchanged.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aihub/json.hpp"

namespace fuzz_model {

namespace j = aihub::json;

enum class status : std::uint8_t { pending, running, complete, failed };

constexpr std::string_view to_string(status s) {
  switch (s) {
    case status::pending:
      return "PENDING";
    case status::running:
      return "RUNNING";
    case status::complete:
      return "COMPLETE";
    case status::failed:
      return "FAILED";
  }
  return "PENDING";
}

inline bool from_string(std::string_view text, status& out) {
  for (auto s : {status::pending, status::running, status::complete, status::failed}) {
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  }
  return false;
}

struct field {
  std::string field_name;
  j::raw value;
  std::optional<std::string> type;
  double confidence = 0;
  std::optional<double> score;
  bool edited = false;

  static constexpr auto json_fields() {
    return aihub::json::fields(
        j::required("field_name", &field::field_name), j::required("value", &field::value),
        j::field("type", &field::type), j::field("confidence", &field::confidence),
        j::field("score", &field::score), j::field("edited", &field::edited));
  }
  friend bool operator==(const field&, const field&) = default;
};

struct document {
  std::string class_name;
  std::vector<int> page_numbers;
  std::vector<field> fields;
  std::optional<j::raw> extra;

  static constexpr auto json_fields() {
    return aihub::json::fields(j::field("class_name", &document::class_name),
                               j::field("page_numbers", &document::page_numbers),
                               j::field("fields", &document::fields),
                               j::field("extra", &document::extra));
  }
  friend bool operator==(const document&, const document&) = default;
};

struct file {
  std::string original_file_name;
  j::flex_int file_size;
  std::uint64_t checksum = 0;
  std::vector<document> documents;
  std::optional<document> first;

  static constexpr auto json_fields() {
    return aihub::json::fields(
        j::required("original_file_name", &file::original_file_name),
        j::field("file_size", &file::file_size), j::field("checksum", &file::checksum),
        j::field("documents", &file::documents), j::field("first", &file::first));
  }
  friend bool operator==(const file&, const file&) = default;
};

struct run {
  std::string id;
  status state = status::pending;
  std::optional<status> previous;
  std::optional<std::string> message;
  std::int64_t start_timestamp = 0;
  std::optional<std::int64_t> finish_timestamp;
  j::flex_string batch_id;
  std::optional<j::flex_int> count;
  std::vector<file> files;
  std::vector<j::raw> keys;
  std::vector<std::vector<std::optional<std::int64_t>>> grid;
  std::vector<std::string> tags;
  bool has_more = false;
  int retries = 0;

  static constexpr auto json_fields() {
    return aihub::json::fields(
        j::required("id", &run::id), j::field("status", &run::state),
        j::field("previous_status", &run::previous), j::field("message", &run::message),
        j::field("start_timestamp", &run::start_timestamp),
        j::field("finish_timestamp", &run::finish_timestamp), j::field("batch_id", &run::batch_id),
        j::field("count", &run::count), j::field("files", &run::files),
        j::field("keys", &run::keys), j::field("grid", &run::grid), j::field("tags", &run::tags),
        j::field("has_more", &run::has_more), j::field("retries", &run::retries));
  }
  friend bool operator==(const run&, const run&) = default;
};

}  // namespace fuzz_model
