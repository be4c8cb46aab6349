// Small enhancements on every page: the presence selector, focus on error summaries,
// confirmations. Every page works without this file.
(function () {
  "use strict";

  const PRESENCE_LABELS = {
    available: "Available", away: "Away", do_not_disturb: "Do not disturb", offline: "Offline",
  };

  // The presence selector calls PUT /api/me/presence, the same code path as scripts use.
  function setUpPresence() {
    const form = document.getElementById("presence-form");
    if (!form) return;
    const select = form.querySelector("select");
    const dot = form.querySelector(".dot");
    const status = document.getElementById("presence-status");
    let confirmed = select.value;
    form.addEventListener("submit", (event) => event.preventDefault());
    select.addEventListener("change", async () => {
      const wanted = select.value;
      try {
        const response = await fetch(form.dataset.url, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf },
          body: JSON.stringify({ status: wanted }),
        });
        if (!response.ok) throw new Error(String(response.status));
        const me = await response.json();
        confirmed = (me.presence && me.presence.status) || wanted;
        select.value = confirmed;
        dot.dataset.presence = confirmed;
        status.textContent = "Presence set to " + (PRESENCE_LABELS[confirmed] || confirmed) + ".";
      } catch (error) {
        select.value = confirmed;
        status.textContent = "Presence could not be changed; it is still " +
          (PRESENCE_LABELS[confirmed] || confirmed) + ".";
      }
    });
    // The live connection reports changes made elsewhere (another window, logging in or out).
    document.addEventListener("presence-pushed", (event) => {
      if (!(event.detail in PRESENCE_LABELS)) return;
      confirmed = event.detail;
      select.value = confirmed;
      dot.dataset.presence = confirmed;
    });
  }

  // A page that comes back with errors puts the keyboard focus on its summary.
  function focusErrorSummary() {
    const summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();
  }

  function setUpConfirmations() {
    document.addEventListener("submit", (event) => {
      const form = event.target;
      // The button pressed may ask its own question (several actions in one form).
      const question = (event.submitter && event.submitter.dataset.confirm) || (form.dataset && form.dataset.confirm);
      if (question && !window.confirm(question)) {
        event.preventDefault();
      }
    });
  }

  // The live connections pass on whether an engine node is alive ("engine" messages): the banner
  // of base.html says so. Listening at once, before any connection can have heard anything.
  document.addEventListener("engine-pushed", (event) => {
    const banner = document.getElementById("engine-banner");
    if (banner) banner.hidden = event.detail !== false;
  });

  document.addEventListener("DOMContentLoaded", () => {
    setUpPresence();
    focusErrorSummary();
    setUpConfirmations();
  });
})();
