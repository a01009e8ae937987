/* Patrol rounds on the tablet.
 *
 * Every answer is written to IndexedDB the moment it is entered and sent to the server; a
 * request that fails (no network, server gone, Wi-Fi dead zone) is queued in IndexedDB
 * ("outbox") and resent in order when the server answers again. navigator.onLine is never
 * trusted: only a failed request counts as offline. Every request carries the round's client
 * id (and each photo its own id), so resending never duplicates anything on the server.
 * The service worker (/sw.js) and the page cache keep the round pages usable offline.
 *
 * Tablets are shared: every queued entry (and kept answer and round) names the user who made
 * it, and a page sends only its own user's entries, with that user's id in a header the server
 * checks. Other users' entries wait for them (logout.js lists them on every page).
 */
(function () {
  "use strict";

  var DB_NAME = "opskit-patrol";
  var CACHE = "opskit-patrol-v1";
  var FLUSH_EVERY_MS = 3000;
  var SEND_DELAY_MS = 700;
  var PHOTO_MAX_SIDE = 1600;

  var dbPromise = null;
  var flushing = false;
  var root = document.getElementById("patrol-round");
  var strings = (document.getElementById("patrol-strings") || { dataset: {} }).dataset;
  var session = document.getElementById("opskit-user");
  var me = session ? { id: session.dataset.id, name: session.dataset.name } : null;
  var wrongUser = false; // the session is another user's now: this page sends nothing more

  function openDb() {
    if (!dbPromise) {
      dbPromise = window.idb.openDB(DB_NAME, 1, {
        upgrade: function (db) {
          db.createObjectStore("answers", { keyPath: "key" });
          db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
          db.createObjectStore("rounds", { keyPath: "client_id" });
        },
      });
    }
    return dbPromise;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_m, k) {
      return values[k] === undefined ? "" : values[k];
    });
  }

  // --- whose entry ---------------------------------------------------------------------------

  function mine(record) {
    // records kept before they named their user count as this user's: the server still
    // refuses one for a round another user started (see deliver)
    var owner = record && (record.user ? record.user.id : record.user_id);
    return owner === undefined || owner === null || Boolean(me && String(owner) === String(me.id));
  }

  function outboxChanged() {
    document.dispatchEvent(new CustomEvent("opskit:outbox"));
  }

  // --- network: deliver one request; a failure means "offline" ------------------------------

  async function deliver(entry) {
    var init = {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    };
    if (entry.user) init.headers["X-Opskit-Queued-By"] = String(entry.user.id);
    if (entry.kind === "photo") {
      var form = new FormData();
      Object.keys(entry.fields).forEach(function (k) { form.append(k, entry.fields[k]); });
      form.append("photo", entry.blob, entry.fields.photo_id + ".jpg");
      init.body = form;
    } else {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(entry.json);
    }
    var response;
    try {
      response = await fetch(entry.url, init);
    } catch (err) {
      return { retry: true };
    }
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected || type.indexOf("json") < 0) {
      // a login page (session ended) or an error page from a proxy: keep it queued
      return { retry: true, login: response.redirected };
    }
    var body = null;
    try { body = await response.json(); } catch (err) { return { retry: true }; }
    if (response.ok) return { ok: true, json: body };
    if (response.status >= 500) return { retry: true };
    if (body && body.error === "queued_by_other") return { retry: true, wrongUser: true };
    if (body && body.error === "not_owner" && !entry.user && body.owner && body.owner.id != null) {
      return { retry: true, owner: body.owner }; // an unnamed old entry: keep it for its owner
    }
    return { ok: false, status: response.status, json: body };
  }

  async function outboxCount() {
    // this user's entries (the others' are not this page's to send)
    var db = await openDb();
    return (await db.getAll("outbox")).filter(mine).length;
  }

  async function enqueue(entry) {
    var db = await openDb();
    await db.add("outbox", entry);
  }

  async function nextEntry(db) {
    // the oldest entry of this user, in queue order
    var cursor = await db.transaction("outbox").store.openCursor();
    while (cursor) {
      if (mine(cursor.value)) return cursor.value;
      cursor = await cursor.continue();
    }
    return null;
  }

  function otherSession() {
    // a page of a user who has logged out, with another user's session in the browser now
    wrongUser = true;
    banner(fill(session && session.dataset.otherSession, { name: me ? me.name : "" }));
  }

  async function send(entry) {
    entry.user = me;
    if (!wrongUser && (await outboxCount()) === 0) {
      var result = await deliver(entry);
      if (result.wrongUser) otherSession();
      if (!result.retry) {
        setNet(true, 0);
        handleResult(entry, result);
        return result;
      }
      setNet(false, 1, result.login);
    }
    await enqueue(entry);
    await updateQueue();
    flush();
    return { queued: true };
  }

  async function flush() {
    if (flushing || wrongUser) return;
    flushing = true;
    try {
      var db = await openDb();
      for (;;) {
        var entry = await nextEntry(db);
        if (!entry) break;
        var result = await deliver(entry);
        if (result.owner) {
          entry.user = { id: result.owner.id, name: result.owner.name };
          await db.put("outbox", entry);
          continue;
        }
        if (result.wrongUser) {
          otherSession();
          break;
        }
        if (result.retry) {
          setNet(false, await outboxCount(), result.login);
          break;
        }
        await db.delete("outbox", entry.seq);
        setNet(true, await outboxCount());
        handleResult(entry, result);
      }
    } finally {
      flushing = false;
      await updateQueue();
      outboxChanged();
      // how many times this page went through its queue (tests wait for a pass)
      var html = document.documentElement;
      html.dataset.patrolFlushes = String(Number(html.dataset.patrolFlushes || 0) + 1);
    }
  }

  function handleResult(entry, result) {
    if (!root || entry.client_id !== root.dataset.clientId) {
      if (entry.kind === "submit" && result.ok) markSubmitted(entry.client_id);
      return;
    }
    if (entry.kind === "answer") {
      var el = fieldElement(entry.json.target + "/" + entry.json.checklist + "/" + entry.json.item);
      if (el && result.ok) applyServerOutcome(el, result.json);
      else if (el && result.json) showFieldError(el, result.json.message || "");
    } else if (entry.kind === "submit") {
      if (result.ok) {
        markSubmitted(entry.client_id).then(function () {
          window.location.href = result.json.url;
        });
      } else {
        showSubmitErrors(result.json || {});
      }
    } else if (entry.kind === "start" && !result.ok) {
      banner((result.json && result.json.message) || strings.startFailed || "");
    } else if (entry.kind === "photo" && !result.ok && result.json) {
      var pel = fieldElement(entry.fields.target + "/" + entry.fields.checklist + "/" + entry.fields.item);
      if (pel) showFieldError(pel, result.json.message || "");
    }
  }

  async function markSubmitted(clientId) {
    // the server has the round: keep only a note of it, drop its answers from the tablet
    var db = await openDb();
    var kept = (await db.get("rounds", clientId)) || { client_id: clientId };
    await db.put("rounds", Object.assign(kept, { submitted: true, at: new Date().toISOString() }));
    var keys = await db.getAllKeys("answers");
    for (var i = 0; i < keys.length; i++) {
      if (String(keys[i]).indexOf(clientId + "|") === 0) await db.delete("answers", keys[i]);
    }
  }

  async function updateQueue() {
    var n = await outboxCount();
    var badge = document.getElementById("patrol-net");
    if (badge && badge.dataset.state === "offline") {
      badge.textContent = strings.offline + (n ? " · " + fill(strings.queued, { n: n }) : "");
    }
    return n;
  }

  function setNet(online, queued, login) {
    var badge = document.getElementById("patrol-net");
    if (!badge) return;
    badge.dataset.state = online ? "online" : "offline";
    badge.textContent = online ? strings.online : strings.offline +
      (queued ? " · " + fill(strings.queued, { n: queued }) : "");
    if (login) banner(strings.login);
  }

  function banner(text) {
    var el = document.getElementById("patrol-banner");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  // --- judging an answer on the tablet (the server judges again and wins) --------------------

  function num(v) {
    if (v === "" || v === undefined || v === null) return null;
    var n = Number(String(v).trim().replace(",", "."));
    return isFinite(n) ? n : null;
  }

  function judge(el, value) {
    var d = el.dataset;
    if (value === "") return { level: "" };
    if (d.kind === "check") {
      return value === "fail" ? { level: d.failLevel || "warning", message: strings.failed } : { level: "ok" };
    }
    if (d.kind === "choice") {
      var opt = el.querySelector('input[type=radio][value="' + CSS.escape(value) + '"]');
      var level = opt ? opt.dataset.level : "invalid";
      return level === "ok" ? { level: "ok" } : { level: level, message: strings.option };
    }
    if (d.kind === "reading") {
      var v = num(value);
      if (v === null) return { level: "invalid", message: strings.nan, band: "" };
      var unit = (el.querySelector(".input-group-text") || {}).textContent || "";
      var b = readingBand(d, v);
      if (b.band === "critical" || b.band === "warning") {
        return { level: b.band, band: b.band, message: fill(b.above ? strings.above : strings.below, { limit: b.limit + unit }) };
      }
      return { level: "ok", band: b.band };
    }
    return { level: "ok" };
  }

  function readingBand(d, v) {
    // the band of reading v by the limits the server judges it with (the item's data-*, from
    // inspections.limits.limit_data), tested in the order of checklists._judge_reading; every
    // limit is inclusive on the acceptable side
    var chigh = num(d.chigh), clow = num(d.clow), whigh = num(d.whigh), wlow = num(d.wlow);
    var nmax = num(d.nmax), nmin = num(d.nmin);
    if (chigh !== null && v > chigh) return { band: "critical", limit: chigh, above: true };
    if (clow !== null && v < clow) return { band: "critical", limit: clow, above: false };
    if (whigh !== null && v > whigh) return { band: "warning", limit: whigh, above: true };
    if (wlow !== null && v < wlow) return { band: "warning", limit: wlow, above: false };
    if ((nmax !== null && v > nmax) || (nmin !== null && v < nmin)) return { band: "outside_normal" };
    return { band: "normal" };
  }

  var BAND_TEXT = { outside_normal: "bandOutsideNormal", warning: "bandWarning", critical: "bandCritical" };

  function markBand(el, outcome) {
    // the badge beside the limits: the band of the typed value, or (none typed) of the
    // monitored value the round offers; worked out on the tablet, so it marks offline too
    var badge = el.querySelector(".patrol-band");
    if (!badge) return;
    var value = currentValue(el);
    var band = outcome.band;
    var source = "entered";
    if (value === "") {
      var monitored = num(el.dataset.monitored);
      band = monitored === null ? "" : readingBand(el.dataset, monitored).band;
      source = "monitored";
    } else if (band === undefined) {
      band = judge(el, value).band || "";
    }
    var text = BAND_TEXT[band] ? strings[BAND_TEXT[band]] : "";
    badge.dataset.band = band || "";
    badge.dataset.source = source;
    badge.textContent = text || "";
    badge.hidden = !text;
  }

  function currentValue(el) {
    var kind = el.dataset.kind;
    if (kind === "check" || kind === "choice") {
      var checked = el.querySelector("input[type=radio]:checked");
      return checked ? checked.value : "";
    }
    var input = el.querySelector(".patrol-value");
    return input ? input.value.trim() : "";
  }

  function currentNote(el) {
    var note = el.querySelector(".patrol-note");
    return note ? note.value.trim() : "";
  }

  function render(el, outcome) {
    var level = outcome.level || "";
    el.dataset.level = level;
    var flag = el.querySelector(".patrol-flag");
    var abnormal = level === "warning" || level === "critical" || level === "invalid";
    if (flag) {
      flag.hidden = !abnormal;
      flag.dataset.level = level;
      flag.textContent = abnormal ? "⚠ " + (strings[level] || level) + (outcome.message ? ": " + outcome.message : "") : "";
    }
    var extra = el.querySelector(".patrol-extra");
    if (extra) {
      extra.hidden = !(abnormal || currentNote(el) || el.dataset.kind === "photo" || Number(el.dataset.photos) > 0);
    }
    var disagree = el.querySelector(".patrol-disagree");
    if (disagree) {
      var v = num(currentValue(el)), m = num(el.dataset.monitored), tol = num(el.dataset.tolerance);
      disagree.hidden = !(v !== null && m !== null && tol !== null && Math.abs(v - m) > tol);
    }
    if (!abnormal || currentNote(el)) clearFieldError(el);
    markBand(el, outcome);
  }

  function applyServerOutcome(el, json) {
    if (json.value !== currentValue(el)) return; // the engineer has typed on since
    render(el, { level: json.level, message: json.message, band: json.band });
    var disagree = el.querySelector(".patrol-disagree");
    if (disagree) disagree.hidden = !json.disagrees;
  }

  function showFieldError(el, text) {
    var box = el.querySelector(".patrol-error");
    if (box) { box.textContent = text; box.hidden = !text; }
  }

  function clearFieldError(el) { showFieldError(el, ""); }

  function fieldElement(field) {
    return root ? root.querySelector('.patrol-item[data-field="' + CSS.escape(field) + '"]') : null;
  }

  function progress() {
    if (!root) return;
    var items = root.querySelectorAll(".patrol-item");
    var done = 0;
    items.forEach(function (el) {
      if (currentValue(el) !== "" || Number(el.dataset.photos) > 0) done += 1;
    });
    var total = Number(document.getElementById("patrol-progress").dataset.total) || items.length;
    document.getElementById("patrol-progress").textContent = done + " / " + total;
    document.getElementById("patrol-progress-bar").style.width = (total ? Math.round(100 * done / total) : 100) + "%";
  }

  // --- saving answers -----------------------------------------------------------------------

  function answerOf(el, answeredAt) {
    var d = el.dataset;
    return {
      target: d.target,
      checklist: d.checklist,
      item: d.item,
      value: currentValue(el),
      note: currentNote(el),
      answered_at: answeredAt || d.answeredAt || new Date().toISOString(),
      monitored_value: d.monitored === "" ? null : Number(d.monitored),
      monitored_at: d.monitoredAt || null,
    };
  }

  var timers = {};

  async function keep(el) {
    // written to the tablet at once: a reload or a dropped Wi-Fi loses nothing
    var answer = answerOf(el, new Date().toISOString());
    el.dataset.answeredAt = answer.answered_at;
    try {
      var db = await openDb();
      await db.put("answers", Object.assign({ key: root.dataset.clientId + "|" + el.dataset.field,
        client_id: root.dataset.clientId, user_id: me ? me.id : null }, answer));
    } catch (err) { /* no IndexedDB (private mode): the server copy is all there is */ }
    return answer;
  }

  function changed(el, later) {
    render(el, judge(el, currentValue(el)));
    progress();
    var field = el.dataset.field;
    clearTimeout(timers[field]);
    var saved = keep(el);
    var go = function () {
      delete timers[field];
      saved.then(function (answer) {
        return send({ kind: "answer", client_id: root.dataset.clientId,
          url: root.dataset.answersUrl, json: answer });
      });
    };
    if (later) timers[field] = setTimeout(go, SEND_DELAY_MS);
    else go();
  }

  async function sendPendingNow() {
    var fields = Object.keys(timers);
    fields.forEach(function (field) { clearTimeout(timers[field]); delete timers[field]; });
    for (var i = 0; i < fields.length; i++) {
      var el = fieldElement(fields[i]);
      if (el) {
        await send({ kind: "answer", client_id: root.dataset.clientId,
          url: root.dataset.answersUrl, json: answerOf(el) });
      }
    }
  }

  async function restore() {
    // answers kept on this tablet win over the (possibly cached) page
    var db = await openDb();
    var all = await db.getAll("answers");
    all.forEach(function (a) {
      if (a.client_id !== root.dataset.clientId || !mine(a)) return;
      var el = fieldElement(a.target + "/" + a.checklist + "/" + a.item);
      if (!el) return;
      var shown = Date.parse(el.dataset.answeredAt || "");
      if (el.dataset.value !== "" && shown >= Date.parse(a.answered_at)) return;
      setValue(el, a.value);
      var note = el.querySelector(".patrol-note");
      if (note) note.value = a.note || "";
      el.dataset.answeredAt = a.answered_at;
    });
    var round = await db.get("rounds", root.dataset.clientId);
    var queued = (await db.getAll("outbox")).filter(mine);
    if (queued.some(function (e) { return e.kind === "submit" && e.client_id === root.dataset.clientId; })) {
      banner(strings.submitQueued);
    } else if (round && round.submitted) {
      banner(strings.submitted);
    }
    var photos = {};
    queued.forEach(function (e) {
      if (e.kind === "photo" && e.client_id === root.dataset.clientId) {
        var f = e.fields.target + "/" + e.fields.checklist + "/" + e.fields.item;
        (photos[f] = photos[f] || []).push(e);
      }
    });
    Object.keys(photos).forEach(function (f) {
      var el = fieldElement(f);
      if (!el) return;
      photos[f].forEach(function (e) { addThumb(el, e.blob, e.fields.photo_id); });
    });
  }

  function setValue(el, value) {
    var kind = el.dataset.kind;
    if (kind === "check" || kind === "choice") {
      el.querySelectorAll("input[type=radio]").forEach(function (r) { r.checked = r.value === value; });
    } else {
      var input = el.querySelector(".patrol-value");
      if (input) input.value = value;
    }
  }

  // --- photos -------------------------------------------------------------------------------

  var photosInFlight = []; // resized/queued before the submission goes, never after it

  async function resize(file) {
    var bitmap = await createImageBitmap(file);
    var scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); });
  }

  function addThumb(el, blob, photoId) {
    var thumbs = el.querySelector(".patrol-thumbs");
    if (!thumbs || thumbs.querySelector('[data-photo-id="' + photoId + '"]')) return;
    var img = document.createElement("img");
    img.className = "patrol-thumb";
    img.alt = "";
    img.dataset.photoId = photoId;
    img.src = URL.createObjectURL(blob);
    thumbs.appendChild(img);
  }

  async function photoChosen(el, input) {
    var file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) {
      showFieldError(el, strings.photoType);
      return;
    }
    var blob = await resize(file);
    var photoId = randomId();
    addThumb(el, blob, photoId);
    el.dataset.photos = String(Number(el.dataset.photos || 0) + 1);
    render(el, judge(el, currentValue(el)));
    progress();
    await sendPendingNow(); // the answer goes before its photo
    var result = await send({
      kind: "photo", client_id: root.dataset.clientId, url: root.dataset.photosUrl, blob: blob,
      fields: { photo_id: photoId, target: el.dataset.target, checklist: el.dataset.checklist,
        item: el.dataset.item },
    });
    if (result.queued) showFieldError(el, strings.photoQueued);
  }

  // --- signature ----------------------------------------------------------------------------

  var signature = null; // the round's signature pad (static/js/signature.js)

  function signaturePad() {
    var canvas = document.getElementById("signature-pad");
    if (!canvas || !window.OpskitSignature) return;
    signature = window.OpskitSignature.pad(canvas, document.getElementById("signature-clear"));
  }

  function signatureDrawn() {
    return signature !== null && signature.drawn();
  }

  // --- submit -------------------------------------------------------------------------------

  function localErrors() {
    var errors = {};
    root.querySelectorAll(".patrol-item").forEach(function (el) {
      var value = currentValue(el);
      var outcome = judge(el, value);
      var field = el.dataset.field;
      if (el.dataset.kind === "photo") return;
      if (value === "" && el.dataset.required === "1") errors[field] = [strings.required];
      else if (outcome.level === "invalid") errors[field] = [outcome.message];
      else if ((outcome.level === "warning" || outcome.level === "critical") &&
               el.dataset.needsNote === "1" && !currentNote(el)) errors[field] = [strings.noteNeeded];
    });
    var name = document.getElementById("signature-name").value.trim();
    if (!name && !signatureDrawn()) errors.signature = [strings.sign];
    return errors;
  }

  function showSubmitErrors(json) {
    var errors = json.errors || {};
    root.querySelectorAll(".patrol-item").forEach(clearFieldError);
    var box = document.getElementById("patrol-errors");
    var first = null;
    var other = [];
    Object.keys(errors).forEach(function (field) {
      var el = fieldElement(field);
      if (el) {
        showFieldError(el, errors[field].join(" "));
        var extra = el.querySelector(".patrol-extra");
        if (extra) extra.hidden = false;
        first = first || el;
      } else {
        other.push(errors[field].join(" "));
      }
    });
    box.textContent = other.join(" ") || json.message || "";
    box.hidden = !box.textContent;
    if (first && root.classList.contains("patrol-single")) {
      var sections = Array.prototype.slice.call(root.querySelectorAll(".patrol-target"));
      showTarget(sections.indexOf(first.closest(".patrol-target")));
    }
    if (first) first.scrollIntoView({ block: "center" });
  }

  async function submitRound() {
    var button = document.getElementById("patrol-submit");
    var errors = localErrors();
    if (Object.keys(errors).length) {
      showSubmitErrors({ errors: errors });
      return;
    }
    button.disabled = true;
    await Promise.all(photosInFlight.slice()).catch(function () {});
    await sendPendingNow();
    var d = root.dataset;
    var answers = [];
    root.querySelectorAll(".patrol-item").forEach(function (el) {
      var a = answerOf(el);
      if (a.value !== "" || a.note !== "") answers.push(a);
    });
    var payload = {
      room_id: Number(d.roomId),
      plan_id: d.planId ? Number(d.planId) : null,
      checklist_keys: d.checklists.split(","),
      started_at: d.startedAt,
      scheduled_for: d.scheduledFor || null,
      answers: answers,
      signature_name: document.getElementById("signature-name").value.trim(),
      signature_image: signatureDrawn() ? signature.dataUrl() : "",
      signed_at: new Date().toISOString(),
    };
    var result = await send({ kind: "submit", client_id: d.clientId, url: d.submitUrl, json: payload });
    if (result.queued) {
      banner(strings.submitQueued);
    } else if (!result.ok) {
      button.disabled = false;
    }
  }

  // --- starting a round without the server -------------------------------------------------

  var CLIENT_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

  async function beginOffline() {
    // the page of a round that does not exist yet (kept by the start page for each slot): the
    // tablet makes the round's id (kept in the URL's #), queues the start before any answer,
    // and the outbox sends them in order when the server answers
    // an ad hoc round's page holds every checklist: the chosen ones follow the id in the #
    // ("#<id>;<key>,<key>")
    var d = root.dataset;
    var placeholder = d.offlineStart;
    var hash = window.location.hash.slice(1).split(";");
    var cid = hash[0];
    var chosen = hash[1] ? hash[1].split(",").filter(Boolean) : null;
    if (!CLIENT_ID_RE.test(cid)) {
      cid = randomId();
      window.history.replaceState(null, "", window.location.pathname + window.location.search + "#" + cid +
        (chosen ? ";" + chosen.join(",") : ""));
    }
    ["answersUrl", "photosUrl", "submitUrl", "roundUrl", "startUrl"].forEach(function (k) {
      d[k] = d[k].split(placeholder).join(cid);
    });
    d.clientId = cid;
    var db = await openDb();
    var known = await db.get("rounds", cid);
    if (known && known.checklist_keys) chosen = known.checklist_keys;
    if (chosen) onlyChecklists(chosen);
    if (known && known.submitted) {
      window.location.href = d.roundUrl;
      return;
    }
    if (known && known.started_at) {
      d.startedAt = known.started_at;
      return;
    }
    d.startedAt = new Date().toISOString();
    await db.put("rounds", { client_id: cid, started_at: d.startedAt, user_id: me ? me.id : null,
      offline_url: window.location.pathname + window.location.search,
      checklist_keys: chosen ? d.checklists.split(",") : null });
    await send({ kind: "start", client_id: cid, url: d.startUrl, json: {
      plan_id: d.planId ? Number(d.planId) : null,
      room_id: Number(d.roomId),
      checklist_keys: d.checklists.split(","),
      scheduled_for: d.scheduledFor || null,
      started_at: d.startedAt,
    } });
  }

  function onlyChecklists(keys) {
    // keep the chosen checklists of the page (in the page's order): the others are neither
    // shown, counted in the progress, required nor sent
    var d = root.dataset;
    var kept = d.checklists.split(",").filter(function (k) { return keys.indexOf(k) >= 0; });
    if (!kept.length) return;
    root.querySelectorAll(".patrol-target[data-checklist], [data-target-link][data-checklist]").forEach(function (el) {
      if (kept.indexOf(el.dataset.checklist) < 0) el.remove();
    });
    d.checklists = kept.join(",");
    document.getElementById("patrol-progress").dataset.total = String(root.querySelectorAll(".patrol-item").length);
  }

  function showError(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text || ""; el.hidden = !text; }
  }

  function wireAdhocForm() {
    // an ad hoc round: when the server cannot be reached, the room's kept page (every
    // checklist) opens with the chosen checklists; the choice stays on the form on an error
    var form = document.getElementById("adhoc-round");
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      var response = null;
      try {
        response = await fetch(form.action, { method: "POST", body: new FormData(form),
          credentials: "same-origin", headers: { Accept: "application/json" } });
      } catch (err) { response = null; }
      var json = response && response.ok && !response.redirected &&
        (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
      if (json) {
        window.location.href = (await response.json()).url; // the round, started
        return;
      }
      if (response && response.status < 500) {
        // the server answered with an error (or the login page): post the form as a plain
        // post would, to show it as before (nothing was started)
        form.submit();
        return;
      }
      if (button) button.disabled = false;
      var option = form.querySelector("select[name=room_id]").selectedOptions[0];
      var keys = Array.prototype.map.call(form.querySelectorAll("input[name=checklist_keys]:checked"),
        function (input) { return input.value; });
      showError("adhoc-room-error", option ? "" : form.dataset.noRoom);
      showError("adhoc-checklists-error", keys.length ? "" : form.dataset.noChecklist);
      if (!option || !keys.length) return;
      var url = option.dataset.offlineUrl;
      if ("caches" in window && !(await caches.match(url))) {
        showError("adhoc-room-error", form.dataset.notKept);
        return;
      }
      var cid = form.querySelector('input[name="client_id"]').value;
      window.location.href = url + "#" + cid + ";" + keys.join(",");
    });
  }

  function wireStartForms() {
    // start a planned round; when the server cannot be reached, open the kept page instead
    document.querySelectorAll("form.patrol-start[data-offline-url]").forEach(function (form) {
      form.addEventListener("submit", async function (event) {
        event.preventDefault();
        var button = form.querySelector("button[type=submit]");
        if (button) button.disabled = true;
        var cid = form.querySelector('input[name="client_id"]').value;
        // this slot was started on this tablet already (the kept start page cannot know):
        // open that round again rather than a second one
        var db = await openDb();
        var kept = (await db.getAll("rounds")).filter(function (r) {
          return r.offline_url === form.dataset.offlineUrl && mine(r);
        });
        if (kept.length) {
          window.location.href = form.dataset.offlineUrl + "#" + kept[0].client_id;
          return;
        }
        var response = null;
        try {
          response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
        } catch (err) { response = null; }
        if (response && response.status < 500 && response.redirected) {
          window.location.href = response.url; // the round, or the start page with its error
        } else if (response && response.status < 500) {
          form.submit(); // the server answered with a page of its own: show it as a plain post would
        } else {
          window.location.href = form.dataset.offlineUrl + "#" + cid;
        }
      });
    });
  }

  // --- offline shell ------------------------------------------------------------------------

  async function cachePage() {
    if (!("caches" in window)) return;
    var urls = [window.location.pathname + window.location.search];
    document.querySelectorAll("form[data-offline-url], option[data-offline-url]").forEach(function (el) {
      urls.push(el.dataset.offlineUrl);
    });
    document.querySelectorAll("script[src], link[rel=stylesheet]").forEach(function (el) {
      urls.push(el.getAttribute("src") || el.getAttribute("href"));
    });
    var cache = await caches.open(CACHE);
    for (var i = 0; i < urls.length; i++) {
      try {
        var response = await fetch(urls[i], { credentials: "same-origin" });
        if (response.ok && !response.redirected) await cache.put(urls[i], response);
      } catch (err) {
        return; // offline: keep what the cache has
      }
    }
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      await navigator.serviceWorker.ready;
    } catch (err) { /* no secure context or no worker: the page still saves to IndexedDB */ }
  }

  // --- one checklist/asset per screen --------------------------------------------------------

  var current = 0;

  function showTarget(index) {
    var sections = root.querySelectorAll(".patrol-target");
    if (!sections.length) return;
    current = Math.max(0, Math.min(index, sections.length - 1));
    sections.forEach(function (section, i) { section.classList.toggle("patrol-current", i === current); });
    root.classList.toggle("patrol-last", current === sections.length - 1);
    root.querySelectorAll("[data-target-link]").forEach(function (link) {
      link.classList.toggle("active", root.classList.contains("patrol-single") &&
        link.dataset.targetLink === sections[current].id);
    });
    document.getElementById("patrol-page").textContent = (current + 1) + " / " + sections.length;
    document.getElementById("patrol-prev").disabled = current === 0;
    document.getElementById("patrol-next").disabled = current === sections.length - 1;
  }

  function wirePager() {
    var toggle = document.getElementById("patrol-one-by-one");
    var sections = Array.prototype.slice.call(root.querySelectorAll(".patrol-target"));
    function setSingle(single) {
      root.classList.toggle("patrol-single", single);
      toggle.setAttribute("aria-pressed", single ? "true" : "false");
      toggle.textContent = single ? toggle.dataset.list : toggle.dataset.single;
      try { window.localStorage.setItem("opskit-patrol-single", single ? "1" : ""); } catch (err) { /* private mode */ }
      showTarget(current);
    }
    toggle.addEventListener("click", function () { setSingle(!root.classList.contains("patrol-single")); });
    document.getElementById("patrol-prev").addEventListener("click", function () { showTarget(current - 1); window.scrollTo(0, 0); });
    document.getElementById("patrol-next").addEventListener("click", function () { showTarget(current + 1); window.scrollTo(0, 0); });
    root.querySelectorAll("[data-target-link]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (!root.classList.contains("patrol-single")) return;
        event.preventDefault();
        showTarget(sections.findIndex(function (s) { return s.id === link.dataset.targetLink; }));
      });
    });
    var saved = "";
    try { saved = window.localStorage.getItem("opskit-patrol-single") || ""; } catch (err) { /* private mode */ }
    setSingle(saved === "1");
  }

  // --- wiring -------------------------------------------------------------------------------

  function wireRound() {
    root.querySelectorAll(".patrol-item").forEach(function (el) {
      el.querySelectorAll("input[type=radio]").forEach(function (r) {
        r.addEventListener("change", function () { changed(el, false); });
      });
      var input = el.querySelector(".patrol-value");
      if (input) {
        input.addEventListener("input", function () { changed(el, true); });
        input.addEventListener("change", function () { changed(el, false); });
      }
      var note = el.querySelector(".patrol-note");
      if (note) {
        note.addEventListener("input", function () { changed(el, true); });
        note.addEventListener("change", function () { changed(el, false); });
      }
      var use = el.querySelector(".patrol-use-monitored");
      if (use && input) {
        use.addEventListener("click", function () {
          input.value = el.dataset.monitored;
          changed(el, false);
        });
      }
      var photo = el.querySelector(".patrol-photo");
      if (photo) {
        photo.addEventListener("change", function () {
          var work = photoChosen(el, photo);
          photosInFlight.push(work);
          work.catch(function () {}).then(function () {
            photosInFlight.splice(photosInFlight.indexOf(work), 1);
          });
        });
      }
      render(el, judge(el, currentValue(el)));
    });
    document.getElementById("patrol-submit").addEventListener("click", submitRound);
    signaturePad();
    wirePager();
  }

  async function start() {
    // a round id made on the tablet: a double tap or a retried start finds the same round
    document.querySelectorAll('form input[name="client_id"]').forEach(function (input) {
      input.value = randomId();
    });
    if (!window.idb) return;
    wireStartForms();
    wireAdhocForm();
    if (root && root.dataset.offlineStart) await beginOffline();
    if (root) {
      wireRound();
      await restore();
      root.querySelectorAll(".patrol-item").forEach(function (el) {
        render(el, judge(el, currentValue(el)));
      });
      progress();
    }
    window.addEventListener("online", flush);
    setInterval(function () {
      outboxCount().then(function (n) { if (n) flush(); });
    }, FLUSH_EVERY_MS);
    flush();
    await registerWorker();
    await cachePage();
    document.documentElement.dataset.patrolReady = "1";
  }

  start();
})();
