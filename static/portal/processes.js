// The Processes page: the list narrows as the user types (the form also works without this file).
(function () {
  "use strict";

  function start() {
    const input = document.getElementById("q");
    const form = document.getElementById("process-search");
    if (!input || !form) return;
    const entries = [...document.querySelectorAll(".process-entry")];
    const count = document.getElementById("process-count");
    const none = document.getElementById("no-match");

    function narrow() {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const entry of entries) {
        const match = words.every((word) => entry.dataset.search.includes(word));
        entry.hidden = !match;
        if (match) shown += 1;
      }
      for (const section of document.querySelectorAll("section.category")) {
        section.hidden = ![...section.querySelectorAll(".process-entry")].some((entry) => !entry.hidden);
      }
      if (none) none.hidden = shown !== 0 || entries.length === 0;
      count.textContent = `${shown} ${shown === 1 ? "process" : "processes"} shown`;
    }

    input.addEventListener("input", narrow);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      narrow();
      const query = input.value.trim();
      history.replaceState(null, "", location.pathname + (query ? `?q=${encodeURIComponent(query)}` : ""));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
