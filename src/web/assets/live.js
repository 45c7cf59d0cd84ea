// Progressive enhancement for the ticket page: while it is open, ask every 5 s
// whether the ticket changed (a follow-up, a colleague's action) and
// say so above the thread. Without JavaScript the page works the same; a
// reload shows the news.
(function () {
  var main = document.querySelector("[data-version-url]");
  if (!main) return;
  var url = main.getAttribute("data-version-url");
  var seen = main.getAttribute("data-version");
  function check() {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : seen; })
      .then(function (v) {
        if (v.trim() !== seen) {
          var n = document.getElementById("news");
          if (n) n.hidden = false;
        } else {
          setTimeout(check, 5000);
        }
      })
      .catch(function () { setTimeout(check, 5000); });
  }
  setTimeout(check, 5000);
})();
