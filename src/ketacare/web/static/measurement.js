// Questionnaires on phones: one question per screen with Back / Next and "Question 3 of 7".
// Without script (or on wide screens) every question shows at once and the form still works.
(function () {
  "use strict";
  function paged(form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll("fieldset.mbc-item"));
    var back = form.querySelector(".mbc-back"), next = form.querySelector(".mbc-next");
    var submit = form.querySelector(".mbc-submit");
    if (!steps.length || !back || !next) return;
    var narrow = window.matchMedia("(max-width: 720px)");
    var firstInvalid = steps.findIndex(function (s) { return s.classList.contains("invalid"); });
    var at = firstInvalid >= 0 ? firstInvalid : 0;
    function show(focus) {
      var on = narrow.matches;
      form.classList.toggle("is-paged", on);
      steps.forEach(function (s, i) { s.hidden = on && i !== at; });
      back.hidden = !on || at === 0;
      next.hidden = !on || at === steps.length - 1;
      submit.hidden = on && at !== steps.length - 1;
      if (on && focus) { var legend = steps[at].querySelector("legend"); steps[at].setAttribute("tabindex", "-1"); steps[at].focus(); if (legend) legend.scrollIntoView({ block: "nearest" }); }
    }
    back.addEventListener("click", function () { if (at > 0) { at--; show(true); } });
    next.addEventListener("click", function () { if (at < steps.length - 1) { at++; show(true); } });
    // Advance by itself only after a tap or click: a keyboard user moving through the options with the arrow
    // keys changes the selection too, and must not be carried to the next question (WCAG 3.2.2, On Input).
    var lastPointer = 0;
    form.addEventListener("pointerup", function () { lastPointer = Date.now(); });
    steps.forEach(function (s, i) {
      s.addEventListener("change", function () {
        var tapped = Date.now() - lastPointer < 800;
        if (tapped && narrow.matches && i === at && at < steps.length - 1) { setTimeout(function () { at++; show(true); }, 150); }
      });
    });
    if (narrow.addEventListener) narrow.addEventListener("change", function () { show(false); });
    show(false);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-paged]").forEach(paged);
  });
})();
