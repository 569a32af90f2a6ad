// Umbrella header for libctrack.
#pragma once

#include "ctrack/config.h"
#include "ctrack/conn.h"
#include "ctrack/engine.h"
#include "ctrack/expectation.h"
#include "ctrack/invalid_reason.h"
#include "ctrack/stats.h"
#include "ctrack/tuple.h"
#include "ctrack/types.h"
