// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".aw-error-summary");
  if (summary) { summary.focus(); }
});
