// The register's denomination grid: its running total, shown under the grid (the server
// sums and checks the counts again; this only helps the seller see what they counted).
(function () {
  function grid() { return document.querySelector(".denomination-grid"); }
  function update() {
    var table = grid();
    if (!table) return;
    var cents = 0, bad = false;
    table.querySelectorAll("tr[data-value]").forEach(function (row) {
      var typed = row.querySelector("input").value.trim();
      if (typed === "") return;
      if (!/^\d+$/.test(typed)) { bad = true; return; }
      cents += Math.round(parseFloat(row.dataset.value) * 100) * parseInt(typed, 10);
    });
    var out = table.querySelector(".denomination-total");
    out.textContent = bad ? "—" : (cents / 100).toFixed(2) + " " + out.dataset.currency;
  }
  document.addEventListener("input", function (event) {
    if (event.target.closest(".denomination-grid")) update();
  });
  document.addEventListener("DOMContentLoaded", update);
})();
