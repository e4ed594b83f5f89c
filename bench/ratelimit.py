"""Benchmark: what the API rate limiter adds to a request.

    .venv/bin/python bench/ratelimit.py [--requests 300] [--rounds 2] [--redis URL]

``GET /api/v1/articles?limit=1`` through Flask's test client on a fresh SQLite database,
with rate limits off, counted in memory, and counted in Redis (skipped when it does not
answer); limits high enough never to refuse. The configurations alternate round by
round, so a machine that speeds up or slows down affects them alike. Prints the median
milliseconds per request of each round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import fresh_database  # noqa: E402

from review_flow.app import create_app, database  # noqa: E402
from review_flow.tokens import service as tokens  # noqa: E402
from review_flow.users import service as users  # noqa: E402

HIGH = "1000000/minute"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    configs: dict[str, dict[str, str]] = {
        "off": {"API_RATE_LIMIT": "off", "API_RATE_LIMIT_PER_ADDRESS": "off"},
        "memory": {"API_RATE_LIMIT": HIGH, "API_RATE_LIMIT_PER_ADDRESS": HIGH},
        "redis": {"API_RATE_LIMIT": HIGH, "API_RATE_LIMIT_PER_ADDRESS": HIGH,
                  "RATE_LIMIT_STORAGE": args.redis,
                  "RATE_LIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex}"},
    }
    try:
        import redis

        redis.Redis.from_url(args.redis, socket_connect_timeout=2).ping()
    except Exception as exc:  # no Redis here: measure the rest
        print(f"redis: skipped ({exc})")
        del configs["redis"]
    with fresh_database("sqlite") as db:
        with db.transaction() as s:
            user = users.add_user(s, email="pipeline@example.org", name="Pipeline",
                                  roles=["author"], password=None)
            token = tokens.create_token(s, user, name="bench").plaintext
        medians: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(args.rounds):
            for name, settings in configs.items():
                app = create_app({"DATABASE_URL": str(db.engine.url), "SECRET_KEY": "bench",
                                  **settings})
                client = app.test_client()
                headers = {"Authorization": f"Bearer {token}"}
                latencies = []
                for i in range(args.requests + 30):
                    t0 = time.perf_counter()
                    r = client.get("/api/v1/articles?limit=1", headers=headers)
                    if i >= 30:  # the first ones warm up
                        latencies.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.get_data(as_text=True)
                medians[name].append(statistics.median(latencies) * 1000)
                database(app).dispose()
    for name, values in medians.items():
        print(f"{name:7s} median ms per request: {', '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    main()
