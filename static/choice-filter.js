// Adds a filter box to each grouped list of checkboxes (fieldset[data-choice-filter]): typing
// narrows the list to the choices whose name contains the words typed, ignoring case and accents.
// Chosen boxes stay in view, and groups left empty are hidden. Without this script the page shows
// the full lists, which work as they are.
(function () {
  "use strict";

  function fold(text) {
    var folded = (text || "").toLowerCase();
    if (folded.normalize) { folded = folded.normalize("NFD").replace(/[\u0300-\u036f]/g, ""); }
    return folded;
  }

  function enhance(list, index) {
    if (list.getAttribute("data-enhanced")) { return; }
    list.setAttribute("data-enhanced", "yes");
    var items = Array.prototype.slice.call(list.querySelectorAll("li"));
    var groups = Array.prototype.slice.call(list.querySelectorAll("fieldset.choice-group"));
    if (items.length < 2) { return; }

    var id = (list.id || "choices-" + index) + "-filter";
    var wrapper = document.createElement("div");
    wrapper.className = "field choice-filter";
    var label = document.createElement("label");
    label.setAttribute("for", id);
    label.textContent = list.getAttribute("data-filter-label") || "Filter";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.autocomplete = "off";
    input.setAttribute("aria-controls", list.id || "");
    var status = document.createElement("p");
    status.className = "hint";
    status.id = id + "-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    input.setAttribute("aria-describedby", status.id);
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    wrapper.appendChild(status);
    var legend = list.querySelector("legend");
    list.insertBefore(wrapper, legend ? legend.nextSibling : list.firstChild);

    var texts = items.map(function (item) {
      // The item's own words and those of the groups it sits in ("Samoa", "Customs").
      var words = item.textContent;
      var parent = item.parentNode;
      while (parent && parent !== list) {
        if (parent.tagName === "FIELDSET") {
          var heading = parent.querySelector("legend");
          if (heading) { words += " " + heading.textContent; }
        }
        parent = parent.parentNode;
      }
      return fold(words);
    });

    function apply() {
      var terms = fold(input.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (item, i) {
        var box = item.querySelector("input[type=checkbox]");
        var match = terms.every(function (term) { return texts[i].indexOf(term) !== -1; });
        var visible = match || (box && box.checked);
        item.hidden = !visible;
        if (visible) { shown += 1; }
      });
      groups.forEach(function (group) {
        group.hidden = !group.querySelector("li:not([hidden])");
      });
      var template = list.getAttribute("data-filter-count") || "%(shown)s / %(total)s";
      status.textContent = terms.length ? template.replace("%(shown)s", shown).replace("%(total)s", items.length) : "";
    }

    input.addEventListener("input", apply);
    // Enter in the filter box must not submit the form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("fieldset[data-choice-filter]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
