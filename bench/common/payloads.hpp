#pragma once
// Deterministic response bodies for the decoding benchmarks (same bytes on every run and machine).

#include <cstddef>
#include <string>

namespace bench {

/// listFiles page: {"nodes":[...],"next_page_token":...,"has_more":true} with `nodes` entries
/// (10,000 gives about 2 MB). Names are mostly ASCII, some UTF-8, a few with escapes; one size in
/// ten is a numeric string, as some servers send it.
std::string make_file_page(std::size_t nodes);

/// getRunResults page: `files` files x `documents` documents x `fields` fields, every field with
/// source coordinates and confidence scores (200 x 3 x 40 gives about 5 MB). Values are mostly
/// strings, some numbers, nulls with an error message, lists, and validation alerts.
std::string make_run_results(std::size_t files, std::size_t documents, std::size_t fields);

}  // namespace bench
