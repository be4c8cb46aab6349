// The queues page, live: it asks /ws/monitor/ to be told of changes ({"type": "watch_queues"})
// and, on each "queues_changed", reads the page again and swaps the queues in (at most once a
// second, and not while a Move form is being used). The connection is live.js's: a banner
// while the server cannot be reached, reconnection by itself, and a fresh read on reconnect.
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

  window.ipaLive.connect({
    path: script.dataset.live, loginUrl: script.dataset.login, hello: { type: "watch_queues" },
    current: (message) => (message.type === "queues_changed" ? "live" : null),
    onMessage: (message) => {
      if (message.type === "queues_changed") soon();
    },
    onState: window.ipaLive.showState({ connecting: "Connecting…", live: "Live", offline: "Disconnected" }),
    forbidden: "The queues need the Process Monitor license or higher.",
    stale: "The queues may be out of date until then.",
  });
})();
