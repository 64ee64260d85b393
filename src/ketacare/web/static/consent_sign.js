// Consent signature pad (issue 16): draw with a finger, pen or mouse (pointer events, so touch works on a phone or
// tablet); the strokes are kept as SVG path data in a 600x200 box whatever size the canvas is shown at. Without
// JavaScript the page offers the click signature only.
(function () {
  "use strict";
  const canvas = document.getElementById("sigpad");
  const field = document.getElementById("f-signature_svg_path");
  if (!canvas || !field) return;
  const form = canvas.closest("form");
  document.querySelectorAll(".sig-drawn-choice, .sigpad").forEach(function (el) { el.hidden = false; });
  const ctx = canvas.getContext("2d");
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#1b1f23";
  const parts = [];
  let drawing = false;

  function point(ev) {
    const r = canvas.getBoundingClientRect();
    const x = ((ev.clientX - r.left) / r.width) * canvas.width;
    const y = ((ev.clientY - r.top) / r.height) * canvas.height;
    return [Math.max(0, Math.min(canvas.width, x)).toFixed(1), Math.max(0, Math.min(canvas.height, y)).toFixed(1)];
  }
  function chooseDrawn() {
    const radio = form.querySelector('input[name="signature_kind"][value="drawn"]');
    if (radio) radio.checked = true;
  }
  const click = document.getElementById("f-click_signed");
  if (click) {
    click.addEventListener("change", function () {
      const radio = form.querySelector('input[name="signature_kind"][value="click"]');
      if (click.checked && radio) radio.checked = true;
    });
  }
  canvas.addEventListener("pointerdown", function (ev) {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    drawing = true;
    const [x, y] = point(ev);
    parts.push("M" + x + " " + y);
    ctx.beginPath();
    ctx.moveTo(x, y);
    chooseDrawn();
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!drawing) return;
    ev.preventDefault();
    const [x, y] = point(ev);
    parts.push("L" + x + " " + y);
    ctx.lineTo(x, y);
    ctx.stroke();
    field.value = parts.join(" ");
  });
  function end() {
    drawing = false;
    field.value = parts.join(" ");
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  document.getElementById("sigpad-clear").addEventListener("click", function () {
    parts.length = 0;
    field.value = "";
    ctx.clearRect(0, 0, canvas.width, canvas.height);
  });
})();
