// Saves the report composer's draft in the background while the submitter types.
// The page works without it: every button on the form saves the draft too.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  var status = document.getElementById("autosave-status");
  if (!form || !window.fetch || !window.FormData) { return; }
  var dirty = false, saving = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  function save() {
    if (!dirty || saving) { return; }
    dirty = false; saving = true;
    fetch(form.dataset.autosave, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (body) {
        var when = new Date(body.saved_at);
        status.textContent = (status.dataset.saved || "Draft saved") + " " + when.toLocaleTimeString();
      })
      .catch(function () { dirty = true; status.textContent = status.dataset.failed || "Not saved yet"; })
      .then(function () { saving = false; });
  }
  window.setInterval(save, 5000);
}());
