// Footprint reference: the same program with nlohmann/json and std::string (no validation).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
  std::string token = argc > 1 ? argv[1] : "token";
  std::vector<std::pair<std::string, std::string>> headers{
      {"Authorization", "Bearer " + token}, {"Accept", "application/json"},
      {"Content-Type", "application/json"}};
  nlohmann::json body;
  body["name"] = "footprint";
  std::string text = body.dump();
  std::string answer = argc > 2 ? argv[2] : R"({"id":7})";
  auto doc = nlohmann::json::parse(answer, nullptr, false);
  if (doc.is_discarded() || !doc.contains("id") || !doc["id"].is_number_integer()) return 1;
  std::printf("%s %zu %lld\n", text.c_str(), headers.size(),
              static_cast<long long>(doc["id"].get<long long>()));
  return 0;
}
