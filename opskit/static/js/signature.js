/* A signature drawn with a finger or a stylus on a <canvas>: the patrol round's sign-off
 * (patrol.js) and the repair report's engineer and customer (the repair signing page).
 *
 *   var pad = OpskitSignature.pad(canvas, clearButton, onChange);
 *   pad.drawn()    -> true once something is drawn (false again after clear)
 *   pad.dataUrl()  -> the drawing as a PNG data URL, "" when nothing is drawn
 *   pad.load(url)  -> draw a PNG data URL kept from before (a refused form shown again)
 *
 * In a form, a canvas with data-signature-input="<id of a hidden input>" (and optionally
 * data-signature-clear="<id of its clear button>") is wired when the page loads: the hidden
 * input always holds the drawing's data URL, and a value it already has is drawn again.
 */
(function () {
  "use strict";

  function pad(canvas, clearButton, onChange) {
    var ctx = canvas.getContext("2d");
    var drawn = false;
    var drawing = false;

    function pen() {
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.strokeStyle = "#111";
    }
    function changed() {
      if (onChange) onChange();
    }
    function point(e) {
      var rect = canvas.getBoundingClientRect();
      return [(e.clientX - rect.left) * canvas.width / rect.width,
        (e.clientY - rect.top) * canvas.height / rect.height];
    }
    pen();
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true;
      var p = point(e);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      drawn = true;
    });
    function stop() {
      if (!drawing) return;
      drawing = false;
      changed();
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    var api = {
      drawn: function () { return drawn; },
      dataUrl: function () { return drawn ? canvas.toDataURL("image/png") : ""; },
      clear: function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        changed();
      },
      load: function (url) {
        if (!url || url.indexOf("data:image/png;base64,") !== 0) return;
        var image = new Image();
        image.onload = function () {
          ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
          pen();
          drawn = true;
          changed();
        };
        image.src = url;
      },
    };
    if (clearButton) clearButton.addEventListener("click", api.clear);
    return api;
  }

  function wireForms(root) {
    (root || document).querySelectorAll("canvas[data-signature-input]").forEach(function (canvas) {
      var input = document.getElementById(canvas.dataset.signatureInput);
      if (!input) return;
      var clear = canvas.dataset.signatureClear
        ? document.getElementById(canvas.dataset.signatureClear) : null;
      var kept = input.value;
      var signature = pad(canvas, clear, function () { input.value = signature.dataUrl(); });
      signature.load(kept);
    });
  }

  window.OpskitSignature = { pad: pad, wireForms: wireForms };
  wireForms(document);
})();
