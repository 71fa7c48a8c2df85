// Tables a reader can work with: every data table sorts by any column (a button in each column
// heading, so the keyboard reaches it; aria-sort says the order), long tables in a
// ".collapsible-table" show their top and bottom rows with a "show all" button, and the user's own
// municipality's row (the name in a "data-own" ancestor) stands out. Without script every row shows
// in the server's order. Hidden and empty cells (<5, x, –) sort last in either direction.
(function () {
  "use strict";
  var KEEP = 5; // rows kept at each end of a collapsed table

  function numberOf(text) {
    var t = text.trim().replace(/\u2212/g, "-").replace(/\s|%|kr\.?/g, "");
    if (document.documentElement.lang === "en") {
      t = t.replace(/,/g, "");
    } else {
      t = t.replace(/\./g, "").replace(",", ".");
    }
    return /^-?\d+(\.\d+)?$/.test(t) ? parseFloat(t) : null;
  }

  function bodyRows(table) {
    return Array.prototype.slice.call(table.tBodies[0] ? table.tBodies[0].rows : []);
  }

  function sortable(table) {
    var rows = bodyRows(table);
    var totals = rows.filter(function (r) { return r.classList.contains("total"); });
    // A pivot with a total per block cannot be reordered without tearing its blocks apart.
    return rows.length > 1 && (totals.length === 0 || (totals.length === 1 && totals[0] === rows[rows.length - 1]));
  }

  function sortBy(table, column, descending) {
    var body = table.tBodies[0];
    var rows = bodyRows(table);
    var totals = rows.filter(function (r) { return r.classList.contains("total"); });
    var data = rows.filter(function (r) { return !r.classList.contains("total"); });
    var keyed = data.map(function (row, i) {
      var text = row.cells[column] ? row.cells[column].textContent : "";
      return { row: row, text: text.trim(), value: numberOf(text), i: i };
    });
    var numeric = keyed.some(function (k) { return k.value !== null; });
    keyed.sort(function (a, b) {
      if (numeric) {
        if (a.value === null || b.value === null) {
          return (a.value === null) - (b.value === null) || a.i - b.i;
        }
        return (descending ? b.value - a.value : a.value - b.value) || a.i - b.i;
      }
      var c = a.text.localeCompare(b.text, document.documentElement.lang || "da");
      return (descending ? -c : c) || a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    totals.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, j) {
      if (j === column) {
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    collapse(table);
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tHead.rows.length || !sortable(table)) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, j) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      var mark = document.createElement("span");
      mark.className = "sort-mark";
      mark.setAttribute("aria-hidden", "true");
      button.appendChild(mark);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        // Numbers first from the largest; names first from A.
        var firstDescending = j >= labelColumns(table);
        sortBy(table, j, now ? now === "ascending" : firstDescending);
      });
    });
  }

  function labelColumns(table) {
    var first = bodyRows(table)[0];
    if (!first) { return 1; }
    var n = 0;
    while (n < first.cells.length && first.cells[n].tagName === "TH") { n += 1; }
    return n;
  }

  function markOwn(table) {
    var holder = table.closest("[data-own]");
    if (!holder) { return; }
    var own = holder.getAttribute("data-own");
    bodyRows(table).forEach(function (row) {
      if (row.cells[0] && row.cells[0].textContent.trim() === own) { row.classList.add("own-row"); }
    });
  }

  function collapse(table) {
    var holder = table.closest(".collapsible-table");
    if (!holder) { return; }
    var rows = bodyRows(table).filter(function (r) { return !r.classList.contains("total"); });
    var open = holder.getAttribute("data-open") === "true";
    rows.forEach(function (row, i) {
      var folded = !open && i >= KEEP && i < rows.length - KEEP && !row.classList.contains("own-row");
      row.classList.toggle("collapsed-row", folded);
    });
  }

  function addToggle(table) {
    var holder = table.closest(".collapsible-table");
    if (!holder) { return; }
    var count = bodyRows(table).filter(function (r) { return !r.classList.contains("total"); }).length;
    if (count <= 2 * KEEP + 2) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button-secondary show-all";
    button.setAttribute("aria-expanded", "false");
    var more = holder.getAttribute("data-collapse") + " (" + count + ")";
    var less = holder.getAttribute("data-expand-less");
    button.textContent = more;
    button.addEventListener("click", function () {
      var open = holder.getAttribute("data-open") !== "true";
      holder.setAttribute("data-open", open ? "true" : "false");
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? less : more;
      collapse(table);
    });
    holder.appendChild(button);
    collapse(table);
  }

  function initialOrder(table) {
    var holder = table.closest("[data-sort-by]");
    if (!holder || !sortable(table)) { return; }
    var wanted = holder.getAttribute("data-sort-by");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, j) {
      if (th.textContent.trim() === wanted) { sortBy(table, j, true); }
    });
  }

  function start() {
    document.querySelectorAll("table.data-table").forEach(function (table) {
      markOwn(table);
      makeSortable(table);
      initialOrder(table);
      addToggle(table);
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
