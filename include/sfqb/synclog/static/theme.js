/* The sync log follows the Airflow UI's colour mode (sfqb.synclog.page). In the UI's iframe
   (same origin) it reads the UI's own <html> class ("dark" / "light", set by next-themes for
   Chakra UI) and copies the UI's colour and font tokens; on its own it reads the UI's stored
   choice (localStorage "theme": "light", "dark" or "system"), else prefers-color-scheme. It
   follows a change while open. Runs in <head>, before the page paints. */
(function () {
  "use strict";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  // The page's variables and the Chakra UI tokens of the Airflow UI that hold them.
  var TOKENS = {
    "--bg": "--chakra-colors-bg",
    "--bg-subtle": "--chakra-colors-bg-subtle",
    "--bg-muted": "--chakra-colors-bg-muted",
    "--fg": "--chakra-colors-fg",
    "--fg-muted": "--chakra-colors-fg-muted",
    "--border": "--chakra-colors-border",
    "--border-strong": "--chakra-colors-border-emphasized",
    "--font": "--chakra-fonts-body",
    "--mono": "--chakra-fonts-mono",
    "--success": "--chakra-colors-success-solid",
    "--failed": "--chakra-colors-failed-solid",
    "--running": "--chakra-colors-running-solid",
    "--queued": "--chakra-colors-queued-solid",
    "--scheduled": "--chakra-colors-scheduled-solid",
    "--up_for_retry": "--chakra-colors-up_for_retry-solid",
    "--upstream_failed": "--chakra-colors-upstream_failed-solid",
    "--skipped": "--chakra-colors-skipped-solid",
    "--deferred": "--chakra-colors-deferred-solid"
  };

  function parentDocument() {
    try {
      if (window.parent !== window && window.parent.document) {
        return window.parent.document;
      }
    } catch (e) {
      // Another origin: nothing to read.
    }
    return null;
  }

  function stored() {
    try {
      return window.localStorage.getItem("theme");
    } catch (e) {
      return null;
    }
  }

  function mode() {
    var doc = parentDocument();
    if (doc) {
      var list = doc.documentElement.classList;
      if (list.contains("dark")) return "dark";
      if (list.contains("light")) return "light";
    }
    var choice = stored();
    if (choice === "dark" || choice === "light") return choice;
    return media && media.matches ? "dark" : "light";
  }

  function copyTokens() {
    var doc = parentDocument();
    var style = root.style;
    Object.keys(TOKENS).forEach(function (name) {
      style.removeProperty(name);
    });
    if (!doc || !doc.body) return;
    // The iframe element sits inside the UI's layout: it inherits the tokens wherever the UI
    // defines them.
    var host = null;
    try {
      host = window.frameElement;
    } catch (e) {
      host = null;
    }
    var computed = window.parent.getComputedStyle(host || doc.body);
    Object.keys(TOKENS).forEach(function (name) {
      var value = computed.getPropertyValue(TOKENS[name]).trim();
      if (value) style.setProperty(name, value);
    });
  }

  function apply() {
    var dark = mode() === "dark";
    root.classList.toggle("dark", dark);
    root.classList.toggle("light", !dark);
    copyTokens();
  }

  apply();
  window.addEventListener("storage", function (event) {
    if (event.key === "theme") apply();
  });
  if (media && media.addEventListener) media.addEventListener("change", apply);
  var doc = parentDocument();
  if (doc && window.MutationObserver) {
    new MutationObserver(apply).observe(doc.documentElement, {
      attributes: true,
      attributeFilter: ["class", "style", "data-theme"]
    });
  }
  window.sfqbTheme = { apply: apply, mode: mode };
})();
