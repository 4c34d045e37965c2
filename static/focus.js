// Focus after htmx swaps, driven by attributes (docs/contracts.md, "Focus after a swap").
// After a swap (main or out-of-band), focus goes to, in this order:
//   1. an element the response marked with [data-focus] (the new row, the ticked box, a message),
//      anywhere in the page; the mark is removed once used;
//   2. the first invalid field ([aria-invalid="true"]) in the swapped content (a form with errors);
//   3. the swapped element itself when it carries data-focus-self (an updated form or row);
//   4. an error put in #error-area (htmx's error responses are retargeted there).
// Elements that are not focusable get tabindex="-1". Polls (hx-trigger="every ...") never move
// focus, so nothing is stolen while the gardener types.
(function () {
  "use strict";

  function focusOn(element) {
    if (!element) return false;
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  function within(root, selector) {
    if (!root || !root.querySelector) return null;
    return root.matches && root.matches(selector) ? root : root.querySelector(selector);
  }

  // What was typed into [data-keep-typed] fields survives a swap of their form (a secret the
  // server does not echo back after an error, e.g. the Discord webhook URL).
  var typed = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    typed = {};
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll("[data-keep-typed]").forEach(function (input) {
      if (input.id && input.value) typed[input.id] = input.value;
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var ok = event.detail && event.detail.xhr && event.detail.xhr.status < 300;
    Object.keys(typed).forEach(function (id) {
      var input = document.getElementById(id);
      if (!ok && input && input.hasAttribute("data-keep-typed") && !input.value) input.value = typed[id];
    });
    typed = {};
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    var requester = detail.requestConfig && detail.requestConfig.elt;
    if (requester && /every\s/.test(requester.getAttribute("hx-trigger") || "")) return;  // a poll
    var marked = document.querySelector("[data-focus]");
    if (marked) {
      marked.removeAttribute("data-focus");
      focusOn(marked);
      return;
    }
    var target = detail.target;
    if (!target || !target.isConnected) target = detail.elt;
    if (!target || !target.isConnected) return;
    if (target.id === "error-area") {
      focusOn(target.querySelector(".flash") || target);
      return;
    }
    var chosen = within(target, '[aria-invalid="true"]');
    if (!chosen && target.hasAttribute("data-focus-self")) chosen = target;
    if (chosen) focusOn(chosen);
  });
})();
