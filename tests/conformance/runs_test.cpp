// The six Runs operations, built by the library, sent through libcurl to Prism and checked against
// the spec: every optional field of runApp and runDeployment (settings with custom and secret
// keys, runtime config, PDF passwords, tags and extra members), every listRuns filter, deleteRun's
// flags and getRunResults' include_* flags with file_offset.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "conformance.hpp"

using namespace aihub;
using aihub_conformance::conforms;

namespace {

constexpr const char* run_id_example = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";

/// Settings that use every member the spec names, plus the extension points.
run_settings full_settings() {
  run_settings s;
  s.custom_keys = {custom_key::of_string("threshold name", "r\xC3\xA9sum\xC3\xA9 #1 100%"),
                   custom_key::of_int("max_pages", 40),
                   custom_key::of_bool("strict", true),
                   custom_key{"ratio", json::raw{"0.85"}},
                   custom_key{"nested", json::raw{R"({"a":[1,"two",null,{"b":false}]})"}},
                   custom_key{"nothing", json::raw{"null"}}};
  s.secret_keys = {{"api key", "vault-secret-name"}, {"\xE6\x97\xA5", "other-secret"}};
  s.generate_post_process_pdf = true;
  s.pdf_passwords = {{"locked file #1.pdf", "p@ss w0rd"}, {"\xC3\xA9t\xC3\xA9.pdf", ""}};
  s.runtime_config_extra = json::raw{R"({"future_option":{"enabled":true}})"};
  s.tags = {"urgent", "q3 #1", "\xE6\x97\xA5\xE6\x9C\xAC"};
  s.extra = json::raw{R"({"priority":"high"})"};
  return s;
}

}  // namespace

TEST_SUITE("runs") {
  TEST_CASE("runApp") {
    SUBCASE("app_name and batch_id") {
      auto started = conforms(run_app{.app_name = "invoice-app", .batch_id = 12345});
      REQUIRE(started.has_value());
      CHECK_FALSE(started->id.empty());
    }
    SUBCASE("app_id and input_dir") {
      CHECK(conforms(run_app{.app_id = "528c36e8-ac5b-490d-a41b-7eec9c404b87",
                             .input_dir = "/org/ws/fs/Instabase Drive/in #1/r\xC3\xA9sum\xC3\xA9"})
                .has_value());
    }
    SUBCASE("every optional field") {
      CHECK(conforms(run_app{.app_name = "Marketplace App \xE2\x84\xA2",
                             .owner = "instabase",
                             .batch_id = 9007199254740991,
                             .version = "1.2.3-beta+build.7",
                             .output_workspace = "out ws",
                             .output_dir = "/org/ws/fs/Instabase Drive/out",
                             .settings = full_settings()})
                .has_value());
    }
    SUBCASE("settings one member at a time") {
      run_settings only_tags;
      only_tags.tags = {"a"};
      run_settings only_custom;
      only_custom.custom_keys = {custom_key::of_int("k", 1)};
      run_settings only_secret;
      only_secret.secret_keys = {{"s", "vault"}};
      run_settings only_pdf;
      only_pdf.generate_post_process_pdf = false;
      run_settings only_passwords;
      only_passwords.pdf_passwords = {{"f.pdf", "pw"}};
      run_settings longest_tags;
      longest_tags.tags = {std::string(250, 'x'), std::string(250, 'y')};
      for (const run_settings& s :
           {only_tags, only_custom, only_secret, only_pdf, only_passwords, longest_tags})
        CHECK(conforms(run_app{.app_name = "app", .batch_id = 1, .settings = s}).has_value());
    }
    SUBCASE("service account with output_workspace") {
      settings s = aihub_conformance::user_settings();
      s.service_account = true;
      CHECK(conforms(run_app{.app_name = "app", .batch_id = 1, .output_workspace = "svc-ws"}, {}, s)
                .has_value());
    }
  }

  TEST_CASE("runDeployment") {
    const std::string deployment = "01902d6f-bb35-74cb-bd27-c09b38bbf20a";
    SUBCASE("batch_id") {
      auto started = conforms(run_deployment{.deployment_id = deployment, .batch_id = 12345});
      REQUIRE(started.has_value());
      CHECK_FALSE(started->id.empty());
    }
    SUBCASE("input_dir with version and output_dir") {
      CHECK(conforms(run_deployment{.deployment_id = deployment,
                                    .input_dir = "/org/ws/fs/Drive/in folder #2",
                                    .version = "0.0.1",
                                    .output_dir = "/org/ws/fs/Drive/out \xC3\xA9"})
                .has_value());
    }
    SUBCASE("manual upstream integration with a mailbox window") {
      CHECK(conforms(run_deployment{.deployment_id = deployment,
                                    .manual_upstream_integration = true,
                                    .from_timestamp = 1700000000000,
                                    .to_timestamp = 1700086400000})
                .has_value());
      CHECK(
          conforms(run_deployment{.deployment_id = deployment, .manual_upstream_integration = true})
              .has_value());
    }
    SUBCASE("every optional field and full settings") {
      CHECK(conforms(run_deployment{.deployment_id = deployment,
                                    .batch_id = 1,
                                    .version = "2",
                                    .output_dir = "/out",
                                    .settings = full_settings()})
                .has_value());
    }
    SUBCASE("a deployment id with awkward characters") {
      CHECK(conforms(run_deployment{.deployment_id = "dep #1/2 100%+? \xC3\xA9", .batch_id = 1})
                .has_value());
    }
  }

  TEST_CASE("getRunStatus") {
    for (std::string id : {std::string(run_id_example), std::string("run #1/2 100%+? \xC3\xA9")}) {
      CAPTURE(id);
      auto status = conforms(get_run{.run_id = id});
      REQUIRE(status.has_value());
      CHECK_FALSE(status->id.empty());
    }
  }

  TEST_CASE("listRuns") {
    SUBCASE("no filter") {
      auto list = conforms(list_runs{});
      REQUIRE(list.has_value());
      for (const auto& r : list->runs) CHECK_FALSE(r.id.empty());
    }
    SUBCASE("every filter") {
      CHECK(conforms(list_runs{.app_id = "528c36e8-ac5b-490d-a41b-7eec9c404b87",
                               .app_name = "invoice app #1",
                               .deployment_id = "01902d6f-bb35-74cb-bd27-c09b38bbf20a",
                               .username = "j.doe+ops@acme.com",
                               .run_id = run_id_example,
                               .status = {run_status::complete, run_status::failed,
                                          run_status::running, run_status::cancelled,
                                          run_status::paused, run_status::stopped_at_checkpoint},
                               .output_workspaces = {"ws one", "ws#2", "\xE6\x97\xA5\xE6\x9C\xAC"},
                               .from_timestamp = 1700000000,
                               .to_timestamp = 1700086400,
                               .limit = 50,
                               .offset = 100,
                               .sort_by = run_sort_field::start_timestamp,
                               .order = run_sort_order::descending})
                .has_value());
    }
    SUBCASE("one status, one workspace, other sort") {
      CHECK(conforms(list_runs{.status = {run_status::complete},
                               .output_workspaces = {"ws"},
                               .limit = 1,
                               .offset = 0,
                               .sort_by = run_sort_field::status,
                               .order = run_sort_order::ascending})
                .has_value());
    }
    SUBCASE("timestamps at the edges") {
      CHECK(conforms(list_runs{.from_timestamp = 0, .to_timestamp = list_runs::max_epoch_seconds})
                .has_value());
    }
  }

  TEST_CASE("deleteRun") {
    SUBCASE("server defaults") {
      auto deletion = conforms(delete_run{.run_id = run_id_example});
      CHECK(deletion.has_value());
    }
    SUBCASE("every flag, true and false") {
      CHECK(conforms(delete_run{.run_id = run_id_example,
                                .delete_db_data = true,
                                .delete_input = true,
                                .delete_output = true,
                                .delete_logs = true})
                .has_value());
      CHECK(conforms(delete_run{.run_id = run_id_example,
                                .delete_db_data = false,
                                .delete_input = false,
                                .delete_output = false,
                                .delete_logs = false})
                .has_value());
      CHECK(conforms(
                delete_run{.run_id = "run #1 %+?", .delete_db_data = false, .delete_output = true})
                .has_value());
    }
  }

  TEST_CASE("getRunResults") {
    SUBCASE("no flag") {
      auto page = conforms(get_run_results{.run_id = run_id_example});
      REQUIRE(page.has_value());
      CHECK_FALSE(page->id.empty());
      CHECK(page->custom_keys().has_value());
    }
    SUBCASE("every include_* flag and file_offset") {
      auto page = conforms(get_run_results{.run_id = run_id_example,
                                           .include_review_results = true,
                                           .include_confidence_scores = true,
                                           .include_validation_results = true,
                                           .include_source_info = true,
                                           .file_offset = 20});
      REQUIRE(page.has_value());
      CHECK(conforms(get_run_results{.run_id = run_id_example,
                                     .include_review_results = false,
                                     .include_confidence_scores = false,
                                     .include_validation_results = false,
                                     .include_source_info = false,
                                     .file_offset = 0})
                .has_value());
    }
    SUBCASE("the next page's request") {
      const get_run_results first{.run_id = run_id_example, .include_source_info = true};
      auto page = conforms(first);
      REQUIRE(page.has_value());
      auto next = first.next_page(*page);
      REQUIRE(next.has_value());
      if (next->has_value()) CHECK(conforms(**next).has_value());
    }
  }
}
