/* opskit scan page: open an asset from its label's QR code.
 *
 * Live camera (getUserMedia, secure contexts only) or, on plain HTTP or without a camera, a
 * photo of the label (<input type=file capture>), both decoded with the standard
 * BarcodeDetector: the browser's own where it reads QR codes, else the vendored polyfill
 * (ZXing-C++ in wasm) whose .wasm is served by opskit itself, never from a CDN.
 * Every text shown comes from data-msg-* attributes of #scan (translated on the server).
 *
 * By default a label opens its asset's page (or data-next with ?tag=). With data-fill="<id>"
 * the label's tag goes into that input instead (a change event tells the page), and with
 * data-submit="1" the input's form is sent at once: a request's asset, an arrival on site.
 */
(function () {
  "use strict";

  var root = document.getElementById("scan");
  if (!root) return;

  var byId = function (id) { return document.getElementById(id); };
  var statusBox = byId("scan-status");
  var startButton = byId("scan-start");
  var stopButton = byId("scan-stop");
  var viewport = byId("scan-viewport");
  var video = byId("scan-video");
  var photo = byId("scan-photo");

  var SCAN_EVERY_MS = 200;
  var stream = null;
  var timer = null;
  var leaving = false;
  var detectorPromise = null;

  function message(key, value) {
    var text = root.dataset["msg" + key] || key;
    return text.replace("{value}", value == null ? "" : String(value));
  }

  var said = 0; // how many messages were shown: a slow check does not hide a newer one

  function say(text, kind) {
    said += 1;
    statusBox.textContent = text;
    statusBox.className = "alert alert-" + (kind || "info");
    statusBox.dataset.kind = kind || "info";
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(script);
    });
  }

  async function nativeDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      var formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.indexOf("qr_code") < 0) return null;
      return new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (err) {
      return null;
    }
  }

  async function polyfillDetector() {
    // The polyfill installs itself only where window.BarcodeDetector is missing; a native one
    // that cannot read QR codes is moved aside while it loads, then put back.
    var native = window.BarcodeDetector;
    if (native) delete window.BarcodeDetector;
    try {
      await loadScript(root.dataset.polyfill);
      var api = window.BarcodeDetectionAPI;
      var wasmBase = root.dataset.wasmBase;
      // Before any detector exists: fetch zxing_reader.wasm from our static folder. Without
      // this the polyfill fetches it from a CDN as soon as a BarcodeDetector is constructed.
      api.prepareZXingModule({
        overrides: {
          locateFile: function (path, prefix) {
            return path.endsWith(".wasm") ? wasmBase + path : prefix + path;
          },
        },
      });
      var Polyfill = window.BarcodeDetector;
      return new Polyfill({ formats: ["qr_code"] });
    } finally {
      if (native) window.BarcodeDetector = native;
    }
  }

  function getDetector() {
    if (!detectorPromise) {
      detectorPromise = nativeDetector().then(function (native) {
        return native || polyfillDetector();
      });
      detectorPromise.catch(function () { detectorPromise = null; });
    }
    return detectorPromise;
  }

  /* The label's URL, or null when a scanned value is not one of our labels
   * (a label holds <base>/a/<tag>). */
  function labelUrl(value) {
    var url;
    try {
      url = new URL(String(value).trim());
    } catch (err) {
      return null;
    }
    var prefix = root.dataset.labelPrefix || "/a/";
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (rackLabel(url)) return url;
    if (url.pathname.indexOf(prefix) !== 0 || url.pathname.length <= prefix.length) return null;
    url.tag = decodeURIComponent(url.pathname.slice(prefix.length));
    return url;
  }

  /* A rack label (<base>/r?site=&room=&rack=, assets/rack_labels.py): its "tag" is room/rack,
   * what the move tablet's rack field takes. */
  function rackLabel(url) {
    if (!/\/r\/?$/.test(url.pathname)) return false;
    var room = url.searchParams.get("room"), rack = url.searchParams.get("rack");
    if (!url.searchParams.get("site") || !room || !rack) return false;
    url.tag = room + "/" + rack;
    url.rack = true;
    return true;
  }

  /* The page a label leads to. Same origin: open it. Another origin with the same path
   * (a label printed while opskit was reached under another name or address): open the tag
   * here; an unknown tag lands on a page that says so. */
  function labelTarget(url) {
    if (root.dataset.next && !url.rack) {  // e.g. an incident page waiting for the arrival scan
      return window.location.origin + root.dataset.next + "?tag=" + encodeURIComponent(url.tag);
    }
    if (url.origin === window.location.origin) return url.href;
    return window.location.origin + url.pathname + (url.rack ? url.search : "");
  }

  /* data-fill: the tag goes into the page's input (and its form is sent with data-submit). */
  function fill(tag) {
    var input = byId(root.dataset.fill);
    stopCamera(false);
    say(message("Filled", tag), "success");
    input.value = tag;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    if (root.dataset.submit === "1" && input.form) {
      leaving = true;
      input.form.requestSubmit();
    }
  }

  /* Act on the first label among the detected codes; true when one was found. */
  function handle(codes) {
    for (var i = 0; i < codes.length; i++) {
      var url = labelUrl(codes[i].rawValue);
      if (url && root.dataset.fill) {
        fill(url.tag);
        return true;
      }
      if (url) {
        var target = labelTarget(url);
        leaving = true;
        say(message("Found", codes[i].rawValue), "success");
        stopCamera(false);
        window.location.assign(target);
        return true;
      }
    }
    if (codes.length) say(message("Foreign", codes[0].rawValue), "warning");
    return false;
  }

  function offerFallback() {
    byId("scan-photo-card").classList.add("border-primary");
  }

  function stopCamera(announce) {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    viewport.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
    startButton.disabled = false;
    if (announce) say(message("Stopped"));
  }

  function scanSoon(detector) {
    timer = setTimeout(async function () {
      if (!stream || leaving) return;
      if (video.readyState >= 2 && video.videoWidth > 0) {
        try {
          if (handle(await detector.detect(video))) return;
        } catch (err) {
          // A frame that cannot be read (e.g. while the camera settles): try the next one.
        }
      }
      scanSoon(detector);
    }, SCAN_EVERY_MS);
  }

  async function startCamera() {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(message("Insecure", window.location.origin), "warning");
      offerFallback();
      return;
    }
    startButton.disabled = true;
    say(message("Starting"));
    var detector;
    try {
      detector = await getDetector();
    } catch (err) {
      startButton.disabled = false;
      say(message("ScannerFailed", err && err.message), "danger");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (err) {
      stream = null;
      startButton.disabled = false;
      var name = err && err.name;
      if (name === "NotAllowedError" || name === "SecurityError") {
        say(message("Denied"), "warning");
      } else if (name === "NotFoundError" || name === "OverconstrainedError") {
        say(message("NoCamera"), "warning");
      } else {
        say(message("Failed", (err && (err.message || err.name)) || ""), "danger");
      }
      offerFallback();
      return;
    }
    video.srcObject = stream;
    viewport.hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    try {
      await video.play();
    } catch (err) {
      // autoplay of a muted inline video is allowed; the frames still arrive if play() rejects
    }
    say(message("Looking"));
    scanSoon(detector);
  }

  async function readPhoto() {
    var file = photo.files && photo.files[0];
    if (!file) return;
    say(message("Reading"));
    try {
      var detector = await getDetector();
      var bitmap = await createImageBitmap(file);
      var codes;
      try {
        codes = await detector.detect(bitmap);
      } finally {
        if (bitmap.close) bitmap.close();
      }
      if (!handle(codes) && !codes.length) say(message("PhotoNone"), "warning");
    } catch (err) {
      say(message("PhotoError", (err && (err.message || err.name)) || ""), "danger");
    } finally {
      photo.value = "";
    }
  }

  async function checkCamera() {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(message("Insecure", window.location.origin), "warning");
      startButton.disabled = true;
      offerFallback();
      return;
    }
    var before = said;
    try {
      var devices = await navigator.mediaDevices.enumerateDevices();
      var cameras = devices.filter(function (d) { return d.kind === "videoinput"; });
      if (!cameras.length) {
        // a photo read meanwhile keeps its message (what it found matters more now)
        if (said === before) say(message("NoCamera"), "warning");
        startButton.disabled = true;
        offerFallback();
      }
    } catch (err) {
      // enumerateDevices is only a hint; getUserMedia will tell
    }
  }

  startButton.addEventListener("click", startCamera);
  stopButton.addEventListener("click", function () { stopCamera(true); });
  photo.addEventListener("change", readPhoto);
  window.addEventListener("pagehide", function () { stopCamera(false); });
  checkCamera();
  // a photo chosen before this script arrived (a slow tablet) is read now, not lost
  if (photo.files && photo.files.length) readPhoto();
})();
