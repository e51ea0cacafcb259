// The portal's only script (no inline script anywhere: the CSP forbids it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // after an upload the page answers the POST: put the page's own address in the bar (reload = look again)
  var agency = document.getElementById("agency");
  var canonical = agency && agency.getAttribute("data-canonical-url");
  if (canonical && window.location.pathname.slice(-7) === "/upload" && window.history.replaceState) {
    window.history.replaceState(null, "", canonical + "#result");
    var result = document.getElementById("result");
    if (result && result.scrollIntoView) { result.scrollIntoView(); }
  }
  // drag and drop onto the upload area: the file goes into the form's file field and the form is sent
  var drop = document.getElementById("drop");
  var input = document.getElementById("file");
  var form = document.getElementById("upload-form");
  if (drop && input && form) {
    ["dragenter", "dragover"].forEach(function (t) {
      drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
    input.addEventListener("change", function () {
      var chosen = document.getElementById("chosen");
      if (chosen) { chosen.textContent = input.files.length ? input.files[0].name : ""; }
    });
    form.addEventListener("submit", function () {
      var b = document.getElementById("upload-button");
      if (b) { b.disabled = true; b.textContent = "正在校验……"; }
    });
  }
  // select all rows of the dashboard
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('#agencies input[name="code"]').forEach(function (c) { c.checked = all.checked; });
    });
  }
  // confirmations
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (e) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
  document.querySelectorAll("[data-back]").forEach(function (el) {
    el.addEventListener("click", function (e) {
      if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
    });
  });
});
