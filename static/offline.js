// The offline page: shows the last dashboard this browser saved (static/sw.js) and its age.
(function () {
  "use strict";
  var status = document.getElementById("offline-age");
  var target = document.getElementById("offline-dashboard");
  function age(seconds) {
    if (seconds < 90) return "less than a minute";
    if (seconds < 5400) return Math.round(seconds / 60) + " minutes";
    if (seconds < 129600) return Math.round(seconds / 3600) + " hours";
    return Math.round(seconds / 86400) + " days";
  }
  if (!("caches" in window)) return;
  caches.open("plantops-last-dashboard").then(function (cache) {
    return cache.match(target.getAttribute("data-dashboard"));
  }).then(function (response) {
    if (!response) return;
    var savedAt = new Date(response.headers.get("X-Saved-At"));
    return response.text().then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      var cards = page.getElementById("plant-cards") || page.querySelector("main");
      if (!cards) return;
      var seconds = Math.max(0, (Date.now() - savedAt.getTime()) / 1000);
      var time = document.createElement("time");
      time.dateTime = savedAt.toISOString();
      time.textContent = age(seconds) + " ago";
      status.textContent = "Your plants as PlantOps last showed them, ";
      status.appendChild(time);
      status.appendChild(document.createTextNode(" (" + savedAt.toLocaleString() + "). Readings may have changed since."));
      cards.querySelectorAll("form, [hx-get], [hx-post], [hx-trigger]").forEach(function (node) {
        node.removeAttribute("hx-get"); node.removeAttribute("hx-post"); node.removeAttribute("hx-trigger");
        if (node.tagName === "FORM") node.remove();
      });
      cards.removeAttribute("id");
      target.appendChild(document.importNode(cards, true));
    });
  });
})();
