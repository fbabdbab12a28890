// Live occupancy: listen to the API's event stream and swap in the cards that changed.
// The page works without this script (reload to refresh); it only adds live updates.
(function () {
  "use strict";
  var container = document.getElementById("espaces");
  if (!container || !window.EventSource) { return; }
  var state = document.getElementById("etat-direct");
  var announcer = document.getElementById("annonces");
  var pending = null;

  function announce(text) {
    var item = document.createElement("p");
    item.textContent = text;
    announcer.appendChild(item);
    while (announcer.childNodes.length > 3) { announcer.removeChild(announcer.firstChild); }
  }

  function swap(html) {
    var fresh = document.createElement("div");
    fresh.innerHTML = html;
    var cards = fresh.querySelectorAll("section.space-card");
    for (var i = 0; i < cards.length; i++) {
      var card = cards[i];
      var old = document.getElementById(card.id);
      if (!old) { container.appendChild(card); continue; }
      if (old.outerHTML === card.outerHTML) { continue; }
      var focused = old.contains(document.activeElement) ? document.activeElement : null;
      var focusKey = focused ? [focused.form && focused.form.action, focused.value].join("|") : null;
      old.replaceWith(card);
      if (focusKey) {
        var buttons = card.querySelectorAll("button");
        for (var j = 0; j < buttons.length; j++) {
          if ([buttons[j].form && buttons[j].form.action, buttons[j].value].join("|") === focusKey) { buttons[j].focus(); }
        }
      }
      announce(card.getAttribute("data-summary"));
    }
  }

  function refresh() {
    pending = null;
    fetch(container.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(swap)
      .catch(function () { /* the next event tries again */ });
  }

  function later() { if (!pending) { pending = window.setTimeout(refresh, 200); } }

  var stream = new EventSource(container.getAttribute("data-stream"));
  stream.addEventListener("open", function () { state.textContent = state.getAttribute("data-connected"); });
  stream.addEventListener("error", function () { state.textContent = state.getAttribute("data-lost"); });
  stream.addEventListener("snapshot", later);
  stream.addEventListener("space", later);
  stream.addEventListener("alert", later);
})();
