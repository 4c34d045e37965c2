"""Cost of secrets at rest: AES-GCM encrypt/decrypt per value, and `rotate-key` over many users.

.venv/bin/python -m bench.secrets [--users 5000] [--batch-size 200] [--database-url URL]
"""

import argparse
import time
import timeit

from sqlalchemy import insert

from app import create_app
from app.config import new_encryption_key
from app.crypto import decrypt, encrypt
from app.extensions import db
from app.models import User
from app.settings.rotation import rotate_secrets

from .load import bench_env, flask_cli


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    old, new = new_encryption_key(), new_encryption_key()
    env = bench_env(args.database_url, ENCRYPTION_KEY=old, SECRET_KEY="bench")
    flask_cli(env, "db", "upgrade")
    seeding = create_app({"ENV": env})
    with seeding.app_context():
        keys = seeding.config["ENCRYPTION_KEYS"]
        n = 2000
        stored = encrypt("sk-bench-0123456789abcdef0123456789abcdef", 1, "llm_api_key", keys)
        enc = timeit.timeit(lambda: encrypt("sk-bench-0123456789abcdef", 1, "llm_api_key", keys), number=n) / n
        dec = timeit.timeit(lambda: decrypt(stored, 1, "llm_api_key", keys), number=n) / n
        rows = [
            {
                "id": i,
                "email": f"u{i}@bench.example",
                "password_hash": "x",
                "discord_webhook_url": encrypt(
                    f"https://discord.com/api/webhooks/{i}/token{i}", i, "discord_webhook_url"
                ),
                "llm_api_key": encrypt(f"sk-bench-{i}", i, "llm_api_key"),
            }
            for i in range(1, args.users + 1)
        ]
        db.session.execute(insert(User), rows)
        db.session.commit()

    rotating = create_app({"ENV": {**env, "ENCRYPTION_KEY": f"{new},{old}"}})
    with rotating.app_context():
        start = time.perf_counter()
        first = rotate_secrets(rotating.config["ENCRYPTION_KEYS"], args.batch_size)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = rotate_secrets(rotating.config["ENCRYPTION_KEYS"], args.batch_size)
        second_s = time.perf_counter() - start

    print(f"encrypt {enc * 1e6:.1f} µs, decrypt {dec * 1e6:.1f} µs per value")
    print(f"rotate-key, {args.users} users, batches of {args.batch_size}:")
    print(f"  first run  {first_s:.2f} s: re-encrypted {first.reencrypted}, current {first.current}")
    print(f"  second run {second_s:.2f} s: re-encrypted {second.reencrypted}, current {second.current}")


if __name__ == "__main__":
    main()
