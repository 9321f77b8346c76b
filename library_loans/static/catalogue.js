// The catalogue's small enhancements; every page works without them.
// - After htmx swaps the results in from a facet or page link (which the swap removed),
//   focus goes to the results' heading so that keyboard and screen-reader users go on
//   from there instead of from the top of the page.
// - "Larger text": a switch remembered in this browser.
(function () {
  "use strict";

  var STORED = "samverkan.catalogue.larger-text";

  function applyLargerText(on) {
    document.documentElement.classList.toggle("larger-text", on);
    var button = document.getElementById("larger-text");
    if (button) { button.setAttribute("aria-pressed", on ? "true" : "false"); }
  }

  function storedLargerText() {
    try { return window.localStorage.getItem(STORED) === "1"; } catch (error) { return false; }
  }

  applyLargerText(storedLargerText());

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("larger-text");
    if (button) {
      button.hidden = false;
      applyLargerText(storedLargerText());
      button.addEventListener("click", function () {
        var on = button.getAttribute("aria-pressed") !== "true";
        applyLargerText(on);
        try { window.localStorage.setItem(STORED, on ? "1" : "0"); } catch (error) { /* private mode */ }
      });
    }
    document.documentElement.setAttribute("data-catalogue-ready", "true");
  });

  document.addEventListener("htmx:afterSettle", function () {
    var focused = document.activeElement;
    if (focused && focused !== document.body && document.contains(focused)) { return; }
    var landing = document.querySelector("#search-results .error-summary") ||
      document.getElementById("results-title");
    if (landing) { landing.focus(); }
  });
})();
