// The till's keyboard and focus rules. Scanners type fast and press Enter, so the scan
// field keeps the focus except while the seller is typing the cash received.
(function () {
  "use strict";
  function scan() { return document.getElementById("scan"); }
  function tendered() {
    // The sale's cash field, or the payment panel's (an order paid in store).
    return document.getElementById("tendered") || document.getElementById("pay-tendered");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "F3") {
      // Find the customer (or scan the QR code of the cart on their phone).
      event.preventDefault();
      var find = document.getElementById("find");
      if (find) { find.focus(); find.select(); }
    } else if (event.key === "F2") {
      event.preventDefault();
      var field = tendered();
      if (field && !field.disabled) { field.focus(); field.select(); }
    } else if (event.key === "Escape") {
      var input = scan();
      if (input) {
        input.value = "";
        var results = document.getElementById("results");
        if (results) { results.innerHTML = ""; }
        input.focus();
      }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-cash]");
    if (!button) { return; }
    var field = tendered();
    field.value = button.getAttribute("data-cash");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var targetId = event.detail.target.id;
    if (targetId === "change" || targetId === "pay-change") { return; }
    if (targetId === "payment-panel") {
      // A payment recorded or refused: the field an error is about, else the focus stays.
      var invalid = document.querySelector("#payment-panel [aria-invalid=true]");
      if (invalid) { invalid.focus(); invalid.select(); }
      return;
    }
    if (event.detail.target.id === "customer") {
      // Found: Enter opens their latest cart. Not found: correct what was typed.
      // (an outerHTML swap's event target is the element replaced: look the new one up)
      var open = document.querySelector("#customer .open-cart");
      var find = document.getElementById("find");
      if (open) { open.focus(); } else if (find) { find.focus(); find.select(); }
      return;
    }
    var panel = document.getElementById("customer");
    var customerForm = document.getElementById("customer-form");
    if (customerForm && panel && !panel.children.length) {
      customerForm.reset();  // a cart was opened (or sold): the search is done
    }
    // A live stock refresh is not the seller's doing: leave the focus (and a tablet's
    // keyboard) where it is.
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (source && source.hasAttribute &&
        (source.hasAttribute("data-live-stock") || source.hasAttribute("data-live"))) { return; }
    var form = document.getElementById("scan-form");
    if (event.detail.requestConfig && event.detail.requestConfig.elt === form) { form.reset(); }
    var input = scan();
    if (input && document.activeElement !== tendered()) { input.focus(); }
  });
})();
