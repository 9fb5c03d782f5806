// Runs before the first paint (a blocking script in <head>): apply the theme chosen with the
// toggle, stored in localStorage; without a choice, CSS follows prefers-color-scheme.
(function () {
  try {
    var chosen = localStorage.getItem("tocsin-theme");
    if (chosen === "light" || chosen === "dark") document.documentElement.dataset.theme = chosen;
  } catch (e) { /* storage blocked: follow the system */ }
})();
