/* Logging out on a shared tablet (every page).
 *
 * - 退出登录 (#logout-form): if this user's patrol outbox (IndexedDB "opskit-patrol", kept by
 *   patrol.js) is not empty, ask first: the entries stay on the tablet for this user and are
 *   sent when the same user logs in again. Then the pages kept for offline use are deleted
 *   (every Cache API cache of this origin) and the service worker unregistered, and the logout
 *   is posted. The server's answer carries Clear-Site-Data: "cache" for the HTTP cache.
 * - The login page does the same clean-up again (a logout that did not go through this button,
 *   a session that ended, a page that kept caching while the logout ran): a tablet showing the
 *   login page keeps no page of the site for offline use.
 * - Every page lists the entries other users left on the tablet, which it does not send.
 * The outbox and the unsent answers are never deleted here; the database is never created.
 */
(function () {
  "use strict";

  var DB_NAME = "opskit-patrol";
  var session = document.getElementById("opskit-user");
  var me = session ? { id: session.dataset.id, name: session.dataset.name } : null;
  var texts = (document.getElementById("opskit-outbox-strings") || { dataset: {} }).dataset;

  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_m, k) {
      return values[k] === undefined ? "" : values[k];
    });
  }

  // an entry queued before entries named their user is tried by whoever is logged in: the
  // server refuses it unless that user started its round (patrol.js then names the owner)
  function ownedBy(entry, user) {
    return !entry.user || Boolean(user && String(entry.user.id) === String(user.id));
  }

  function promised(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function openExisting() {
    // the patrol database if this tablet has one; opening must not create it (patrol.js makes
    // it with its stores, which a version-1 database made here would lack)
    return new Promise(function (resolve) {
      if (!window.indexedDB) { resolve(null); return; }
      var request;
      try { request = window.indexedDB.open(DB_NAME); } catch (err) { resolve(null); return; }
      request.onupgradeneeded = function () { request.transaction.abort(); };
      request.onsuccess = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("outbox")) { db.close(); resolve(null); return; }
        db.onversionchange = function () { db.close(); };
        resolve(db);
      };
      request.onerror = function (event) { event.preventDefault(); resolve(null); };
      request.onblocked = function () { resolve(null); };
    });
  }

  async function queued() {
    var db = await openExisting();
    if (!db) return [];
    try {
      return await promised(db.transaction("outbox").objectStore("outbox").getAll());
    } catch (err) {
      return [];
    } finally {
      db.close();
    }
  }

  async function pruneAnswers() {
    // the answers kept as a copy of what is already on the server go; those of a round with
    // entries still queued stay (they show the round as typed when its user is back)
    var db = await openExisting();
    if (!db) return;
    try {
      var entries = await promised(db.transaction("outbox").objectStore("outbox").getAll());
      var waiting = {};
      entries.forEach(function (e) { waiting[e.client_id] = true; });
      var answers = await promised(db.transaction("answers").objectStore("answers").getAll());
      var done = answers.filter(function (a) { return !waiting[a.client_id]; });
      if (!done.length) return;
      var tx = db.transaction("answers", "readwrite");
      done.forEach(function (a) { tx.objectStore("answers").delete(a.key); });
      await new Promise(function (resolve) { tx.oncomplete = resolve; tx.onabort = resolve; tx.onerror = resolve; });
    } catch (err) {
      /* nothing to prune */
    } finally {
      db.close();
    }
  }

  async function forgetOffline() {
    // the pages, photos and scripts kept for offline use, and the worker that served them
    var work = [];
    try {
      if ("caches" in window) {
        (await window.caches.keys()).forEach(function (name) { work.push(window.caches.delete(name)); });
      }
      if ("serviceWorker" in navigator) {
        (await navigator.serviceWorker.getRegistrations()).forEach(function (registration) {
          work.push(registration.unregister());
        });
      }
    } catch (err) { /* no secure context: nothing was kept */ }
    await Promise.all(work.map(function (p) { return p.catch(function () {}); }));
    await pruneAnswers();
  }

  async function showWaiting() {
    // the entries of other users: kept, not sent by this user's pages
    var box = document.getElementById("outbox-waiting");
    if (!box) return;
    var owners = {};
    (await queued()).forEach(function (entry) {
      if (!entry.user || ownedBy(entry, me)) return;
      var key = String(entry.user.id);
      owners[key] = owners[key] || { name: entry.user.name, n: 0 };
      owners[key].n += 1;
    });
    var lines = Object.keys(owners).map(function (key) {
      return fill(texts.waiting, { n: owners[key].n, name: owners[key].name });
    });
    box.textContent = lines.join(" ");
    box.hidden = !lines.length;
  }

  async function logOut(form) {
    var button = form.querySelector("button[type=submit]");
    var mine = 0;
    try {
      mine = (await queued()).filter(function (e) { return ownedBy(e, me); }).length;
    } catch (err) { mine = 0; }
    if (mine && !window.confirm(fill(session.dataset.confirmLogout, { n: mine, name: me.name }))) return;
    if (button) button.disabled = true;
    await forgetOffline();
    var response = null;
    try {
      response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual",
      });
    } catch (err) {
      response = null;
    }
    if (response && (response.type === "opaqueredirect" || response.ok)) {
      window.location.replace(form.dataset.next);
    } else if (response) {
      HTMLFormElement.prototype.submit.call(form); // the server's own answer (an expired form...)
    } else {
      if (button) button.disabled = false;
      window.alert(session.dataset.logoutUnreachable);
    }
  }

  var form = document.getElementById("logout-form");
  if (form && session) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      logOut(form).catch(function () { HTMLFormElement.prototype.submit.call(form); });
    });
  }

  async function start() {
    if (document.getElementById("login-page")) {
      await forgetOffline();
      document.documentElement.dataset.offlineForgotten = "1";
    }
    await showWaiting();
    document.addEventListener("opskit:outbox", function () { showWaiting(); });
  }

  start();
})();
