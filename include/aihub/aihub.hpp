#pragma once
// The umbrella header: the whole transport-agnostic library in one include.

#include "aihub/batches.hpp"
#include "aihub/body_stream.hpp"
#include "aihub/config.hpp"
#include "aihub/http.hpp"
#include "aihub/json.hpp"
#include "aihub/operation.hpp"
#include "aihub/result.hpp"
#include "aihub/settings.hpp"
#include "aihub/transport.hpp"
#include "aihub/url.hpp"
#include "aihub/validate.hpp"
#include "aihub/version.hpp"
