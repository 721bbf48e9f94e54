#include "common/payloads.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace bench {
namespace {

/// A small deterministic generator (64-bit LCG, high bits), so payloads never depend on <random>'s
/// implementation.
class lcg {
 public:
  explicit lcg(std::uint64_t seed) : state_(seed) {}
  std::uint32_t next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state_ >> 33);
  }
  std::uint32_t below(std::uint32_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

void append_fmt(std::string& out, const char* fmt, auto... args) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  out.append(buf, static_cast<std::size_t>(n));
}

/// A value with two decimals, printed the way every DOM library re-serialises it (no trailing 0).
void append_decimal(std::string& out, std::uint32_t hundredths) {
  append_fmt(out, "%u", hundredths / 100);
  std::uint32_t frac = hundredths % 100;
  if (frac == 0) {
    out.append(".0");
  } else if (frac % 10 == 0) {
    append_fmt(out, ".%u", frac / 10);
  } else {
    append_fmt(out, ".%02u", frac);
  }
}

}  // namespace

std::string make_file_page(std::size_t nodes) {
  lcg rng(0xA1B2C3D4u);
  std::string out;
  out.reserve(nodes * 200 + 128);
  out.append("{\"nodes\":[");
  for (std::size_t i = 0; i < nodes; ++i) {
    if (i) out.push_back(',');
    std::string name;
    if (i % 50 == 7) {
      append_fmt(name, "r\xC3\xA9sum\xC3\xA9-%06zu.pdf", i);  // résumé, raw UTF-8
    } else if (i % 97 == 3) {
      append_fmt(name, "scan \\\"draft\\\" %06zu.tif", i);  // escaped quotes
    } else {
      static const char* const stems[] = {"scan", "invoice", "receipt", "contract", "statement"};
      static const char* const exts[] = {"pdf", "png", "jpg", "tif", "docx"};
      append_fmt(name, "%s-%06zu.%s", stems[rng.below(5)], i, exts[rng.below(5)]);
    }
    std::uint32_t size = 1000 + rng.below(50'000'000);
    std::uint32_t mtime = 1'700'000'000u + rng.below(30'000'000);
    out.append("{\"name\":\"").append(name).append("\",\"full_path\":\"batches/4711/");
    out.append(name).append("\",\"metadata\":{\"node_type\":\"file\",\"size\":");
    if (i % 10 == 5)
      append_fmt(out, "\"%u\"", size);
    else
      append_fmt(out, "%u", size);
    append_fmt(out, ",\"modified_timestamp\":%u},\"perms\":{\"can_read\":true,\"can_write\":%s,"
               "\"can_delete\":%s}}",
               mtime, rng.below(4) ? "true" : "false", rng.below(3) ? "true" : "false");
  }
  out.append("],\"next_page_token\":\"++//bmV4dC1wYWdlLXRva2VuLTEwMDAw==\",\"has_more\":true}");
  return out;
}

std::string make_run_results(std::size_t files, std::size_t documents, std::size_t fields) {
  lcg rng(0x5EEDF00Du);
  static const char* const classes[] = {"invoice", "receipt", "bank_statement", "w2"};
  static const char* const words[] = {"ACME Corporation", "Globex Ltd", "Initech",
                                      "Umbrella plc",     "Hooli Inc",  "Stark Industries",
                                      "Wayne Enterprises", "Soylent"};
  std::string out;
  out.reserve(files * documents * fields * 220 + 1024);
  out.append("{\"id\":\"run-6c1f0e2a9b8d4c37\",\"status\":\"COMPLETE\",\"message\":\"Run completed\","
             "\"start_timestamp\":1700000000123456789,\"finish_timestamp\":1700000042987654321,"
             "\"batch_id\":\"4711\",\"files\":[");
  for (std::size_t f = 0; f < files; ++f) {
    if (f) out.push_back(',');
    append_fmt(out,
               "{\"original_file_name\":\"document-%04zu.pdf\",\"input_file_path\":"
               "\"batches/4711/document-%04zu.pdf\",\"documents\":[",
               f, f);
    for (std::size_t d = 0; d < documents; ++d) {
      if (d) out.push_back(',');
      out.append("{\"fields\":[");
      for (std::size_t k = 0; k < fields; ++k) {
        if (k) out.push_back(',');
        std::size_t serial = (f * documents + d) * fields + k;
        append_fmt(out, "{\"field_name\":\"field_%02zu\",\"value\":", k);
        bool missing = false;
        if (serial % 11 == 4) {
          out.append("null");
          missing = true;
        } else if (serial % 7 == 2) {
          append_decimal(out, rng.below(10'000'000));
        } else if (serial % 13 == 6) {
          append_fmt(out, "[\"%s\",\"%s\"]", words[rng.below(8)], words[rng.below(8)]);
        } else {
          append_fmt(out, "\"%s %u\"", words[rng.below(8)], rng.below(100000));
        }
        out.append(",\"type\":\"").append(serial % 7 == 2 ? "NUMBER" : "TEXT").push_back('"');
        if (missing) out.append(",\"error_msg\":\"No value found for this field\"");
        out.append(",\"source_coordinates\":[{\"top_x\":");
        append_decimal(out, rng.below(60000));
        out.append(",\"top_y\":");
        append_decimal(out, rng.below(80000));
        out.append(",\"bottom_x\":");
        append_decimal(out, rng.below(60000));
        out.append(",\"bottom_y\":");
        append_decimal(out, rng.below(80000));
        append_fmt(out, ",\"page_number\":%u}]", rng.below(3));
        out.append(",\"confidence\":{\"model\":0.");
        append_fmt(out, "%04u", 5000 + rng.below(4999) + 1);
        out.append(",\"ocr\":0.");
        append_fmt(out, "%04u", 5000 + rng.below(4999) + 1);
        out.push_back('}');
        if (serial % 17 == 9)
          out.append(",\"validations\":{\"valid\":false,\"alerts\":[{\"alert_level\":\"FAILURE\","
                     "\"msg\":\"Value does not match the expected format\",\"blocked\":false,"
                     "\"type\":\"regex\",\"locations\":[{\"page\":0}]}]}");
        out.push_back('}');
      }
      std::uint32_t pages = 1 + rng.below(3);
      append_fmt(out, "],\"review_completed\":false,\"class_name\":\"%s\",\"page_numbers\":[",
                 classes[rng.below(4)]);
      for (std::uint32_t p = 0; p < pages; ++p) append_fmt(out, p ? ",%u" : "%u", p);
      out.append("],\"page_layouts\":[");
      for (std::uint32_t p = 0; p < pages; ++p)
        append_fmt(out, "%s{\"page_number\":%u,\"width\":612.0,\"height\":792.0}", p ? "," : "", p);
      append_fmt(out,
                 "],\"post_processed_paths\":[\"out/document-%04zu-%zu.pdf\"],\"validations\":"
                 "{\"final_result_pass\":true},\"classification_confidence\":{\"model\":0.%04u}}",
                 f, d, 5000 + rng.below(4999) + 1);
    }
    out.append("]}");
  }
  out.append("],\"keys\":{\"custom\":{\"threshold\":0.8}},\"review_completed\":false,"
             "\"has_more\":false}");
  return out;
}

}  // namespace bench
