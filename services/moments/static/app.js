// Small enhancements only: the form works without JavaScript.
(function () {
  var hosts = { "twitter.com": "twitter", "x.com": "twitter", "facebook.com": "facebook", "fb.com": "facebook",
    "instagram.com": "instagram", "linkedin.com": "linkedin", "tiktok.com": "tiktok", "youtube.com": "youtube",
    "youtu.be": "youtube", "reddit.com": "reddit" };
  document.addEventListener("DOMContentLoaded", function () {
    // Ask before a delete; the undo banner goes once its seconds are over (the server agrees).
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
    });
    document.querySelectorAll("[data-undo-seconds]").forEach(function (banner) {
      setTimeout(function () { banner.querySelector("form").remove(); }, 1000 * Number(banner.dataset.undoSeconds));
    });
    var link = document.getElementById("link"), network = document.getElementById("network");
    if (!link || !network) return;
    link.addEventListener("input", function () {
      try {
        var host = new URL(link.value.trim()).hostname.replace(/^(www|m)\./, "");
        if (hosts[host] && !network.dataset.touched) network.value = hosts[host];
      } catch (e) { /* not a URL yet */ }
    });
    network.addEventListener("change", function () { network.dataset.touched = "1"; });
  });
})();
