/* Suggestion mode, progressive enhancement: marks each translated message of the page with a small
   link to its suggestion form. The page works without it: "Suggest a better wording for this page"
   at its foot lists the same messages. Loaded only for a translator in suggestion mode. */
(function () {
  "use strict";
  var script = document.currentScript;
  var source = script && script.getAttribute("data-messages");
  if (!source || !window.fetch || !document.createTreeWalker) { return; }

  function escapeRegExp(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // A message's wording as a pattern: its placeholders stand for any text.
  function pattern(text) {
    var parts = text.trim().split(/%\([^)]*\)[#0\- +]*\d*(?:\.\d+)?[sdifr]|%[sd]|\{[^{}\s]*\}/);
    return new RegExp("^" + parts.map(function (part) { return escapeRegExp(part.replace(/%%/g, "%")); })
      .join("[\\s\\S]+?") + "$");
  }

  function mark(items, label) {
    var matchers = items.filter(function (item) { return item.text && item.text.indexOf("<") < 0; })
      .map(function (item) { return { re: pattern(item.text), item: item }; });
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    var found = [];
    while (walker.nextNode()) {
      var node = walker.currentNode;
      var text = node.nodeValue.trim();
      var parent = node.parentElement;
      if (!text || !parent || parent.closest("script, style, option, textarea, title, .wording-mark")) { continue; }
      for (var i = 0; i < matchers.length; i++) {
        if (matchers[i].re.test(text)) { found.push([node, matchers[i].item]); break; }
      }
    }
    found.forEach(function (pair) {
      var node = pair[0], item = pair[1];
      var link = document.createElement("a");
      link.className = "wording-mark";
      link.href = item.url;
      link.textContent = "\u270E";
      link.title = label;
      link.setAttribute("aria-label", label + ": " + node.nodeValue.trim());
      // Never inside another link, button or label: beside it.
      var host = node.parentElement.closest("a, button, label, summary, select") || null;
      node.parentElement.setAttribute("data-msgid", item.key);
      if (host) { host.parentNode.insertBefore(link, host.nextSibling); }
      else { node.parentNode.insertBefore(link, node.nextSibling); }
    });
  }

  fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) { if (data && data.items) { mark(data.items, data.label); } })
    .catch(function () { /* the list page still works */ });
}());
