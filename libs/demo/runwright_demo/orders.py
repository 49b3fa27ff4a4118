"""The demo's fixed order book, and its CSV rendering."""

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

STATUS_LABELS: dict[str, str] = {
    "pnd": "Pending",
    "shp": "Shipped",
    "dlv": "Delivered",
    "cnc": "Cancelled",
}
"""Status codes (the ``<option>`` values) and their visible text."""


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    customer: str
    amount: Decimal
    status: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer": self.customer,
            "amount": float(self.amount),
            "status": self.status,
            "statusLabel": self.status_label,
        }


ORDERS: tuple[Order, ...] = (
    Order(1001, "Globex Corporation", Decimal("2136.36"), "shp"),
    Order(1002, "Initech", Decimal("489.90"), "pnd"),
    Order(1003, "Umbrella Corp", Decimal("1250.00"), "dlv"),
    Order(1004, "Stark Industries", Decimal("9999.99"), "shp"),
    Order(1005, "Wayne Enterprises", Decimal("312.45"), "cnc"),
    Order(1006, "Hooli", Decimal("75.20"), "pnd"),
    Order(1007, "Soylent Corp", Decimal("640.08"), "shp"),
    Order(1008, "Tyrell Corporation", Decimal("1820.75"), "dlv"),
)

CSV_HEADER: tuple[str, ...] = ("id", "customer", "amount", "status")


def orders_csv(orders: tuple[Order, ...] = ORDERS) -> str:
    """The orders as CSV text: a header line, then one line per order (status as its label)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for order in orders:
        writer.writerow((order.id, order.customer, f"{order.amount:.2f}", order.status_label))
    return buffer.getvalue()
