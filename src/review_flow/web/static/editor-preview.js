// Live preview in the article editor. Without this script the "Preview" button does the
// same by posting the form; with it, the preview follows the typing: the form is posted
// as that button would post it (op=preview, its CSRF token included; nothing is saved)
// and the server's sanitized preview replaces the one on the page.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var timer = null;
  var sent = 0;

  function place(fresh) {
    var old = document.getElementById("preview");
    if (old) { old.replaceWith(fresh); return; }
    form.parentNode.insertBefore(fresh, form);
  }

  function refresh() {
    var data = new FormData(form);
    data.set("op", "preview");
    var mine = ++sent;
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "preview" }
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || mine !== sent) { return; }  // a newer one is on its way
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("preview");
      if (fresh) { place(document.importNode(fresh, true)); }
    }).catch(function () { /* the Preview button still works */ });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 500);
  });
})();
