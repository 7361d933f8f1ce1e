// Live updates: the page lists new decisions as the server sends them (server-sent events). On an invoice's
// page, a decision about it reloads the page, so its status, trail and transaction are always current.
// Built with DOM nodes, never innerHTML: decisions carry text read from invoices, which is untrusted.
(function () {
  "use strict";
  function item(d) {
    var li = document.createElement("li");
    var tag = document.createElement("span");
    tag.className = "tag " + d.outcome;
    tag.textContent = d.step + ": " + d.outcome;
    li.appendChild(tag);
    if (d.invoice_id) {
      li.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = "/app/invoices/" + d.invoice_id;
      a.textContent = d.invoice || "invoice";
      li.appendChild(a);
    }
    var reason = document.createElement("span");
    reason.className = "reason";
    reason.textContent = " " + d.reason + " ";
    li.appendChild(reason);
    var meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = d.at + " · " + d.actor;
    li.appendChild(meta);
    return li;
  }
  function follow(node) {
    if (!window.EventSource) { return; }
    var source = new EventSource(node.getAttribute("data-events"));
    source.addEventListener("decision", function (event) {
      var d = JSON.parse(event.data);
      if (node.getAttribute("data-reload") === "true") {
        source.close();
        window.location.reload();
        return;
      }
      node.insertBefore(item(d), node.firstChild);
      while (node.children.length > 50) { node.removeChild(node.lastChild); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var nodes = document.querySelectorAll("[data-events]");
    for (var i = 0; i < nodes.length; i++) { follow(nodes[i]); }
  });
})();
