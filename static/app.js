// PlantOps' only script besides htmx: error area, dismiss buttons, copy buttons.
(function () {
  "use strict";

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
    showError("Could not reach PlantOps. Check your connection and try again.");
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var area = document.getElementById("error-area");
    if (area) area.textContent = "";
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("[data-dismiss]")) {
      target.closest(".flash").remove();
    }
    var copy = target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          copy.textContent = "Copied";
        });
      }
    }
  });
})();
