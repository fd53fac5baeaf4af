// Antri's shared page script (no framework, no CDN): live countdowns.
// <span data-countdown="UNIX SECONDS" data-done="text when over">…</span> counts down as m:ss
// (or h:mm:ss); the server-rendered text stays for visitors without JavaScript.
(function () {
  "use strict";
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function shown(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  function tick() {
    var now = Date.now() / 1000;
    var items = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var left = Math.floor(Number(el.getAttribute("data-countdown")) - now);
      var text = left > 0 ? shown(left) : (el.getAttribute("data-done") || "0:00");
      if (el.textContent !== text) el.textContent = text;
      if (left <= 0 && el.hasAttribute("data-reload-when-done") && !el.dataset.reloaded) {
        el.dataset.reloaded = "1";
        setTimeout(function () { window.location.reload(); }, 1500);
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-countdown]")) return;
    tick();
    setInterval(tick, 1000);
  });
})();
