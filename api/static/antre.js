// The waiting room's poll loop: one chain per tab, at the interval the server suggests,
// paused while the tab is hidden. Without JavaScript the page's meta refresh does the same.
(function () {
  "use strict";
  var root = document.getElementById("waiting-room");
  if (!root) return;
  var room = root.dataset.room;
  var timer = null;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(poll, Math.max(1, seconds) * 1000);
  }

  function render(s) {
    if (s.state === "admitted") { window.location.assign("/permohonan"); return; }
    if (s.state !== root.dataset.state) { window.location.reload(); return; }
    if (s.position !== null) text("position", s.position);
    if (s.ahead !== null) text("ahead", s.ahead);
    if (s.eta_seconds) {
      text("eta", Math.floor(s.eta_seconds.low / 60) + "–" + Math.ceil(s.eta_seconds.high / 60) + " menit");
    }
    text("updated", new Date().toLocaleTimeString("id-ID"));
  }

  function poll() {
    if (document.hidden) return;  // resumed by visibilitychange
    fetch("/api/v1/rooms/" + room + "/status", { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401 || r.status === 400) { window.location.reload(); return null; }
        if (!r.ok) { schedule(Number(r.headers.get("Retry-After")) || 5); return null; }
        return r.json();
      })
      .then(function (s) { if (s) { render(s); schedule(s.poll_after_seconds); } })
      .catch(function () { schedule(5); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();
  });
  schedule(Number(root.dataset.poll) || 2);
})();
