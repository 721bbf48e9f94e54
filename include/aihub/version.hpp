#pragma once
// Version macros and the versioned inline namespace. Two vendored copies of different versions land
// in different inline namespaces, so mixing them is a link error instead of a silent ODR violation.

#define AIHUB_VERSION_MAJOR 0
#define AIHUB_VERSION_MINOR 1
#define AIHUB_VERSION_PATCH 0
#define AIHUB_VERSION_STRING "0.1.0"

#define AIHUB_ABI_NAMESPACE v0_1

#define AIHUB_NAMESPACE_BEGIN \
  namespace aihub {           \
  inline namespace AIHUB_ABI_NAMESPACE {
#define AIHUB_NAMESPACE_END \
  }                         \
  }
