// The queues page, live: it asks /ws/monitor/ to be told of changes ({"type": "watch_queues"})
// and, on each "queues_changed", reads the page again and swaps the queues in (at most once a
// second, and not while a Move form is being used). Reconnects by itself; a banner says when
// the server cannot be reached; "engine" messages show or hide the one that says no engine node runs.
(function () {
  "use strict";

  const script = document.currentScript;
  let refreshing = false;
  let again = false;
  let lastRefresh = 0;

  async function refresh() {
    const queues = document.getElementById("queues");
    if (refreshing || queues.contains(document.activeElement) && document.activeElement.tagName === "SELECT") {
      again = true;
      return;
    }
    refreshing = true;
    again = false;
    lastRefresh = Date.now();
    try {
      const response = await fetch(location.pathname, { credentials: "same-origin" });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("queues");
      if (fresh) queues.replaceWith(fresh);
    } finally {
      refreshing = false;
    }
    if (again) setTimeout(refresh, 1000);
  }

  function soon() {
    const wait = Math.max(0, 1000 - (Date.now() - lastRefresh));
    setTimeout(refresh, wait);
  }

  // Whether an engine node is alive: portal.js shows or hides the banner.
  function engine(running) {
    document.dispatchEvent(new CustomEvent("engine-pushed", { detail: running !== false }));
  }

  function connect(attempt) {
    const state = document.getElementById("live-state");
    const text = document.getElementById("live-text");
    const banner = document.getElementById("connection-banner");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + script.dataset.live);
    socket.addEventListener("open", () => {
      engine(true);  // the server says "engine" at connect only while no engine node is alive
      socket.send(JSON.stringify({ type: "watch_queues" }));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "engine") engine(message.running);
      if (message.type !== "queues_changed") return;
      if (state.dataset.state !== "live") {
        state.dataset.state = "live";
        text.textContent = "Live";
        banner.hidden = true;
        attempt = 0;
      }
      soon();
    });
    socket.addEventListener("close", (event) => {
      state.dataset.state = "offline";
      text.textContent = "Disconnected";
      if (event.code === 4401 || event.code === 4403) return;
      banner.hidden = false;
      setTimeout(() => connect(attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
    });
    document.getElementById("reconnect-now").onclick = () => location.reload();
  }

  connect(0);
})();
