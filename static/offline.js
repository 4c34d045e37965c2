// The offline page: shows the last dashboard this browser saved (static/sw.js) and its age.
(function () {
  "use strict";
  var status = document.getElementById("offline-age");
  var target = document.getElementById("offline-dashboard");
  // The page's words (<body data-i18n>, app/i18n.py js_strings); English without them.
  var words = {};
  try {
    words = JSON.parse(document.body.dataset.i18n);
  } catch (error) { /* no catalog: English */ }
  function say(key, english, num) {
    return (words[key] || english).replace("{num}", num);
  }
  function ago(seconds) {
    if (seconds < 90) return say("less_than_a_minute_ago", "less than a minute ago");
    if (seconds < 5400) return say("minutes_ago", "{num} minutes ago", Math.round(seconds / 60));
    if (seconds < 129600) return say("hours_ago", "{num} hours ago", Math.round(seconds / 3600));
    return say("days_ago", "{num} days ago", Math.round(seconds / 86400));
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
      time.textContent = ago(seconds);
      var sentence = say("offline_status", "Your plants as PlantOps last showed them, {age} ({time}). Readings may have changed since.")
        .replace("{time}", savedAt.toLocaleString(document.documentElement.lang || undefined));
      var parts = sentence.split("{age}");
      status.textContent = parts[0];
      status.appendChild(time);
      status.appendChild(document.createTextNode(parts.slice(1).join("")));
      cards.querySelectorAll("form, [hx-get], [hx-post], [hx-trigger]").forEach(function (node) {
        node.removeAttribute("hx-get"); node.removeAttribute("hx-post"); node.removeAttribute("hx-trigger");
        if (node.tagName === "FORM") node.remove();
      });
      cards.removeAttribute("id");
      target.appendChild(document.importNode(cards, true));
    });
  });
})();
