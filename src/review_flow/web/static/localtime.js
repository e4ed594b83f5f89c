// The viewer's local time beside each UTC time marked data-local (the audit log). Times
// stay readable in UTC without it; this only adds the reader's own clock.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when)) { return; }
    var out = el.parentNode.querySelector(".local-time");
    if (out) { out.textContent = fmt.format(when); }
  });
})();
