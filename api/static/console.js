// The console's live numbers: every few seconds the page is fetched again and the parts marked
// data-live are swapped in place (the page works without this: it is plain HTML and forms).
(function () {
  "use strict";
  var page = document.querySelector("[data-live-page]");
  if (!page || !window.fetch || !window.DOMParser) return;
  var busy = false;
  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "console" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (text) {
      var fresh = new DOMParser().parseFromString(text, "text/html");
      document.querySelectorAll("[data-live]").forEach(function (old) {
        var key = old.getAttribute("data-live");
        var next = fresh.querySelector('[data-live="' + key + '"]');
        if (next && next.innerHTML !== old.innerHTML) {
          old.innerHTML = next.innerHTML;
          old.className = next.className;
        }
      });
    }).catch(function () { /* keep the numbers shown; try again next time */ })
      .then(function () { busy = false; });
  }
  window.setInterval(refresh, 3000);
})();
