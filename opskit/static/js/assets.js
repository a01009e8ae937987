// Asset form niceties; the form works the same without them.
// - choosing a rack selects its room (a rack implies its room);
// - the line-details fieldset shows only for kind "line" (or when it holds errors or values).
(function () {
  "use strict";
  var form = document.getElementById("asset-form");
  if (!form) return;
  var location = document.getElementById("location-fields");
  var rackRooms = {};
  try { rackRooms = JSON.parse(location.getAttribute("data-rack-rooms") || "{}"); } catch (e) { rackRooms = {}; }
  var room = form.querySelector("select[name=room]");
  var rack = form.querySelector("select[name=rack]");
  if (room && rack) {
    rack.addEventListener("change", function () {
      var r = rackRooms[rack.value];
      if (r) room.value = r;
    });
    room.addEventListener("change", function () {
      if (rack.value && rackRooms[rack.value] !== room.value) rack.value = "";
    });
  }
  var kind = form.querySelector("select[name=kind]");
  var line = document.getElementById("line-fields");
  if (kind && line) {
    var keep = line.querySelector(".is-invalid") !== null;
    var sync = function () { line.hidden = kind.value !== "line" && !keep; };
    kind.addEventListener("change", function () { keep = false; sync(); });
    sync();
  }
})();
