// Ketacare page behaviour: project-written, no framework. Pages work without it; it only makes them quicker.
(function () {
  "use strict";

  // Live search: fetch the results fragment as the user types and swap it in.
  function liveSearch(form) {
    var input = form.querySelector("input[type=search]");
    var target = document.querySelector(form.getAttribute("data-target"));
    var base = form.getAttribute("data-live-search");
    if (!input || !target) return;
    var timer = null, seq = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        var url = base + "?partial=1&q=" + encodeURIComponent(input.value.trim());
        fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            if (mine !== seq) return;
            target.innerHTML = html;
            history.replaceState(null, "", base + (input.value.trim() ? "?q=" + encodeURIComponent(input.value.trim()) : ""));
          })
          .catch(function () { /* keep the last results; the submit button still works */ });
      }, 200);
    });
  }

  // Dangerous actions: a form with data-confirm asks first, restating what will happen.
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-live-search]").forEach(liveSearch);
    confirmForms();
    // A refused form: move focus to its error summary so keyboard and screen-reader users hear what to fix.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
