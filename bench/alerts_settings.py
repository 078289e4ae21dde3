"""What-if settings for ``bench/alerts.py --redis-layer ...``: the project's settings with another
Redis channel layer configuration, chosen by ``BENCH_REDIS_LAYER``:

- ``socket-timeout``: the project's ``RedisChannelLayer`` with a 10 s socket timeout (redis-py 8's
  default of 5 s equals channels_redis' 5 s BZPOPMIN, so an idle receive fails with TimeoutError);
- ``pubsub``: channels_redis' ``RedisPubSubChannelLayer`` (one Redis message per group and process,
  fanned out in the process, instead of one list entry per socket popped in its own round trips).
"""

import os

from portal.settings import *  # noqa: F403
from portal.settings import REDIS_URL

_layer = os.environ.get("BENCH_REDIS_LAYER", "")
if REDIS_URL and _layer == "socket-timeout":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 10}]},
        }
    }
elif REDIS_URL and _layer == "pubsub":
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
