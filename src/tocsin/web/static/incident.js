// The Incident screen: says whether its live stream (htmx's SSE extension) is up.
(function () {
  "use strict";
  function showState(live) {
    document.querySelectorAll("[data-live-state]").forEach(function (box) {
      box.classList.toggle("is-live", live);
      box.classList.toggle("is-down", !live);
      box.querySelector(".live-word").textContent = live ? "Live" : "Reconnecting…";
    });
  }
  document.addEventListener("htmx:sseOpen", function () { showState(true); });
  document.addEventListener("htmx:sseError", function () { showState(false); });
})();
