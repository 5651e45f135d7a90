// Live stock levels in the back-office change list (inventory/admin/stock.py,
// StockLevelAdmin.live_view). Every second, while the tab is visible, ask whether the
// levels shown changed since the last answer's fingerprint: 204 while they have not;
// otherwise the new text of each live cell, which replaces the old one in place and is
// highlighted for a moment. Stops for good when refused (logged out, no permission).
(function () {
  "use strict";
  var INTERVAL = 1000;

  function start() {
    var source = document.getElementById("live-stock");
    var table = document.getElementById("result_list");
    if (!source || !table) { return; }
    var ids = source.getAttribute("data-ids").split(",");
    var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
    if (!ids[0] || rows.length !== ids.length) { return; }  // not the rows we think
    var rowById = {};
    ids.forEach(function (id, index) { rowById[id] = rows[index]; });
    var base = source.getAttribute("data-url") + "?ids=" + ids.join(",");
    var since = "";  // the first answer always carries the figures

    // On hand below zero (sold though not in the books) is shown in red.
    function markNegative(cell) {
      if (cell.classList.contains("field-on_hand")) {
        cell.classList.toggle("stock-negative", /^\s*[-\u2212]/.test(cell.textContent));
      }
    }
    Array.prototype.forEach.call(table.querySelectorAll("td.field-on_hand"), markNegative);

    function update(answer) {
      since = answer.fingerprint;
      Object.keys(answer.rows).forEach(function (id) {
        var row = rowById[id];
        if (!row) { return; }
        var cells = answer.rows[id];
        Object.keys(cells).forEach(function (column) {
          var cell = row.querySelector("td.field-" + column);
          if (!cell || cell.textContent === cells[column]) { return; }
          cell.textContent = cells[column];
          markNegative(cell);
          cell.classList.remove("live-changed");
          void cell.offsetWidth;  // restart the highlight if it is still running
          cell.classList.add("live-changed");
        });
      });
    }

    function poll() {
      if (document.visibilityState !== "visible") {
        window.setTimeout(poll, INTERVAL);
        return;
      }
      fetch(base + "&since=" + encodeURIComponent(since), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        redirect: "manual"  // to the login page: the session has ended
      }).then(function (response) {
        if (response.status === 204) { return { wait: INTERVAL }; }
        if (response.ok) {
          return response.json().then(function (answer) {
            update(answer);
            return { wait: INTERVAL };
          });
        }
        if (response.status >= 500) { return { wait: 5 * INTERVAL }; }
        return { stop: true };  // redirected, forbidden, refused
      }, function () {
        return { wait: 5 * INTERVAL };  // the network: try again a little later
      }).then(function (next) {
        if (!next.stop) { window.setTimeout(poll, next.wait); }
      });
    }

    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
