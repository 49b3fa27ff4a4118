"""The data behind the fixture pages and downloads: products, CSV files and deterministic bytes."""

import csv
import io
import json
import random
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from functools import cache

BLOB_SIZE = 64 * 1024
"""Bytes in ``/files/blob.bin``."""

BLOB_SEED = 20240611
"""Seed of the pseudo-random generator that makes ``/files/blob.bin``."""

MIB = 1024 * 1024
MAX_BIG_MIB = 1024
"""The most MiB ``/files/big.bin?mb=`` streams."""

EVIL_FILE_NAME = "../../etc/passwd"
"""The file name ``/files/evil`` suggests, a path traversal an executor must sanitise."""

EVIL_BODY = "not a real passwd file: served by the Runwright fixture app\n"


@dataclass(frozen=True, slots=True)
class Product:
    """One row of the ``/table`` page and of the CSV downloads."""

    name: str
    price: float | int
    stock: int


PRODUCTS = (
    Product("Desk lamp", 19.99, 12),
    Product("Cable tie", 4, 250),
    Product("Monitor arm", 149.99, 7),
    Product("Standing desk", 1962.38, 3),
)
"""Summed in this order, the prices make exactly ``2136.36`` (in Python and JavaScript alike)."""

PRICE_TOTAL = 2136.36
TOTAL_TEXT = "Total: 2136.36"


def products_json() -> str:
    """The products as a JSON array, safe to inline in a ``<script>`` element."""
    return json.dumps([asdict(product) for product in PRODUCTS]).replace("</", "<\\/")


def products_csv() -> str:
    """``name,price,stock`` then one line per product, prices written as on the page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "price", "stock"])
    for product in PRODUCTS:
        writer.writerow([product.name, product.price, product.stock])
    return buffer.getvalue()


@cache
def blob_bytes() -> bytes:
    """The 64 KiB of ``/files/blob.bin``: seeded pseudo-random bytes, the same on every run."""
    return random.Random(BLOB_SEED).randbytes(BLOB_SIZE)  # noqa: S311 (test data, not secrets)


def big_bytes(mib: int) -> bytes:
    """What ``/files/big.bin?mb=<mib>`` streams: ``blob_bytes()`` repeated to ``mib`` MiB."""
    return blob_bytes() * (mib * MIB // BLOB_SIZE)


async def big_chunks(mib: int) -> AsyncIterator[bytes]:
    """``big_bytes(mib)`` in 64 KiB chunks, without holding it all in memory."""
    block = blob_bytes()
    for _ in range(mib * MIB // BLOB_SIZE):
        yield block
