// Follows a background job on its waiting page: asks /jobber/{id} every two seconds and shows how
// far it has come in the progress bar and the status line (aria-live: a screen reader hears it).
// When the job has ended, the page is loaded again and shows the answer (or why there is none).
// Without JavaScript the page's own link does the same by hand.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var bar = document.getElementById("job-progress");
  var status = document.getElementById("job-status");
  var url = box.getAttribute("data-poll");
  var template = box.getAttribute("data-running");
  var last = -1;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        if (job.state !== "queued" && job.state !== "running") {
          window.location.reload();
          return;
        }
        bar.value = job.progress;
        if (job.progress !== last) {  // say it only when it changed: no chatter for the screen reader
          status.textContent = template.replace("{progress}", String(job.progress));
          last = job.progress;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
