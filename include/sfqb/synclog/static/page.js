/* The sync log page's behaviour (sfqb.synclog.page): plain JavaScript, nothing fetched.
   - times in the viewer's time zone: the Airflow UI's choice (localStorage "timezone"), else
     the browser's;
   - "running for ..." kept up to date;
   - sortable tables: a header button sorts by its column (numbers as numbers, text with
     numbers in it naturally: QB:9 before QB:10), again to reverse;
   - the warnings' filters: area, level, state and free text;
   - links out of the Airflow UI's iframe: the UI sandboxes it without popups and top
     navigation, so a click on a link that opens a new tab or the Airflow UI is handed to the
     parent page (same origin), which opens it. */
(function () {
  "use strict";

  function timeZone() {
    try {
      var value = JSON.parse(window.localStorage.getItem("timezone") || "null");
      if (value) {
        new Intl.DateTimeFormat("en", { timeZone: value });
        return value;
      }
    } catch (e) {
      // No stored choice, or one this browser does not know.
    }
    return undefined;
  }

  var zone = timeZone();

  function parts(locale, date, options) {
    var out = {};
    new Intl.DateTimeFormat(locale, Object.assign({ timeZone: zone }, options))
      .formatToParts(date)
      .forEach(function (part) {
        out[part.type] = part.value;
      });
    return out;
  }

  // 2026-12-06 11:00 CET: the digits as the Airflow UI writes them, the zone's short name in
  // the browser's language.
  function localText(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return null;
    var p = parts("en-GB", date, {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23"
    });
    var name = parts(undefined, date, { timeZoneName: "short" }).timeZoneName || "";
    return (p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + " " + name).trim();
  }

  document.querySelectorAll("time[data-local]").forEach(function (node) {
    var text = localText(node.getAttribute("datetime"));
    if (text) {
      node.title = node.textContent;
      node.textContent = text;
    }
  });

  function duration(seconds) {
    var total = Math.max(Math.floor(seconds), 0);
    if (total < 60) return total + " s";
    var minutes = Math.floor(total / 60);
    if (total < 3600) return minutes + " min";
    var hours = Math.floor(total / 3600);
    if (total < 86400) {
      var rest = minutes - hours * 60;
      return rest ? hours + " h " + rest + " min" : hours + " h";
    }
    var days = Math.floor(total / 86400);
    var restHours = hours - days * 24;
    return restHours ? days + " d " + restHours + " h" : days + " d";
  }

  function tick() {
    document.querySelectorAll("[data-running-since]").forEach(function (node) {
      var since = new Date(node.getAttribute("data-running-since")).getTime();
      if (!isNaN(since)) node.textContent = "running for " + duration((Date.now() - since) / 1000);
    });
  }
  tick();
  window.setInterval(tick, 30000);

  // --- sorting ---------------------------------------------------------------------------
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function sortKey(row, column) {
    var cell = row.cells[column];
    if (!cell) return "";
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, column) {
      var button = th.querySelector("button[data-sort]");
      if (!button) return;
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var numeric = button.getAttribute("data-sort") === "number";
        Array.prototype.forEach.call(headers, function (other) {
          if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortKey(a, column);
          var y = sortKey(b, column);
          var order = numeric ? parseFloat(x) - parseFloat(y) : collator.compare(x, y);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) {
          body.appendChild(row);
        });
      });
    });
  });

  // --- filters ---------------------------------------------------------------------------
  document.querySelectorAll("form.filters").forEach(function (form) {
    var table = document.getElementById(form.getAttribute("data-for"));
    if (!table) return;
    var output = form.querySelector("output");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);

    function apply() {
      var area = form.elements.area.value;
      var level = form.elements.level.value;
      var state = form.elements.state.value;
      var words = form.elements.q.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        var visible =
          (!area || row.getAttribute("data-area") === area) &&
          (!level || row.getAttribute("data-level") === level) &&
          (!state || row.getAttribute("data-state") === state) &&
          words.every(function (word) {
            return text.indexOf(word) >= 0;
          });
        row.hidden = !visible;
        if (visible) shown += 1;
      });
      if (output) output.textContent = shown + " of " + rows.length + " shown";
    }

    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
  });

  // --- links out of the sandboxed iframe -------------------------------------------------
  function frame() {
    try {
      return window.frameElement;
    } catch (e) {
      return null;
    }
  }

  function blocked(target) {
    var element = frame();
    if (!element || !element.hasAttribute("sandbox")) return false;
    var sandbox = element.sandbox;
    if (target === "_blank") return !sandbox.contains("allow-popups");
    return (
      !sandbox.contains("allow-top-navigation") &&
      !sandbox.contains("allow-top-navigation-by-user-activation")
    );
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[target]") : null;
    if (!link || event.defaultPrevented || event.button !== 0) return;
    var target = link.getAttribute("target");
    if (target !== "_blank" && target !== "_top") return;
    if (event.ctrlKey || event.metaKey || event.shiftKey) target = "_blank";
    if (!blocked(target)) return;
    var top;
    try {
      top = window.top.document;
    } catch (e) {
      return;
    }
    event.preventDefault();
    var proxy = top.createElement("a");
    proxy.href = link.href;
    proxy.target = target === "_blank" ? "_blank" : "_self";
    proxy.rel = "noopener";
    proxy.style.display = "none";
    top.body.appendChild(proxy);
    proxy.click();
    proxy.remove();
  });
})();
