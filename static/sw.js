// PlantOps' service worker (served as /sw.js by app/pwa.py, which fills in SETTINGS).
// Static files: cache first (their cache name changes with their content). Pages: always
// the network (they are personal and no-store); when it fails, the offline page. The last
// dashboard page loaded is kept in this browser, so the offline page can show it with its
// age; signing out deletes it.
"use strict";
var SETTINGS = /*SETTINGS*/{};
var SHELL = "plantops-shell-" + SETTINGS.version;
var LAST = "plantops-last-dashboard";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) { return cache.addAll(SETTINGS.shell); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("plantops-shell-") === 0 && name !== SHELL;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keepDashboard(response) {
  // A copy of the dashboard page with the moment it was saved.
  return response.clone().text().then(function (html) {
    var saved = new Response(html, {
      headers: { "Content-Type": "text/html; charset=utf-8", "X-Saved-At": new Date().toISOString() },
    });
    return caches.open(LAST).then(function (cache) { return cache.put(SETTINGS.dashboard, saved); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === SETTINGS.logout) {
    event.waitUntil(caches.delete(LAST));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (response) {
        if (url.pathname === SETTINGS.dashboard && !url.search && response.ok && !response.redirected) {
          event.waitUntil(keepDashboard(response));
        }
        if (response.redirected && new URL(response.url).pathname.indexOf("/auth/login") >= 0) {
          event.waitUntil(caches.delete(LAST));  // signed out elsewhere, or expired
        }
        return response;
      }).catch(function () {
        return caches.match(SETTINGS.offline);
      })
    );
    return;
  }
  if (SETTINGS.shell.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  }
});
