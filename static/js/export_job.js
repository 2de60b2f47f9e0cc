// The background export page: polls the job's status and shows progress, then the download links.
const box = document.getElementById("export-job");
const bar = document.getElementById("export-progress");
const state = document.getElementById("export-state");
const links = document.getElementById("export-links");

async function poll() {
  let job;
  try {
    const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`status ${response.status}`);
    job = await response.json();
  } catch (error) {
    state.textContent = `Cannot read the export's progress (${error.message}); reload the page to try again.`;
    return;
  }
  bar.max = job.total || 1;
  if (job.status === "running") {
    bar.value = job.done;
    state.textContent = `Writing: ${job.done} of ${job.total} records.`;
    window.setTimeout(poll, 1000);
  } else if (job.status === "failed") {
    state.textContent = `The export failed: ${job.error}`;
  } else {
    bar.value = bar.max;
    state.textContent = `Done: ${job.done} records.`;
    links.hidden = false;
  }
}

if (box && box.dataset.state === "running") poll();
