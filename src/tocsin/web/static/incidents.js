// The Incidents screen, improved when JavaScript runs (the page works without it):
// - live rows: the server's rendered rows arrive over SSE (/incidents/live, the page's own
//   filters); the selection, the keyboard cursor, the focus and the row under the reader's eyes
//   stay where they were, and the tab's title shows how many incidents are open;
// - keyboard shortcuts (press ?), never while typing in a field.
(function () {
  "use strict";
  var cursorId = null;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#incident-rows .irow")); }

  function showState(live) {
    document.querySelectorAll("[data-live-state]").forEach(function (box) {
      box.classList.toggle("is-live", live);
      box.classList.toggle("is-down", !live);
      box.querySelector(".live-word").textContent = live ? "Live" : "Reconnecting…";
    });
  }

  function firstVisible() {
    return rows().find(function (row) { return row.getBoundingClientRect().bottom > 0; }) || null;
  }

  function applyRows(html) {
    var current = document.getElementById("incident-rows");
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var incoming = holder.querySelector("#incident-rows");
    if (!current || !incoming) return;
    var checked = {};
    current.querySelectorAll("input[name=incident]:checked").forEach(function (box) { checked[box.value] = true; });
    incoming.querySelectorAll("input[name=incident]").forEach(function (box) { box.checked = !!checked[box.value]; });
    var known = {};
    rows().forEach(function (row) { known[row.dataset.id] = true; });
    incoming.querySelectorAll(".irow").forEach(function (row) {
      if (current.children.length && !known[row.dataset.id]) row.classList.add("is-new");
    });
    var active = document.activeElement;
    var activeRow = active && active.closest ? active.closest(".irow") : null;
    var activeKind = activeRow ? (active.matches("input") ? "input" : "a") : null;
    var anchor = (cursorId && document.getElementById("row-" + cursorId)) || (window.scrollY > 0 ? firstVisible() : null);
    var anchorId = anchor ? anchor.id : null;
    var anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    current.replaceWith(incoming);
    if (anchorId) {
      var again = document.getElementById(anchorId);
      if (again) window.scrollBy(0, again.getBoundingClientRect().top - anchorTop);
    }
    if (activeRow) {
      var same = document.getElementById(activeRow.id);
      var target = same && same.querySelector(activeKind === "input" ? "input" : "a");
      if (target) target.focus({ preventScroll: true });
    }
    markCursor();
    var open = parseInt(incoming.dataset.open || "0", 10);
    document.title = (open > 0 ? "(" + open + " open) " : "") + "Incidents · Tocsin";
  }

  function markCursor() {
    rows().forEach(function (row) { row.classList.toggle("is-cursor", row.dataset.id === cursorId); });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (row) { return row.dataset.id === cursorId; });
    index = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
    cursorId = all[index].dataset.id;
    markCursor();
    all[index].querySelector(".irow-link").focus();
  }

  function cursorRow() { return cursorId ? document.getElementById("row-" + cursorId) : null; }

  function act(verb) {
    var form = document.querySelector("[data-bulk]");
    if (!form) return;
    var boxes = document.querySelectorAll("#incident-rows input[name=incident]:checked");
    if (!boxes.length) {
      var row = cursorRow();
      var box = row && row.querySelector("input[name=incident]");
      if (!box) return;
      box.checked = true;
    }
    form.requestSubmit(form.querySelector("button[value=" + verb + "]"));
  }

  function typing(target) {
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) return;
    var row = cursorRow();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x": if (row && row.querySelector("input")) row.querySelector("input").click(); break;
      case "a": act("acknowledge"); break;
      case "r": act("resolve"); break;
      case "s": if (row) window.location.href = "/incidents/" + row.dataset.number + "#snooze"; break;
      case "/": document.querySelector("[data-search]").focus(); break;
      case "?": if (dialog) dialog.showModal(); break;
      default: return;
    }
    event.preventDefault();
  }

  function connect(frame) {
    var source = new EventSource(frame.dataset.liveList);
    source.addEventListener("rows", function (event) { applyRows(event.data); });
    source.onopen = function () { showState(true); };
    source.onerror = function () { showState(false); };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("keydown", onKey);
    document.addEventListener("focusin", function (event) {
      var row = event.target.closest && event.target.closest(".irow");
      if (row) { cursorId = row.dataset.id; markCursor(); }
    });
    var frame = document.querySelector("[data-live-list]");
    if (frame && window.EventSource) connect(frame);
  });
})();
