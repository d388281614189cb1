"""Moves one large object through aerie's bucket with obstore, the client the Flyte SDK uses, the
way the SDK moves a File: a multipart upload (5 MiB parts, 12 in flight) and a streamed download.

    python bucket.py --mib 1024

The endpoint and credential come from FLYTE_AWS_ENDPOINT, FLYTE_AWS_ACCESS_KEY_ID and
FLYTE_AWS_SECRET_ACCESS_KEY (`aerie storage env --write`). Prints `put_mib_per_s X` and
`get_mib_per_s Y`, and fails if the bytes read back differ.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time

import obstore
from obstore.store import S3Store

BLOCK = 1024 * 1024
KEY = "runs/flytesnacks/development/bench/a0/raw/big.bin"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    mib = parser.parse_args().mib
    store = S3Store(
        "aerie",
        config={
            "endpoint": os.environ["FLYTE_AWS_ENDPOINT"],
            "access_key_id": os.environ["FLYTE_AWS_ACCESS_KEY_ID"],
            "secret_access_key": os.environ["FLYTE_AWS_SECRET_ACCESS_KEY"],
        },
        client_options={"allow_http": True, "timeout": "600s"},
    )
    block = hashlib.sha256(b"aerie").digest() * (BLOCK // 32)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "source.bin")
        written = hashlib.sha256()
        with open(source, "wb") as out:
            for i in range(mib):
                chunk = i.to_bytes(8, "big") + block[8:]
                out.write(chunk)
                written.update(chunk)
        started = time.perf_counter()
        with open(source, "rb") as data:
            obstore.put(store, KEY, data, chunk_size=5 * BLOCK, max_concurrency=12)
        put_s = time.perf_counter() - started
        os.unlink(source)

        read = hashlib.sha256()
        started = time.perf_counter()
        with open(os.path.join(tmp, "copy.bin"), "wb") as out:
            for chunk in obstore.get(store, KEY).stream(min_chunk_size=8 * BLOCK):
                out.write(chunk)
                read.update(chunk)
        get_s = time.perf_counter() - started
    if read.digest() != written.digest():
        raise SystemExit("the object read back differs from the one written")
    print(f"put_mib_per_s {mib / put_s:.1f}")
    print(f"get_mib_per_s {mib / get_s:.1f}")


if __name__ == "__main__":
    main()
