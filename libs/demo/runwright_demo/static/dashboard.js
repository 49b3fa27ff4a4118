// Renders the orders table about 300 ms after load, then filters it client-side.
"use strict";

const RENDER_DELAY_MS = 300;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderOrders(orders) {
  const tbody = document.querySelector("#orders tbody");
  tbody.replaceChildren(...orders.map((order) => {
    const row = document.createElement("tr");
    row.dataset.orderId = String(order.id);
    row.dataset.status = order.status;
    row.append(
      cell(String(order.id), "order-id"),
      cell(order.customer, "customer"),
      cell(order.amount.toFixed(2), "amount"),
      cell(order.statusLabel, "status"),
    );
    return row;
  }));
  document.getElementById("orders-loading").hidden = true;
  document.getElementById("orders").hidden = false;
  applyFilter();
}

function applyFilter() {
  const wanted = document.getElementById("status-filter").value;
  const rows = Array.from(document.querySelectorAll("#orders tbody tr"));
  let shown = 0;
  for (const row of rows) {
    row.hidden = wanted !== "all" && row.dataset.status !== wanted;
    if (!row.hidden) shown += 1;
  }
  const count = document.getElementById("order-count");
  count.textContent = `Showing ${shown} of ${rows.length} orders`;
  count.hidden = false;
}

function showError(message) {
  const loading = document.getElementById("orders-loading");
  loading.textContent = message;
  loading.setAttribute("role", "alert");
}

async function loadOrders() {
  const response = await fetch("/api/orders", { credentials: "same-origin" });
  if (!response.ok) {
    showError(`Could not load orders (HTTP ${response.status})`);
    return;
  }
  renderOrders(await response.json());
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("status-filter").addEventListener("change", applyFilter);
  setTimeout(() => loadOrders().catch((error) => showError(String(error))), RENDER_DELAY_MS);
});
