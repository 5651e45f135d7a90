// The till's keyboard, scanner and focus rules: what must not wait for the network.
//
// - The scanner's queue. A scanner types a code and presses Enter faster than any round
//   trip. Enter (or Add) takes the field's value, clears the field at once and queues the
//   code; codes are posted one at a time, in order, the next only once the previous answer
//   is swapped in (so each quantity counts the one before it). No answer ever clears the
//   field or the queue; a code whose request failed (no network, a 5xx) stays first in
//   line and is sent again, with the same scan id, so that a retry of a scan the server
//   did count is not counted twice (pos.web.lines.scan).
// - Search as you type, for a human: after a pause, never for a scanner's burst (keys a
//   few milliseconds apart, then Enter), never for a field being cleared.
// - Focus. An answer puts the focus back on the scan field only when the seller is not
//   in another field; a field of the sale that an answer re-renders keeps what was typed.
(function () {
  "use strict";
  var BURST_GAP_MS = 30;      // a scanner's keys come closer together than a person's
  var BURST_KEYS = 6;         // ... this many fast gaps in a row (no one types 7 keys so)
  var SEARCH_PAUSE_MS = 250;  // a person's pause before the matches are fetched
  var RETRY_MS = [500, 1000, 2000, 4000, 8000];

  function scan() { return document.getElementById("scan"); }
  function scanForm() { return document.getElementById("scan-form"); }
  function indicator() { return document.getElementById("scan-queue"); }
  function tendered() {
    // The sale's cash field, or the payment panel's (an order paid in store).
    return document.getElementById("tendered") || document.getElementById("pay-tendered");
  }

  // ---- The scanner's queue -----------------------------------------------------------

  var queue = [];        // [{code, id}], oldest first; the first may be in flight
  var sending = false;
  var failures = 0;      // in a row, for the code at the head of the queue
  var retryTimer = null;
  var outcome = null;    // what htmx said of the request in flight
  var typing = { last: 0, fastGaps: 0 };  // the scan field's keys, to tell a scanner
  var searchTimer = null;

  function scanId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function showQueue() {
    var box = indicator();
    if (!box) { return; }
    var n = queue.length;
    if (!n) {
      box.hidden = true;
      box.classList.remove("retrying");
      box.textContent = "";
      return;
    }
    // The sentences come translated from the page (data-one / data-other: "{n} …").
    var category = new Intl.PluralRules(document.documentElement.lang || "en").select(n);
    var waiting = box.getAttribute(category === "one" ? "data-one" : "data-other") || "";
    var text = waiting.replace("{n}", String(n));
    if (failures) { text += " · " + (box.getAttribute("data-retry") || ""); }
    box.textContent = text;
    box.classList.toggle("retrying", failures > 0);
    box.hidden = false;
  }

  // The queue outlives the page (a reload the server asks for, a log-in again): kept in
  // this tab's session storage until each code is counted.
  var STORED = "pos:scan-queue";

  function save() {
    try {
      window.sessionStorage.setItem(STORED, JSON.stringify(queue));
    } catch (ignored) { /* no storage (private mode): the queue lives in this page only */ }
  }

  function load() {
    var saved = [];
    try { saved = JSON.parse(window.sessionStorage.getItem(STORED) || "[]"); } catch (ignored) { /* none */ }
    queue = (Array.isArray(saved) ? saved : []).filter(function (item) {
      return item && typeof item.code === "string" && typeof item.id === "string";
    });
  }

  function enqueue(code) {
    queue.push({ code: code, id: scanId() });
    save();
    showQueue();
    pump();
  }

  function pump() {
    if (sending || retryTimer || !queue.length) { return; }
    var form = scanForm();
    var source = indicator();
    if (!form || !source || !window.htmx) { return; }
    var item = queue[0];
    sending = true;
    outcome = null;
    var done = function () { finished(item); };
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: source,  // outside any form: only these values are sent (CSRF: body's hx-headers)
      target: "#workspace",
      swap: "outerHTML",
      values: { action: "scan", code: item.code, scan: item.id },
    }).then(done, done);
  }

  function finished(item) {
    sending = false;
    // Counted: swapped (200, or 422 with the reason on screen). Anything else — no
    // network, a 5xx, too many requests, a refusal not swapped — keeps the code first.
    var counted = outcome && outcome.successful && outcome.status !== 429;
    if (counted && queue[0] === item) {
      queue.shift();
      save();
      failures = 0;
    } else {
      failures += 1;
      var wait = RETRY_MS[Math.min(failures, RETRY_MS.length) - 1];
      retryTimer = window.setTimeout(function () { retryTimer = null; pump(); }, wait);
    }
    showQueue();
    pump();
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.target !== indicator()) { return; }
    var xhr = event.detail.xhr;
    outcome = { successful: event.detail.successful === true, status: xhr ? xhr.status : 0 };
  });

  document.addEventListener("submit", function (event) {
    if (event.target !== scanForm()) { return; }
    // Without this script the form posts itself (the server answers with the page).
    event.preventDefault();
    var input = scan();
    var code = input.value.trim();
    input.value = "";
    typing.fastGaps = 0;
    cancelSearch();
    if (code) { enqueue(code); }
    input.focus();
  });

  function resume() {
    if (!scanForm()) { return; }  // the sale's page: what an earlier page left goes first
    load();
    showQueue();
    pump();
  }
  // A deferred script runs before DOMContentLoaded, when htmx starts.
  if (document.readyState === "complete") { resume(); } else {
    document.addEventListener("DOMContentLoaded", resume);
  }

  // A match tapped in the results: the search is done, so what was typed goes at once (a
  // scan right after it must not land behind the words of the search).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail.elt;
    if (!source || !source.closest || !source.closest("#results")) { return; }
    var input = scan();
    if (input && input.value) {
      input.value = "";
      cancelSearch();
    }
  });

  // ---- Search as you type (the scan field's hx-get listens for "pos:search") -------------

  function cancelSearch() {
    window.clearTimeout(searchTimer);
    searchTimer = null;
    var input = scan();
    // A search already on its way would list matches for a code now being added.
    if (input && window.htmx) { window.htmx.trigger(input, "htmx:abort"); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.target !== scan() || event.key.length !== 1) { return; }
    var now = event.timeStamp;
    typing.fastGaps = now - typing.last < BURST_GAP_MS ? typing.fastGaps + 1 : 0;
    typing.last = now;
  }, true);

  document.addEventListener("input", function (event) {
    var input = scan();
    if (event.target !== input) { return; }
    window.clearTimeout(searchTimer);
    searchTimer = null;
    if (!input.value.trim()) {
      // Cleared: no search, and the matches of what was there go too.
      var results = document.getElementById("results");
      if (results) { results.innerHTML = ""; }
      return;
    }
    if (typing.fastGaps >= BURST_KEYS) { return; }  // a scanner: its Enter adds the code
    searchTimer = window.setTimeout(function () {
      searchTimer = null;
      if (input.isConnected && input.value.trim() && typing.fastGaps < BURST_KEYS) {
        window.htmx.trigger(input, "pos:search");
      }
    }, SEARCH_PAUSE_MS);
  });

  // ---- Keys ------------------------------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    if (event.key === "F3") {
      // Find the customer (or scan the QR code of the cart on their phone).
      event.preventDefault();
      var find = document.getElementById("find");
      if (find) { find.focus(); find.select(); }
    } else if (event.key === "F2") {
      // Cash: pick the cash tender first (another one may be showing), then its field.
      event.preventDefault();
      var cash = document.getElementById("pay-with-cash");
      if (cash && !cash.checked && !cash.disabled) {
        cash.checked = true;
        cash.dispatchEvent(new Event("change", { bubbles: true }));
      }
      var field = tendered();
      if (field && !field.disabled) { field.focus(); field.select(); }
    } else if (event.key === "Escape") {
      var input = scan();
      if (input) {
        input.value = "";
        cancelSearch();
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

  // ---- Focus and typed values across swaps -----------------------------------------------

  function fromQueue(event) {
    var config = event.detail.requestConfig;
    return !!config && config.elt === indicator();
  }

  function isTextField(element) {
    if (!element || !element.matches) { return false; }
    if (element.matches("textarea, [contenteditable=''], [contenteditable=true]")) { return true; }
    return element.matches("input") &&
      !/^(button|submit|reset|checkbox|radio|hidden|image|file|range|color)$/.test(element.type);
  }

  function sellerElsewhere() {
    // The scan field gets the focus back only from the body (the focused button was
    // swapped away), itself, or a button or list of the sale.
    var active = document.activeElement;
    if (!active || active === document.body || active === scan()) { return false; }
    if (isTextField(active)) { return true; }
    return !active.closest("#workspace, #results, #scan-form");
  }

  // What the seller is doing in the sale while a queued scan's answer re-renders it: the
  // fields being typed in, the sections they opened, the field with the focus.
  var kept = null;

  function detailsKey(details) {
    return details.id ? "#" + details.id : details.className;
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    kept = null;
    if (!fromQueue(event) || !event.detail.shouldSwap) { return; }
    var workspace = document.getElementById("workspace");
    if (!workspace) { return; }
    kept = { typed: [], opened: [], focused: null };
    workspace.querySelectorAll("input[id], textarea[id]").forEach(function (field) {
      if (isTextField(field) && field.value !== field.defaultValue) {
        kept.typed.push({ id: field.id, value: field.value });
      }
    });
    workspace.querySelectorAll("details[open]").forEach(function (details) {
      kept.opened.push(detailsKey(details));
    });
    var active = document.activeElement;
    if (active && active.id && workspace.contains(active) && isTextField(active)) {
      kept.focused = { id: active.id, start: active.selectionStart, end: active.selectionEnd };
    }
  });

  function restoreKept() {
    if (!kept) { return; }
    var was = kept;
    kept = null;
    var workspace = document.getElementById("workspace");
    if (workspace) {
      workspace.querySelectorAll("details").forEach(function (details) {
        if (was.opened.indexOf(detailsKey(details)) >= 0) { details.open = true; }
      });
    }
    was.typed.forEach(function (typed) {
      var field = document.getElementById(typed.id);
      if (!field || field.disabled || field.value !== field.defaultValue) { return; }
      field.value = typed.value;
      // What the field asks the server as it is typed (the cash field: the change to
      // give) is asked again, against the new total.
      var post = field.getAttribute("hx-post");
      var path = post || field.getAttribute("hx-get");
      if (path && window.htmx) {
        window.htmx.ajax(post ? "POST" : "GET", path, {
          source: field,
          target: field.getAttribute("hx-target") || field,
          swap: field.getAttribute("hx-swap") || "innerHTML",
        });
      }
    });
    var focused = was.focused && document.getElementById(was.focused.id);
    if (focused && !focused.disabled) {
      // htmx gave the focus back before the section was open again: give it here.
      if (document.activeElement !== focused) { focused.focus({ preventScroll: true }); }
      if (was.focused.start !== null) {
        try {
          focused.setSelectionRange(was.focused.start, was.focused.end);
        } catch (ignored) { /* a field without a caret (type=email…) */ }
      }
    }
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var queued = fromQueue(event);
    if (queued) { restoreKept(); }
    var targetId = event.detail.target.id;
    if (targetId === "change" || targetId === "pay-change") { return; }
    if (targetId === "payment-panel") {
      // A payment recorded or refused: the field an error is about, else the focus stays.
      var invalid = document.querySelector("#payment-panel [aria-invalid=true]");
      if (invalid) { invalid.focus(); invalid.select(); }
      return;
    }
    if (targetId === "customer") {
      // Found: Enter opens their latest cart. Not found: correct what was typed.
      // (an outerHTML swap's event target is the element replaced: look the new one up)
      var open = document.querySelector("#customer .open-cart");
      var find = document.getElementById("find");
      if (open) { open.focus(); } else if (find) { find.focus(); find.select(); }
      return;
    }
    var panel = document.getElementById("customer");
    var customerForm = document.getElementById("customer-form");
    var findField = document.getElementById("find");
    if (!queued && customerForm && panel && !panel.children.length &&
        document.activeElement !== findField) {
      customerForm.reset();  // a cart was opened (or sold): the search is done
    }
    // A live stock refresh is not the seller's doing: leave the focus (and a tablet's
    // keyboard) where it is.
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (source && source.hasAttribute &&
        (source.hasAttribute("data-live-stock") || source.hasAttribute("data-live"))) { return; }
    var input = scan();
    if (input && !sellerElsewhere()) { input.focus(); }
  });
})();
