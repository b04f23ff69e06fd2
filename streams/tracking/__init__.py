"""Pure parts of the tracking hooks: no aiohttp, no Kafka, clock and secrets passed in.

`tokens` (signed email links), `signatures` (webhook HMAC), `clientip` (which X-Forwarded-For hop
is the client), `ratelimit` (token buckets per client), `origins` (CORS allow-list), `pixels`
(query strings and email links into event payloads), `endpoint_types` (which event types each
endpoint takes), `bodies` (why a body is not JSON, a rejected item as a dead letter) and `snippet`
(the t.js source). The aiohttp shell that uses them is streams/hooks.py, its Kafka side
streams/hooks_kafka.py.
"""
