// The Process Monitor's live table: the browser side of /ws/monitor/ (interfaces.md, "Live updates").
//
// On every (re)connection the page sends {"type": "subscribe", "filter": ...} with the filter
// it shows; the server answers with a snapshot (which replaces the table, so a reconnection
// catches up on everything missed) or "refused" when the filter matches too many instances.
// Then "changed" and "removed" keep the table current. The connection is live.js's: while
// the server cannot be reached a banner says so and the page reconnects by itself with a
// growing delay (the seed: the monitor shows the server as unavailable).
(function () {
  "use strict";

  const script = document.currentScript;
  const STATUS_WORDS = {
    running: "Running", waiting: "Waiting", completed: "Completed", cancelled: "Cancelled",
    error: "Error", restored_in_error: "Restored in error",
  };

  const element = window.ipaLive.element;

  function duration(fromIso, toMs) {
    if (!fromIso) return "—";
    const seconds = Math.max(0, Math.floor((toMs - Date.parse(fromIso)) / 1000));
    if (seconds >= 86400) return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
    if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
    if (seconds >= 60) return `${Math.floor(seconds / 60)} min`;
    return `${seconds} s`;
  }

  function waitingText(row) {
    const people = [...row.waiting_users, ...row.waiting_workgroups.map((name) => `workgroup ${name}`)];
    const what = row.waiting_detail || (row.waiting_on ? row.waiting_on.replace("_", " ") : "");
    if (!what) return "—";
    return people.length ? `${what} (${people.join(", ")})` : what;
  }

  // The error without its technical position ("in state Pay, states.Pay.actions[0]: "): the state
  // has its own column, the position stays in the tooltip (as in monitor/timeline.py).
  function causeText(error) {
    if (!error) return "—";
    const fault = /^in state .+?, \S+: ([\s\S]*)$/.exec(error);
    return fault ? fault[1] : error;
  }

  // ------------------------------------------------------------------------ the table

  function monitorTable() {
    const rows = new Map();
    const table = document.getElementById("monitor-table");
    const body = document.getElementById("monitor-rows");
    const empty = document.getElementById("monitor-empty");
    const count = document.getElementById("row-count");
    const refused = document.getElementById("refused");
    const bulkCard = document.getElementById("bulk");  // only for those who may act
    const announcer = document.getElementById("announcer");
    const instanceUrl = (id) => script.dataset.instanceUrl.replace("/0/", `/${id}/`);
    const arrived = new Set();
    const bulk = script.dataset.canManage ? bulkActions(rows) : null;
    let sortKey = "updated_at";
    let descending = true;

    const sortValue = {
      id: (r) => r.id, process: (r) => r.process.toLowerCase(), version: (r) => r.version,
      status: (r) => r.status, state: (r) => r.state.toLowerCase(), waiting: (r) => waitingText(r),
      started_at: (r) => r.started_at, state_since: (r) => r.state_since || "",
      started_by: (r) => r.started_by || "", updated_at: (r) => r.updated_at,
    };

    function rowFor(row, now) {
      const cell = (label, ...content) => element("td", { "data-label": label }, ...content);
      const end = row.ended_at ? Date.parse(row.ended_at) : now;
      const tr = element("tr", { "data-id": String(row.id), "data-status": row.status });
      if (bulk) {
        const box = element("input", { type: "checkbox", "aria-label": `Select #${row.id}`, "data-select": row.id });
        box.checked = bulk.selected.has(row.id);
        tr.append(cell("Select", box));
      }
      tr.append(
        cell("Instance", element("a", { href: instanceUrl(row.id) }, `#${row.id}`)),
        cell("Process", row.process),
        cell("Version", String(row.version)),
        cell("Status", element("span", { class: `status s-${row.status}` }, STATUS_WORDS[row.status] || row.status)),
        cell("Current state", row.state || "—"),
        cell("Waiting on", row.status === "error" || row.status === "restored_in_error"
          ? element("span", { class: "error-cause", title: row.error }, causeText(row.error)) : waitingText(row)),
        cell("Running for", duration(row.started_at, end)),
        cell("In state for", row.ended_at ? "—" : duration(row.state_since, now)),
        cell("Started by", row.started_by || "—"),
        cell("Last change", element("time", { datetime: row.updated_at }, `${duration(row.updated_at, now)} ago`)));
      if (arrived.has(row.id)) tr.classList.add("arrived");
      return tr;
    }

    function render() {
      const now = Date.now();
      const value = sortValue[sortKey];
      const shown = [...rows.values()].sort((a, b) => {
        const x = value(a);
        const y = value(b);
        const order = x < y ? -1 : x > y ? 1 : a.id - b.id;
        return descending ? -order : order;
      });
      body.replaceChildren(...shown.map((row) => rowFor(row, now)));
      arrived.clear();
      table.hidden = rows.size === 0;
      empty.hidden = rows.size !== 0;
      count.textContent = String(rows.size);
      count.setAttribute("aria-label", `${rows.size} instances`);
      if (bulk) bulk.update();
    }

    for (const button of table.querySelectorAll("th button[data-sort]")) {
      button.addEventListener("click", () => {
        if (sortKey === button.dataset.sort) descending = !descending;
        else {
          sortKey = button.dataset.sort;
          descending = false;
        }
        // aria-sort belongs to the column header, not to the button inside it.
        for (const other of table.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
        button.closest("th").setAttribute("aria-sort", descending ? "descending" : "ascending");
        render();
      });
    }
    setInterval(render, 15000);  // running times move on

    return function onMessage(message) {
      if (message.type === "snapshot") {
        rows.clear();
        for (const row of message.instances) rows.set(row.id, row);
        refused.hidden = true;
        if (bulkCard) bulkCard.hidden = false;
      } else if (message.type === "snapshot_rows") {  // the rest of a snapshot of more than 100 rows
        for (const row of message.instances) rows.set(row.id, row);
      } else if (message.type === "changed") {
        if (!rows.has(message.instance.id)) {
          arrived.add(message.instance.id);
          announcer.textContent = `${message.instance.process} #${message.instance.id} now matches the filter.`;
        }
        rows.set(message.instance.id, message.instance);
      } else if (message.type === "removed") {
        if (!rows.delete(message.id)) return;
      } else if (message.type === "refused") {
        rows.clear();
        refused.textContent = message.reason;
        refused.hidden = false;
        if (bulkCard) bulkCard.hidden = true;  // nothing to select
        table.hidden = true;
        empty.hidden = true;
        count.textContent = "0";
        return;
      } else {
        return;
      }
      render();
    };
  }

  // ------------------------------------------------------------------------ bulk actions

  // Selected rows (or every match of the filter) go to POST /api/instances/bulk; the job's
  // progress and per-instance results are read from GET /api/jobs/{id}/ until it is done.
  function bulkActions(rows) {
    const selected = new Set();
    const matching = document.getElementById("select-matching");
    const countText = document.getElementById("selected-count");
    const buttons = document.querySelectorAll("#bulk [data-bulk]");
    const panel = document.getElementById("bulk-job");
    const progress = document.getElementById("bulk-progress");
    const summary = document.getElementById("bulk-summary");
    const results = document.getElementById("bulk-results");
    const filter = JSON.parse(document.getElementById("watched-filter").textContent);
    const WORDS = { retry: "retry", skip: "skip", cancel: "cancel" };

    function update() {
      for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
      const count = matching.checked ? rows.size : selected.size;
      countText.textContent = matching.checked ? `All ${rows.size}` : String(count);
      for (const button of buttons) button.disabled = count === 0;
    }

    document.getElementById("monitor-rows").addEventListener("change", (event) => {
      const id = Number(event.target.dataset.select);
      if (!id) return;
      if (event.target.checked) selected.add(id);
      else selected.delete(id);
      update();
    });
    matching.addEventListener("change", update);

    async function follow(jobId) {
      const response = await fetch(`/api/jobs/${jobId}/`, { credentials: "same-origin" });
      const job = await response.json();
      progress.max = Math.max(1, job.total);
      progress.value = job.done;
      summary.textContent = `${job.done} of ${job.total} done` + (job.status === "done"
        ? ` · ${job.results.filter((r) => r.ok).length} succeeded, ${job.results.filter((r) => !r.ok).length} failed`
        : "…");
      results.replaceChildren(...job.results.map((r) => element("li", { class: r.ok ? "ok" : "failed",
        "data-result": r.id }, `#${r.id}: ${r.detail}`)));
      if (job.status !== "done") setTimeout(() => follow(jobId), 500);
    }

    for (const button of buttons) {
      button.addEventListener("click", async () => {
        const action = button.dataset.bulk;
        const count = matching.checked ? rows.size : selected.size;
        if (!window.confirm(`${WORDS[action][0].toUpperCase()}${WORDS[action].slice(1)} ${count} instance(s)?`)) return;
        const body = { action, comment: document.getElementById("bulk-comment").value };
        if (matching.checked) body.filter = filter;
        else body.ids = [...selected];
        const response = await fetch("/api/instances/bulk", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": script.dataset.csrf },
          body: JSON.stringify(body),
        });
        const answer = await response.json();
        panel.hidden = false;
        document.getElementById("bulk-action").textContent = action;
        if (!response.ok) {
          summary.textContent = answer.detail || "The bulk action was refused.";
          return;
        }
        selected.clear();
        matching.checked = false;
        update();
        follow(answer.job);
      });
    }
    return { selected, update };
  }

  function start() {
    const filter = JSON.parse(document.getElementById("watched-filter").textContent);
    const onMessage = monitorTable();
    window.ipaLive.connect({
      path: script.dataset.live, loginUrl: script.dataset.login, hello: { type: "subscribe", filter },
      current: (message) => (message.type === "snapshot" ? "live" : message.type === "refused" ? "refused" : null),
      onMessage,
      onState: window.ipaLive.showState({ connecting: "Connecting…", live: "Live", offline: "Disconnected", refused: "Refused" }),
      forbidden: "The Process Monitor needs the Process Monitor license or higher.",
      stale: "The table may be out of date until then.",
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
