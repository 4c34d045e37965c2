// PlantOps' script besides htmx and focus.js: error area, dismiss buttons, copy buttons, chart read-outs, the service worker.
(function () {
  "use strict";
  // The page's words for what this script writes (<body data-i18n>, app/i18n.py js_strings); English without them.
  var words = {};
  try {
    words = JSON.parse(document.body.dataset.i18n);
  } catch (error) { /* no catalog: English */ }
  function say(key, english) {
    return words[key] || english;
  }

  function showError(message) {
    var area = document.getElementById("error-area");
    if (!area) return;
    area.textContent = "";
    var box = document.createElement("div");
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    box.textContent = message;
    area.appendChild(box);
  }

  document.addEventListener("htmx:sendError", function () {
    showError(say("send_error", "Could not reach PlantOps. Check your connection and try again."));
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var area = document.getElementById("error-area");
    if (area) area.textContent = "";
  });

  // Charts: the value and time of the part of a chart hovered or tapped, read out below it.
  function readout(target) {
    var point = target.closest && target.closest(".chart-point");
    if (!point) return;
    var figure = point.closest("figure");
    var line = figure && figure.querySelector(".chart-readout");
    if (line) line.textContent = point.getAttribute("data-readout");
  }
  document.addEventListener("pointerover", function (event) {
    if (event.target instanceof Element) readout(event.target);
  });

  // Registration takes the browser's timezone (the server keeps UTC for a name it does not know).
  document.querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
    try {
      input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) { /* no Intl: UTC */ }
  });

  // The installable app's service worker (static/sw.js, served at the app's root by app/pwa.py).
  if ("serviceWorker" in navigator && document.body && document.body.dataset.serviceWorker) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(document.body.dataset.serviceWorker).catch(function () {});
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    readout(target);
    if (target.matches("[data-dismiss]")) {
      target.closest(".flash").remove();
    }
    var copy = target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          copy.textContent = say("copied", "Copied");
        });
      }
    }
  });
})();

// The plant page's live regions are swapped out of band: keep the focused control focused.
(function () {
  "use strict";
  var focusedId = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target && event.target.id === "plant-poller") {
      focusedId = document.activeElement && document.activeElement.id ? document.activeElement.id : null;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedId) return;
    var again = document.getElementById(focusedId);
    if (again && document.activeElement !== again && (document.activeElement === document.body || !document.activeElement)) {
      again.focus({ preventScroll: true });
    }
  });
})();
