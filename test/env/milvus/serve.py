"""Runs `milvus-lite server ...` (same arguments, same code path) with three fixes for tests.

1. gRPC's Python server binds with SO_REUSEPORT by default, so a second milvus-lite on a port
   already in use starts "successfully" and the kernel splits connections between the two
   servers. We turn the option off, so a taken port fails loudly and the caller picks another.
2. The Node SDK pings every 10 s, idle or not, as Milvus's own server permits (5 s minimum). gRPC's
   Python server allows one ping per 5 minutes and then drops the connection with "too many pings";
   we accept pings as Milvus does.
3. The CLI only shuts down cleanly on KeyboardInterrupt (SIGINT). SIGTERM is mapped to the same
   path, so `kill` stops the gRPC server, then closes the database and releases its data-dir lock.
"""

import signal
import sys

import grpc

_grpc_server = grpc.server


_OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
]


def _server_for_tests(*args, options=None, **kwargs):
    return _grpc_server(*args, options=[*(options or []), *_OPTIONS], **kwargs)


def _interrupt(_signum, _frame):
    # Once: a second signal arriving during the graceful stop would abort it half way.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


grpc.server = _server_for_tests
signal.signal(signal.SIGTERM, _interrupt)
signal.signal(signal.SIGINT, _interrupt)

from milvus_lite.cmdline import main  # noqa: E402  (after the patch on purpose)

sys.exit(main())
