// The desk's scan box: after each scan the box is emptied and has the focus again, so a
// barcode scanner (which types the code and presses Enter) can go on scanning; the box's
// label follows the mode (the card first when lending to a new patron).
(function () {
  "use strict";

  function scanBox() { return document.getElementById("code"); }

  function updateLabel() {
    const label = document.getElementById("code-label");
    const form = document.getElementById("scan-form");
    if (!label || !form) { return; }
    const mode = form.querySelector("input[name=mode]:checked");
    const card = form.querySelector("input[name=card_number]");
    const wantsCard = mode && mode.value === "checkout" && card && !card.value;
    label.textContent = wantsCard ? label.dataset.cardLabel : label.dataset.barcodeLabel;
  }

  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.name === "mode") {
      updateLabel();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "scan-form") {
      const box = scanBox();
      if (box) { box.value = ""; box.focus(); }
    }
  });

  document.addEventListener("htmx:afterSettle", updateLabel);
  document.addEventListener("DOMContentLoaded", function () {
    updateLabel();
    document.documentElement.dataset.deskReady = "true";
  });
})();
