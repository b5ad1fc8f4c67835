// The dashboard's one script (no build step). Inside Telegram the Mini App gets its signed
// initData in the address (#tgWebAppData=...): it is exchanged once for a session cookie, then
// the server-rendered page is loaded again. In a browser it does nothing.
(function () {
  "use strict";
  var hash = new URLSearchParams(window.location.hash.slice(1));
  var initData = hash.get("tgWebAppData");
  if (!initData || sessionStorage.getItem("hromada-session") === "1") return;
  fetch("/app/api/session", { method: "POST", headers: { "Authorization": "tma " + initData }, credentials: "same-origin" })
    .then(function (response) {
      if (response.ok) {
        sessionStorage.setItem("hromada-session", "1");
        window.location.replace(window.location.pathname + window.location.search);
      }
    });
})();
