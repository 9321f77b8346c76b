// The operator console from the keyboard: arrows through the results, Enter opens the
// card, M takes a message, Esc goes back to the search box, Alt+0-7 changes municipality.
(function () {
  "use strict";

  function query() { return document.getElementById("q"); }
  function resultLinks() { return Array.from(document.querySelectorAll("#results .result__link")); }
  function typing(target) {
    return target instanceof HTMLElement &&
      (target.matches("input, textarea, select") || target.isContentEditable);
  }

  function moveAmongResults(event) {
    const links = resultLinks();
    if (!links.length) { return false; }
    const at = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      links[Math.min(at + 1, links.length - 1)].focus();
      return true;
    }
    if (event.key === "ArrowUp") {
      if (at <= 0) { query().focus(); } else { links[at - 1].focus(); }
      return true;
    }
    return false;
  }

  function openCard(link) {
    htmx.ajax("GET", link.getAttribute("hx-get"), { target: "#card" });
  }

  function chooseMunicipality(index) {
    const select = document.getElementById("municipality");
    if (!select || index >= select.options.length) { return; }
    select.selectedIndex = index;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    query().focus();
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.altKey && /^[0-9]$/.test(event.key)) {
      chooseMunicipality(Number(event.key));
      event.preventDefault();
      return;
    }
    if (event.key === "Escape") {
      query().focus();
      query().select();
      event.preventDefault();
      return;
    }
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") &&
        (target === query() || (target instanceof HTMLElement && target.matches(".result__link")))) {
      if (moveAmongResults(event)) { event.preventDefault(); }
      return;
    }
    if (!typing(target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      if (event.key === "m" || event.key === "M") {
        // Ask htmx directly: a card swapped in a moment ago may not be wired up yet.
        const take = document.getElementById("take-message");
        if (take) {
          htmx.ajax("GET", take.getAttribute("hx-get"), { target: "#message-area" });
          event.preventDefault();
        }
      } else if (event.key === "/") {
        query().focus();
        event.preventDefault();
      }
    }
  });

  // Enter in the search box opens the best match; a new card or form takes the focus.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target === query()) {
      const first = resultLinks()[0];
      if (first) { openCard(first); event.preventDefault(); }
    } else if (event.key === "Enter" && event.target instanceof HTMLElement &&
               event.target.matches(".result__link")) {
      openCard(event.target);
      event.preventDefault();
    }
  }, true);

  // Tests (and impatient fingers) can tell when the shortcuts above are listening.
  document.documentElement.dataset.consoleReady = "true";

  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target.id === "card") {
      const title = document.getElementById("card-title");
      if (title) { title.focus(); }
    } else if (target.id === "message-area" || target.classList.contains("message-form")) {
      const invalid = target.querySelector("[aria-invalid=true]") ||
        document.querySelector("#message-area [aria-invalid=true]");
      const first = invalid || document.getElementById("message-caller_name");
      if (first) { first.focus(); }
    }
  });
})();
