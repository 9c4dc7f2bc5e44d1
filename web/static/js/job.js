/* Background planning runs: start one without leaving the page, then poll
   GET /api/jobs/<id> and show {state, progress}. The job id goes into the
   address (?job=), so a reload finds the run again and keeps polling. */
(function () {
  "use strict";
  var box = document.getElementById("zf-job");
  var form = document.getElementById("zf-run");
  if (!box) { return; }
  var bar = document.getElementById("zf-job-bar");
  var text = document.getElementById("zf-job-text");
  var err = document.getElementById("zf-job-error");
  var labels = window.zoufangJobLabels || {};

  function show(job) {
    box.hidden = false;
    box.dataset.state = job.state;
    bar.value = job.progress || 0;
    var words = labels[job.state] || job.state;
    if (job.state === "running" && job.message) {
      // "counties:3/8": a province run counting its counties done
      var parts = String(job.message).split(":");
      words += " · " + (labels[parts[0]] || parts[0]) + (parts.length > 1 ? " " + parts.slice(1).join(":") : "");
    }
    text.textContent = words + " " + zoufangFormat.percent(job.progress || 0, 0);
    if (job.error) { err.hidden = false; err.textContent = job.error; }
  }

  function poll(url) {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        show(job);
        if (job.state === "queued" || job.state === "running") {
          setTimeout(function () { poll(url); }, 500);
        } else if (job.state === "done") {
          window.location.replace(window.location.pathname + "?job=" + encodeURIComponent(job.id));
        }
      })
      .catch(function () { setTimeout(function () { poll(url); }, 2000); });
  }

  if (box.dataset.url && (box.dataset.state === "queued" || box.dataset.state === "running")) {
    poll(box.dataset.url);
  }
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = new FormData(form);
      fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                          headers: {"Accept": "application/json", "X-CSRFToken": body.get("csrf_token")}})
        .then(function (r) { return r.json(); })
        .then(function (res) {
          if (!res.job_id) { throw new Error(res.error || "no job"); }
          history.replaceState(null, "", window.location.pathname + "?job=" + encodeURIComponent(res.job_id));
          err.hidden = true;
          show({state: res.state, progress: 0});
          poll(res.url);
        })
        .catch(function (e) { err.hidden = false; err.textContent = String(e); });
    });
  }
})();
