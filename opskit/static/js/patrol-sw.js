/* opskit service worker (served as /sw.js): keeps the patrol round pages usable offline.
 *
 * - /static/vendor/ (versioned URLs): cache first.
 * - patrol pages, photos and the other static files: network first; a successful answer
 *   refreshes the cache, a failed request (offline, server gone) is answered from the cache,
 *   and so is one the network has not answered within 5 s (weak Wi-Fi).
 * Everything else (other pages, every POST) goes to the network untouched: the page's own
 * IndexedDB queue handles writes.
 * Logging out (static/js/logout.js, on the logout button and on the login page) deletes this
 * origin's caches and unregisters this worker: a shared tablet keeps no page for the next user.
 */
"use strict";

var CACHE = "opskit-patrol-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function cacheable(url) {
  return url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/patrol/rounds") === 0 ||
    url.pathname.indexOf("/patrol/photos/") === 0;
}

var SLOW_NETWORK_MS = 5000; // weak Wi-Fi: after this, a cached copy is shown meanwhile

function later(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

async function networkFirst(request) {
  var cache = await caches.open(CACHE);
  var network = fetch(request).then(async function (response) {
    if (response.ok && !response.redirected && response.type === "basic") {
      await cache.put(request, response.clone());
    }
    return response;
  });
  network.catch(function () {}); // a late failure after the cached copy was shown is fine
  var slow = later(SLOW_NETWORK_MS).then(async function () {
    return (await cache.match(request)) || network;
  });
  try {
    return await Promise.race([network, slow]);
  } catch (err) {
    var cached = await cache.match(request);
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  var cache = await caches.open(CACHE);
  var cached = await cache.match(request);
  if (cached) return cached;
  return networkFirst(request);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || !cacheable(url)) return;
  if (url.pathname.indexOf("/static/vendor/") === 0) {
    event.respondWith(cacheFirst(request));
  } else {
    event.respondWith(networkFirst(request));
  }
});
