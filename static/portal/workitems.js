// My Work Items, live: the browser side of /ws/workitems/ (interfaces.md, "Live updates").
//
// The server sends {"type": "snapshot", "work_items": [...]} on connect, then
// {"type": "added" | "changed", "work_item": {...}} and {"type": "removed", "id": ...}.
// The connection is live.js's (ping, banner, reconnection with a growing delay); the next
// snapshot replaces what the page shows, which catches up on everything that happened
// meanwhile. "presence" messages update the header's selector.
(function () {
  "use strict";

  const script = document.currentScript;

  // The presence changed (in this window or another): the header shows it.
  function showPresence(status) {
    document.dispatchEvent(new CustomEvent("presence-pushed", { detail: status }));
  }

  // ------------------------------------------------------------------ rows and ages

  function ageText(iso, now) {
    const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
    if (seconds >= 86400) return `${Math.floor(seconds / 86400)} d`;
    if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h`;
    if (seconds >= 60) return `${Math.floor(seconds / 60)} min`;
    return "just now";
  }

  function capitalised(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }

  const element = window.ipaLive.element;

  // The same markup as templates/workitems/_row.html.
  function rowFor(item, itemUrl, now) {
    const cell = (column, label, ...content) => element("td", { class: column, "data-label": label }, ...content);
    return element("tr", { "data-id": String(item.id) },
      cell("col-priority", "Priority",
        element("span", { class: "priority", title: `Priority ${item.priority}` }, String(item.priority))),
      cell("col-name", "Work item", element("a", { href: itemUrl(item.id) }, item.name)),
      cell("col-process", "Process", item.process),
      cell("col-category", "Category", item.category || "—"),
      cell("col-description", "Description", item.description || "—"),
      cell("col-status", "Status", element("span", { class: `status s-${item.status}` }, capitalised(item.status))),
      cell("col-age", "Age", element("time", { datetime: item.created_at }, ageText(item.created_at, now))));
  }

  const byCreated = (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id;
  const byText = (key) => (a, b) => a[key].localeCompare(b[key], undefined, { sensitivity: "base" });
  const SORTS = {
    priority: (a, b) => b.priority - a.priority || byCreated(a, b),
    oldest: byCreated,
    newest: (a, b) => byCreated(b, a),
    process: (a, b) => byText("process")(a, b) || byText("name")(a, b) || a.id - b.id,
    name: (a, b) => byText("name")(a, b) || a.id - b.id,
    status: (a, b) => a.status.localeCompare(b.status) || b.priority - a.priority || a.id - b.id,
  };

  // ------------------------------------------------- desktop notifications (optional)
  //
  // Only when the agent asked for them (the button below the list) and the tab is hidden.

  function setUpNotifications() {
    const button = document.getElementById("notify-me");
    if (!button || !("Notification" in window)) return;
    const state = document.getElementById("notify-state");
    function show() {
      const granted = Notification.permission === "granted" && localStorage.getItem("ipa-notify") === "yes";
      button.hidden = granted || Notification.permission === "denied";
      state.textContent = granted ? "Your desktop tells you about new work while this tab is hidden." : "";
    }
    button.addEventListener("click", async () => {
      if (await Notification.requestPermission() === "granted") localStorage.setItem("ipa-notify", "yes");
      show();
    });
    show();
  }

  function notifyWhileHidden(item) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted"
        || localStorage.getItem("ipa-notify") !== "yes") return;
    const note = new Notification(`New work item: ${item.name}`, { body: item.process, tag: `work-item-${item.id}` });
    note.addEventListener("click", () => {
      window.focus();
      note.close();
    });
  }

  // ------------------------------------------------------------------- My Work Items

  function listPage() {
    setUpNotifications();
    const items = new Map();
    for (const item of JSON.parse(document.getElementById("work-items-data").textContent)) items.set(item.id, item);
    const table = document.getElementById("work-items");
    const body = document.getElementById("work-item-rows");
    const form = document.getElementById("filters");
    const statusFilter = document.getElementById("filter-status");
    const processFilter = document.getElementById("filter-process");
    const sort = document.getElementById("sort");
    const announcer = document.getElementById("announcer");
    const title = document.title;
    const template = script.dataset.itemUrl;
    const itemUrl = (id) => template.replace("/0/", `/${id}/`);
    const arrived = new Set();

    function refreshProcessChoices() {
      const wanted = processFilter.value;
      const names = new Set([...items.values()].map((item) => item.process));
      if (wanted) names.add(wanted);
      const options = [element("option", { value: "" }, "All")];
      for (const name of [...names].sort()) options.push(element("option", { value: name }, name));
      processFilter.replaceChildren(...options);
      processFilter.value = wanted;
    }

    function render() {
      const focusedRow = document.activeElement && document.activeElement.closest("tr[data-id]");
      const focusedId = focusedRow && focusedRow.dataset.id;
      refreshProcessChoices();
      const now = Date.now();
      const shown = [...items.values()]
        .filter((item) => !statusFilter.value || item.status === statusFilter.value)
        .filter((item) => !processFilter.value || item.process === processFilter.value)
        .sort(SORTS[sort.value] || SORTS.priority);
      const rows = shown.map((item) => {
        const row = rowFor(item, itemUrl, now);
        if (arrived.has(item.id)) row.classList.add("arrived");
        return row;
      });
      arrived.clear();
      body.replaceChildren(...rows);
      table.hidden = shown.length === 0;
      document.getElementById("empty-all").hidden = items.size !== 0;
      document.getElementById("empty-filtered").hidden = !(items.size && !shown.length);
      const count = document.getElementById("item-count");
      count.textContent = String(items.size);
      count.setAttribute("aria-label", `${items.size} in all`);
      document.title = items.size ? `(${items.size}) ${title}` : title;
      if (focusedId) {
        const link = body.querySelector(`tr[data-id="${focusedId}"] a`);
        if (link) link.focus();
      }
    }

    function announce(text) {
      announcer.textContent = text;
    }

    // My queues: drawn by the server; read again (at most every 300 ms) when one of them changes.
    let queuesTimer = null;
    const queueChoices = new Map();
    document.addEventListener("click", (event) => {
      const summary = event.target.closest && event.target.closest("#my-queues details.queue > summary");
      if (summary) queueChoices.set(summary.parentElement.dataset.workgroup, !summary.parentElement.open);
    });
    function refreshQueues() {
      clearTimeout(queuesTimer);
      queuesTimer = setTimeout(async () => {
        const panel = document.getElementById("my-queues");
        if (!panel || !script.dataset.queuesUrl) return;
        try {
          const response = await fetch(script.dataset.queuesUrl, { credentials: "same-origin" });
          if (!response.ok) return;
          const page = new DOMParser().parseFromString(await response.text(), "text/html");
          const fresh = page.getElementById("my-queues");
          if (!fresh) return;
          for (const queue of fresh.querySelectorAll("details.queue")) {  // what the agent opened or closed stays so
            const open = queueChoices.get(queue.dataset.workgroup);
            if (open === true) queue.setAttribute("open", "");
            if (open === false) queue.removeAttribute("open");
          }
          if (panel.contains(document.activeElement)) return;  // never pull the focus away
          panel.replaceWith(document.adoptNode(fresh));
        } catch (error) {
          // the next message or reconnection tries again
        }
      }, 300);
    }

    function onMessage(message) {
      if (message.type === "queue") {
        refreshQueues();
        return;
      }
      if (message.type === "snapshot" && Array.isArray(message.work_items)) {
        refreshQueues();  // (re)connected: catch up on the queues too
        items.clear();
        for (const item of message.work_items) items.set(item.id, item);
      } else if ((message.type === "added" || message.type === "changed") && message.work_item) {
        const item = message.work_item;
        const known = items.has(item.id);
        items.set(item.id, item);
        if (!known) {
          arrived.add(item.id);
          announce(`New work item: ${item.name} (${item.process}).`);
          notifyWhileHidden(item);
        }
      } else if (message.type === "removed") {
        const gone = items.get(message.id);
        if (!items.delete(message.id)) return;
        announce(`${gone.name} left your list.`);
      } else {
        return;
      }
      render();
    }

    function remember() {
      const query = new URLSearchParams();
      if (statusFilter.value) query.set("status", statusFilter.value);
      if (processFilter.value) query.set("process", processFilter.value);
      if (sort.value !== "priority") query.set("sort", sort.value);
      const search = query.toString();
      history.replaceState(null, "", location.pathname + (search ? `?${search}` : ""));
    }

    document.getElementById("apply-filters").hidden = true;  // changes apply at once
    form.addEventListener("change", () => {
      render();
      remember();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      render();
      remember();
    });
    document.getElementById("clear-filters").addEventListener("click", (event) => {
      event.preventDefault();
      statusFilter.value = "";
      processFilter.value = "";
      render();
      remember();
    });
    setInterval(() => {
      const now = Date.now();
      for (const time of body.querySelectorAll("time[datetime]")) {
        time.textContent = ageText(time.getAttribute("datetime"), now);
      }
    }, 30000);
    render();
    return onMessage;
  }

  // ------------------------------------------------------------------- one work item

  // A button with a question asks it in a dialog first (the server asks too, without this file).
  // When a field the button needs is empty, the server's answer says so before anything is asked.
  function askBeforeActing() {
    const form = document.getElementById("item-form");
    const dialog = document.getElementById("confirm-dialog");
    if (!form || !dialog || typeof dialog.showModal !== "function") return;
    const question = document.getElementById("confirm-question");
    const yes = document.getElementById("confirm-yes");
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      if (!button || !button.dataset.ask || form.querySelector("input[name=confirmed]")) return;
      if (!dialog.isConnected) return;  // no dialog to ask in: the server asks on the page
      const needs = (button.dataset.requires || "").split(" ").filter(Boolean);
      const missing = needs.some((name) => {
        const field = form.elements.namedItem(`f-${name}`);
        return field && !field.value.trim();
      });
      if (missing) return;
      event.preventDefault();
      question.textContent = button.dataset.ask;
      yes.textContent = `Yes, ${button.textContent.trim()}`;
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener("close", () => {
        if (dialog.returnValue !== "yes") {
          button.focus();
          return;
        }
        const answer = document.createElement("input");
        answer.type = "hidden";
        answer.name = "confirmed";
        answer.value = button.value;
        form.append(answer);
        form.requestSubmit(button);
      }, { once: true });
    });
  }

  function itemPage() {
    askBeforeActing();
    const article = document.getElementById("work-item");
    const id = Number(article.dataset.id);
    const shown = article.dataset.status;
    const gone = document.getElementById("item-gone");
    const changed = document.getElementById("item-changed");

    function noLongerMine() {
      changed.hidden = true;
      gone.hidden = false;
      for (const callout of document.querySelectorAll(".callout")) callout.hidden = true;
      for (const control of document.querySelectorAll("main form button, main form fieldset")) {
        control.disabled = true;
      }
    }

    function nowIs(status) {
      gone.hidden = true;
      if (status === shown) {
        changed.hidden = true;
        return;
      }
      document.getElementById("item-changed-status").textContent = status;
      changed.hidden = false;
    }

    return function onMessage(message) {
      if (message.type === "snapshot" && Array.isArray(message.work_items)) {
        const mine = message.work_items.find((item) => item.id === id);
        if (mine) nowIs(mine.status);
        else noLongerMine();
      } else if ((message.type === "added" || message.type === "changed") && message.work_item
                 && message.work_item.id === id) {
        nowIs(message.work_item.status);
      } else if (message.type === "removed" && message.id === id) {
        noLongerMine();
      }
    };
  }

  // ------------------------------------------------------------------------- start

  function start() {
    // Every other page keeps the socket open too: presence follows open sockets (workitems/sockets.py).
    const pages = { list: listPage, item: itemPage };
    const onMessage = pages[script.dataset.page] ? pages[script.dataset.page]() : () => {};
    const path = script.dataset.live;
    if (!path) return;  // no live updates on this server: the page stays as it was served
    window.ipaLive.connect({
      path, loginUrl: script.dataset.login, hello: null,
      current: (message) => (message.type === "snapshot" ? "live" : null),
      onMessage: (message) => (message.type === "presence" ? showPresence(message.status) : onMessage(message)),
      onState: window.ipaLive.showState({ connecting: "Connecting…", live: "Live", offline: "Disconnected" }),
      forbidden: "Your license does not include work items, so this page is not updated live.",
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
