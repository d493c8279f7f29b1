/* Suggestion mode, progressive enhancement: marks each translated message of the page with a small
   link to its suggestion form. The page works without it: "Suggest a better wording for this page"
   at its foot lists the same messages. Loaded only for a translator in suggestion mode. */
(function () {
  "use strict";
  var script = document.currentScript;
  var source = script && script.getAttribute("data-messages");
  if (!source || !window.fetch || !document.createTreeWalker) { return; }

  function escapeRegExp(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  var PLACEHOLDER = /%\([^)]*\)[#0\- +]*\d*(?:\.\d+)?[sdifr]|%[sd]|\{[^{}\s]*\}/;

  // A message's wording as a pattern: its placeholders stand for any text. Messages that are little
  // more than a placeholder would match anything, so they are left to the list page.
  function matcher(item) {
    var parts = item.text.trim().split(PLACEHOLDER);
    var literal = parts.join("").replace(/%%/g, "%");
    if (literal.replace(/[\s\p{P}]/gu, "").length < 2) { return null; }
    return {
      exact: parts.length === 1 ? literal : null,
      re: new RegExp("^" + parts.map(function (part) { return escapeRegExp(part.replace(/%%/g, "%")); })
        .join("[\\s\\S]+?") + "$"),
      weight: literal.length,
      item: item
    };
  }

  function mark(items, label) {
    var matchers = items.filter(function (item) { return item.text && item.text.indexOf("<") < 0; })
      .map(matcher).filter(Boolean)
      .sort(function (a, b) { return b.weight - a.weight; });  // the most specific message first
    var exact = {};
    // Two messages may share a wording ("Profile" and "Your profile" can read alike): mark both.
    matchers.forEach(function (m) {
      if (m.exact !== null) { (exact[m.exact] = exact[m.exact] || []).push(m.item); }
    });
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    var found = [];
    while (walker.nextNode()) {
      var node = walker.currentNode;
      var text = node.nodeValue.trim();
      var parent = node.parentElement;
      if (!text || !parent || parent.closest("script, style, option, textarea, title, .wording-mark, .skip-link") ||
          !parent.closest("header, nav, main, footer")) { continue; }
      if (Object.prototype.hasOwnProperty.call(exact, text)) { found.push([node, exact[text]]); continue; }
      for (var i = 0; i < matchers.length; i++) {
        if (matchers[i].exact === null && matchers[i].re.test(text)) { found.push([node, [matchers[i].item]]); break; }
      }
    }
    found.forEach(function (pair) {
      var node = pair[0], items = pair[1];
      // Never inside another link or control: beside it (a label may hold a link: inside it).
      var host = node.parentElement.closest("a, button, summary, select");
      var after = host || node;
      node.parentElement.setAttribute("data-msgid", items.map(function (item) { return item.key; }).join(" "));
      items.forEach(function (item) {
        var link = document.createElement("a");
        link.className = "wording-mark";
        link.href = item.url;
        link.textContent = "\u270E";
        link.title = label + (item.source ? " (" + item.source + ")" : "");
        link.setAttribute("aria-label", label + ": " + (item.source || node.nodeValue.trim()));
        after.parentNode.insertBefore(link, after.nextSibling);
        after = link;
      });
    });
  }

  fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) { if (data && data.items) { mark(data.items, data.label); } })
    .catch(function () { /* the list page still works */ });
}());
