// The booking wizard's small helpers; every step also works without JavaScript.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    // Elements only the script-less page needs (a "Show" button, a plain upload button).
    document.querySelectorAll("[data-hide-with-js]").forEach(function (el) { el.hidden = true; });

    // The province list reorders the offices as soon as it changes.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    // The NIK: how many of its 16 digits have been typed.
    var nik = document.querySelector("input[data-nik]");
    var count = document.getElementById("nik-count");
    if (nik && count) {
      var show = function () {
        var digits = nik.value.replace(/\D/g, "").length;
        count.textContent = nik.getAttribute("data-count-text").replace("{n}", digits);
      };
      nik.addEventListener("input", show);
      show();
    }

    setUpUploads(document.getElementById("upload-form"));
  });

  // Each chosen file is sent at once, one at a time, with its progress shown.
  function setUpUploads(form) {
    if (!form) return;
    var csrf = form.querySelector("input[name=csrf]").value;
    var queue = [];
    var busy = false;

    function next() {
      if (busy || queue.length === 0) return;
      busy = true;
      send(queue.shift(), function () { busy = false; next(); });
    }

    function send(input, done) {
      var kind = input.name;
      var bar = document.getElementById("p-" + kind);
      var status = document.getElementById("s-" + kind);
      var data = new FormData();
      data.append(kind, input.files[0]);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
        var field = input.closest(".field");
        if (answer && answer.saved && answer.saved[kind]) {
          bar.value = 100;
          status.textContent = "✓ " + answer.saved[kind];
          field.classList.remove("invalid");
        } else {
          bar.value = 0;
          status.textContent = (answer && answer.errors && answer.errors[kind]) ||
            form.getAttribute("data-failed-text");
          field.classList.add("invalid");
        }
        done();
      });
      xhr.addEventListener("error", function () {
        bar.value = 0;
        status.textContent = form.getAttribute("data-failed-text");
        done();
      });
      status.textContent = form.getAttribute("data-uploading-text");
      bar.value = 0;
      xhr.send(data);
    }

    form.querySelectorAll("input[type=file][data-upload]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.files.length) { queue.push(input); next(); }
      });
    });
  }
})();
