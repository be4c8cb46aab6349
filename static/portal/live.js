// The reconnecting socket the live pages share (My Work Items, the Process Monitor, its queues).
//
// window.ipaLive.connect(options) opens a WebSocket to options.path and keeps it: a ping every
// 25 s (a connection that answers nothing within 10 s counts as lost); while the server cannot
// be reached, the page's banner (templates/workitems/_connection.html) says so and counts down
// to the next attempt, with a growing delay; and since the first message after each (re)connection
// says what is current (options.current), every reconnection catches up on what was missed.
//
// options: path, loginUrl (4401: log in again, then come back), hello (sent on each open, or
// null), current(message) -> a state name ("live", "refused") when the message says what is
// current, else null; onMessage(message), onState(name) with "connecting", "live", "offline"
// or what current() named; forbidden (the banner's text on 4403), stale (the countdown's tail).
// "engine" messages (whether an engine node is alive) go to portal.js as an "engine-pushed"
// event, which shows or hides base.html's engine banner on every live page.
(function () {
  "use strict";

  const PING_MS = 25000;
  const PONG_TIMEOUT_MS = 10000;
  const FIRST_DELAY_MS = 1000;
  const MAX_DELAY_MS = 30000;

  function tellEngine(running) {
    document.dispatchEvent(new CustomEvent("engine-pushed", { detail: running !== false }));
  }

  function connect(options) {
    const banner = document.getElementById("connection-banner");
    const bannerText = document.getElementById("connection-text");
    const retryButton = document.getElementById("reconnect-now");
    const stale = options.stale || "This page may be out of date until then.";
    let socket = null;
    let attempt = 0;
    let stopped = false;
    let pingTimer = null;
    let pongTimer = null;
    let retryTimer = null;
    let countdownTimer = null;

    function clearTimers() {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      clearTimeout(retryTimer);
      clearInterval(countdownTimer);
    }

    function ping() {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      pongTimer = setTimeout(lost, PONG_TIMEOUT_MS);
    }

    // No answer to a ping: the connection is dead even if the browser has not noticed yet.
    function lost() {
      const dead = socket;
      socket = null;
      clearTimers();
      if (dead) dead.close();
      if (!stopped) scheduleReconnect();
    }

    function open() {
      clearTimers();
      if (socket) return;
      options.onState("connecting");
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const current = new WebSocket(scheme + location.host + options.path);
      socket = current;
      current.addEventListener("open", () => {
        tellEngine(true);  // the server says "engine" at connect only while no engine node is alive
        if (options.hello) current.send(JSON.stringify(options.hello));
        pingTimer = setInterval(ping, PING_MS);
      });
      current.addEventListener("message", (event) => {
        clearTimeout(pongTimer);  // any message shows the connection is alive
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (!message || typeof message.type !== "string") return;
        if (message.type === "engine") {
          tellEngine(message.running);
          return;
        }
        const state = options.current(message);
        if (state) {  // live (again) only once the server has said what is current
          attempt = 0;
          if (banner) banner.hidden = true;
          options.onState(state);
        }
        options.onMessage(message);
      });
      current.addEventListener("close", (event) => {
        if (socket !== current) return;
        socket = null;
        clearInterval(pingTimer);
        clearTimeout(pongTimer);
        if (stopped) return;
        if (event.code === 4401) {  // the session ended: log in again, then come back here
          location.assign(options.loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search));
          return;
        }
        if (event.code === 4403) {
          showBanner(options.forbidden, false);
          options.onState("offline");
          return;
        }
        scheduleReconnect();
      });
    }

    function showBanner(text, canRetry) {
      if (!banner) return;  // a page without the banner only keeps the connection (presence)
      bannerText.textContent = text;
      retryButton.hidden = !canRetry;
      banner.hidden = false;
    }

    function scheduleReconnect() {
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt) * (0.8 + Math.random() * 0.4);
      attempt += 1;
      const due = Date.now() + delay;
      const tell = () => {
        const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
        showBanner(seconds ? `Reconnecting in ${seconds} s… ${stale}` : "Reconnecting…", true);
      };
      options.onState("offline");
      tell();
      countdownTimer = setInterval(tell, 1000);
      retryTimer = setTimeout(open, delay);
    }

    function reconnectNow() {
      if (socket || stopped) return;
      attempt = 0;
      open();
    }

    if (retryButton) retryButton.addEventListener("click", reconnectNow);
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") reconnectNow();
    });
    window.addEventListener("pagehide", () => {
      stopped = true;
      clearTimers();
      if (socket) socket.close(1000);
    });
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) {  // back from the back/forward cache: catch up again
        stopped = false;
        reconnectNow();
      }
    });
    open();
  }

  // A DOM element with attributes and children (text or nodes): the live pages draw their rows with it.
  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  // The live-state badge of a page ("Live", "Disconnected"…), if it has one.
  function showState(words) {
    const state = document.getElementById("live-state");
    const text = document.getElementById("live-text");
    return (name) => {
      if (!state) return;
      state.hidden = false;
      state.dataset.state = name;
      text.textContent = words[name] || name;
    };
  }

  window.ipaLive = { connect, showState, element };
})();
