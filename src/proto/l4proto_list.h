// Registration of protocol trackers. Adding a protocol = one new
// `<name>_tracker.{h,cc}` plus one line here. Protocols not listed are
// tracked by GenericTracker. X(TrackerType, header)
#pragma once

#include "proto/generic_tracker.h"
#include "proto/icmp_tracker.h"
#include "proto/icmpv6_tracker.h"
#include "proto/tcp_tracker.h"
#include "proto/udp_tracker.h"
#include "proto/udplite_tracker.h"

#define CTRACK_L4PROTOS(X) \
  X(TcpTracker)            \
  X(UdpTracker)            \
  X(UdpLiteTracker)        \
  X(IcmpTracker)           \
  X(Icmpv6Tracker)
