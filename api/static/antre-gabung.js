// Takes a place in the waiting room from the page (pages/joining.py says why not on GET): solve
// the room's proof of work in a Web Worker (pow-worker.js), send it with the join (the
// X-Antri-Proof header: the challenge, ":" and the nonce), then reload:
// the page then shows the place. Every text comes from the page's data-* attributes.
(function () {
  "use strict";

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function joinRoom(root) {
    var d = root.dataset;
    var message = document.getElementById("join-message");
    var bar = document.getElementById("join-progress");
    var progress = document.getElementById("proof-progress");
    var attempts = 0;

    function say(text) {
      message.hidden = false;
      if (message.textContent !== text) message.textContent = text;
    }

    // The share of visitors who would have found a solution after `tried` hashes: it rises
    // steadily towards 100% and never promises a time.
    function showProgress(tried, difficulty) {
      var pct = Math.min(99, Math.round(100 * (1 - Math.exp(-tried / Math.pow(2, difficulty)))));
      progress.value = pct;
      progress.textContent = pct + "%";
    }

    // `name`: "Budget", "Busy" or "Offline", the data-text-* pair (plural "other" and "one").
    function later(name, seconds, then) {
      var left = Math.min(300, Math.max(1, Math.round(Number(seconds) || 5)));
      // "one" for 1, so that English says "1 second"; Indonesian has one form for every count.
      function text(n) {
        var one = d["text" + name + "One"];
        return fill(n === 1 && one ? one : d["text" + name], { n: n });
      }
      say(text(left));
      var tick = setInterval(function () {
        left -= 1;
        if (left > 0) { say(text(left)); return; }
        clearInterval(tick);
        then();
      }, 1000);
    }

    function solve(challenge, difficulty) {
      say(d.textSolving);
      bar.hidden = difficulty <= 0;
      var worker = new Worker(d.worker);
      worker.onmessage = function (event) {
        var result = event.data;
        if (result.nonce === undefined) { showProgress(result.tried, difficulty); return; }
        worker.terminate();
        showProgress(Infinity, difficulty);
        join(challenge + ":" + result.nonce);
      };
      worker.postMessage({ challenge: challenge, difficulty: difficulty });
    }

    function join(proof) {
      say(d.textJoining);
      attempts += 1;
      fetch("/api/v1/rooms/" + encodeURIComponent(d.room) + "/join", {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-Antri-Proof": proof, Accept: "application/json" }
      })
        .then(function (response) {
          var after = response.headers.get("Retry-After");
          if (response.ok) { window.location.reload(); return null; }
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (response.status === 428 && body.challenge && attempts < 5) {
              // Expired or already used (a page restored from the cache): solve the new one.
              solve(body.challenge, Number(body.difficulty) || 0);
            } else if (response.status === 429) {
              later("Budget", after, restart);
            } else {
              later("Busy", after || 5, restart);
            }
          });
        })
        .catch(function () { later("Offline", 5, restart); });
    }

    // A fresh start asks for a fresh challenge: the page's own one may be used or stale.
    function restart() {
      attempts = 0;
      fetch("/api/v1/rooms/" + encodeURIComponent(d.room) + "/challenge", {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(); })
        .then(function (body) { solve(body.challenge, Number(body.difficulty) || 0); })
        .catch(function () { later("Offline", 5, restart); });
    }

    if (!navigator.cookieEnabled) { say(d.textCookies); return; }
    solve(d.challenge, Number(d.difficulty) || 0);
  }

  function start() {
    var root = document.getElementById("join-room");
    if (root) joinRoom(root);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
