// The waiting room's poll loop: one chain per tab, at the interval the server suggests, paused
// while the tab is hidden. Without JavaScript the page's meta refresh does the same. Every text
// shown comes from the page's data-* attributes, in the visitor's language.
// Also the "trying again in N s" countdown of the busy (503) and too-many-attempts (429) pages.
(function () {
  "use strict";

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  // The text of data-text-<name> for the count n: its "one" form (data-text-<name>-one) for 1,
  // so that English says "1 second"; Indonesian has one form for every count.
  function counted(d, name, n) {
    var one = d["text" + name + "One"];
    return Number(n) === 1 && one ? one : d["text" + name];
  }

  // Unchanged text is left alone, so that screen readers do not announce it again.
  function setText(el, value) {
    var text = String(value);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function waitingRoom(root) {
    var d = root.dataset;
    var message = document.getElementById("message");
    var calmText = message ? message.textContent : "";
    var progress = document.getElementById("progress");
    var shownProgress = progress ? Number(progress.value) || 0 : 0;
    var loadedAt = Date.now();
    var timer = null;
    var inflight = false;

    function byId(id) { return document.getElementById(id); }

    // The same wording as pages/waiting.py eta_phrase on the server.
    function etaPhrase(low, high) {
      var hi = Math.ceil(high / 60);
      if (hi <= 1) return d.etaUnder;
      var lo = Math.max(1, Math.floor(low / 60));
      if (hi >= 120) {
        lo = Math.max(1, Math.floor(lo / 60));
        hi = Math.ceil(hi / 60);
        return lo >= hi ? fill(d.etaHour, { n: hi }) : fill(d.etaHours, { low: lo, high: hi });
      }
      return lo >= hi ? fill(d.etaMinute, { n: hi }) : fill(d.etaMinutes, { low: lo, high: hi });
    }

    // Time waited over time waited plus the middle of the ETA (pages/waiting.py progress_percent); the bar
    // never moves back, even if the line slows down.
    function advance(eta) {
      if (!progress) return;
      var waited = (Number(d.waited) || 0) + (Date.now() - loadedAt) / 1000;
      var total = waited + (eta.low + eta.high) / 2;
      var pct = total <= 0 ? 99 : Math.min(99, Math.max(1, Math.round((100 * waited) / total)));
      if (pct > shownProgress) {
        shownProgress = pct;
        progress.value = pct;
        progress.textContent = pct + "%";
      }
    }

    function clockNow() {
      var now = new Date();
      var text = now.toLocaleTimeString(d.lang || "id-ID", {
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      });
      var zone = { 420: "WIB", 480: "WITA", 540: "WIT" }[-now.getTimezoneOffset()];
      var updated = byId("updated");
      if (updated) updated.setAttribute("datetime", now.toISOString());
      return zone ? text + " " + zone : text;
    }

    // `name`: "Busy" or "Offline", the data-text-* pair (plural "other" and "one") to use.
    function busy(name, seconds) {
      if (!message) return;
      message.classList.add("busy");
      setText(message, fill(counted(d, name, seconds), { n: seconds }));
    }

    function calm() {
      if (!message || !message.classList.contains("busy")) return;
      message.classList.remove("busy");
      setText(message, calmText);
    }

    function schedule(seconds) {
      clearTimeout(timer);
      var wait = Math.min(300, Math.max(1, Number(seconds) || 2));
      timer = setTimeout(function () { timer = null; poll(); }, wait * 1000);
    }

    // false when the page is leaving (admitted, or a new state to show in full)
    function render(s) {
      if (s.state === "admitted") { window.location.assign(d.next || "/permohonan"); return false; }
      if (s.state !== d.state) { window.location.reload(); return false; }
      calm();
      if (s.position !== null) setText(byId("position"), s.position);
      if (s.ahead !== null) setText(byId("ahead"), s.ahead);
      if (s.eta_seconds) {
        setText(byId("eta"), etaPhrase(s.eta_seconds.low, s.eta_seconds.high));
        advance(s.eta_seconds);
        // The turn is near: ask for the login now (the section exists only when logged out).
        var soon = byId("login-soon");
        if (soon && s.eta_seconds.high <= Number(d.loginNear)) soon.hidden = false;
      }
      setText(byId("updated"), clockNow());
      return true;
    }

    function answered(response) {
      if (response.status === 400 || response.status === 401 || response.status === 404) {
        // No ticket, or one no longer valid: the page itself finds (or makes) the place. Without
        // cookies that would make a new place on every reload: say so and stop instead.
        if (navigator.cookieEnabled) window.location.reload();
        else busy(d.textCookies, 0);
        return null;
      }
      if (!response.ok) {
        var after = Math.min(300, Math.max(1, Number(response.headers.get("Retry-After")) || 5));
        busy("Busy", after);
        schedule(after);
        return null;
      }
      return response.json().then(function (s) {
        if (render(s)) schedule(s.poll_after_seconds);
      });
    }

    function poll() {
      if (inflight) return;
      if (document.hidden) return; // visibilitychange resumes the chain
      inflight = true;
      fetch("/api/v1/rooms/" + encodeURIComponent(d.room) + "/status", {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
      })
        .then(answered)
        .catch(function () { busy("Offline", 5); schedule(5); })
        .then(function () { inflight = false; });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer === null) poll();
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) poll(); // back from the back-forward cache: catch up at once
    });
    schedule(Number(d.poll) || 2);
  }

  // <span data-retry-after="SECONDS">: counts down to the page's own meta refresh.
  function retryCountdown(el) {
    var left = Math.max(0, Number(el.getAttribute("data-retry-after")) || 0);
    var tick = setInterval(function () {
      left = Math.max(0, left - 1);
      setText(el, left);
      if (left === 0) clearInterval(tick);
    }, 1000);
  }

  function start() {
    var root = document.getElementById("waiting-room");
    if (root) waitingRoom(root);
    var retry = document.querySelectorAll("[data-retry-after]");
    for (var i = 0; i < retry.length; i++) retryCountdown(retry[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
