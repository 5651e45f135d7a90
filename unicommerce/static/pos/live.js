// Live figures on the till (see pos/web/catalog.py): the open stock panel, the cart's
// "n here" figures and the payment panel's status poll every second, and are swapped
// only when what they show has changed. This file
// - drops an answer that arrives after its poller has left the page (the seller acted
//   meanwhile and a newer partial replaced it), so an older figure can never overwrite
//   a newer one, out of band or not;
// - briefly highlights every figure ([data-figure]) whose text changed in a swap.
(function () {
  "use strict";
  var shown = {};
  // Live pollers: stock figures, and an order's payment status (pos/web/payments.py).
  var LIVE = "[data-live-stock], [data-live]";

  function figures(root) {
    var found = [];
    if (root.matches && root.matches("[data-figure]")) { found.push(root); }
    if (root.querySelectorAll) {
      Array.prototype.push.apply(found, root.querySelectorAll("[data-figure]"));
    }
    return found;
  }

  function livePollers(root) {
    var found = [];
    if (root.matches && root.matches(LIVE)) { found.push(root); }
    if (root.querySelectorAll) {
      Array.prototype.push.apply(found, root.querySelectorAll(LIVE));
    }
    return found;
  }

  function dropIfGone(event) {
    // Listening on the poller itself: htmx's events on a detached element never reach
    // the body.
    if (!this.isConnected) { event.preventDefault(); }
  }

  document.body.addEventListener("htmx:beforeSwap", function () {
    shown = {};
    figures(document).forEach(function (figure) {
      shown[figure.getAttribute("data-figure")] = figure.textContent.trim();
    });
  });

  htmx.onLoad(function (content) {
    livePollers(content).forEach(function (poller) {
      poller.addEventListener("htmx:beforeSwap", dropIfGone);
    });
    figures(content).forEach(function (figure) {
      var before = shown[figure.getAttribute("data-figure")];
      if (before !== undefined && before !== figure.textContent.trim()) {
        figure.classList.add("live-changed");
      }
    });
  });
})();
