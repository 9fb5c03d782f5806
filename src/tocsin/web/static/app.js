// The theme toggle: flips between light and dark from whatever is showing now, remembers the
// choice in localStorage (theme.js applies it before the next page paints).
(function () {
  var root = document.documentElement;
  var media = window.matchMedia("(prefers-color-scheme: dark)");
  function current() { return root.dataset.theme || (media.matches ? "dark" : "light"); }
  function label(button) {
    var dark = current() === "dark";
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    button.querySelector(".theme-label").textContent = "Dark theme";
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-theme-toggle]");
    if (!button) return;
    button.hidden = false;
    label(button);
    media.addEventListener("change", function () { label(button); });
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("tocsin-theme", next); } catch (e) { /* not remembered */ }
      label(button);
    });
  });
})();
