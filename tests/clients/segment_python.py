"""Sends traffic with Segment's own Python library, unchanged, to a Leadhost
connector. Usage: segment_python.py HOST WRITE_KEY. Exits non-zero on any
error the library reports."""
import sys

import segment.analytics as analytics

host, write_key = sys.argv[1], sys.argv[2]
errors = []
client = analytics.Client(
    write_key=write_key,
    host=host,
    sync_mode=True,
    gzip=True,
    max_retries=0,
    on_error=lambda error, batch: errors.append(repr(error)),
)
client.identify("u-1", {"email": "aino.virtanen@nordicpulp.fi", "title": "Mill Manager", "company": "Nordic Pulp Oy"})
client.track(
    "u-1",
    "Whitepaper Downloaded",
    {"asset_id": "wp-energy-2026", "topic": "energy efficiency"},
    context={"campaign": {"name": "spring", "source": "google", "medium": "cpc"}},
)
client.page("u-1", "Docs", "Pricing", {"url": "https://www.example-drying.com/pricing?utm_source=newsletter&utm_medium=email"})
client.group("u-1", "acct-nordicpulp", {"name": "Nordic Pulp Oy", "website": "https://nordicpulp.fi"})
client.flush()
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("sent 4 calls")
