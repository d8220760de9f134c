// Trolley console: the little a form cannot do. Every page works without it except the
// plugin upload, which sends the .wasm file as the request body.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const zone = document.querySelector("[data-upload]");
  if (zone) wireUpload(zone);
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});

function wireUpload(zone) {
  const input = zone.querySelector("input[type=file]");
  const status = document.getElementById("upload-status");
  const csrf = zone.dataset.csrf;
  const show = (text, isError) => {
    status.textContent = text;
    status.className = isError ? "field-error" : "hint";
  };
  const send = async (file) => {
    if (!file) return;
    if (!file.name.endsWith(".wasm")) {
      show(`${file.name} is not a .wasm file: build the plugin for wasm32-wasip2 and upload the .wasm.`, true);
      return;
    }
    show(`Uploading ${file.name} (${Math.round(file.size / 1024)} KB)…`, false);
    try {
      const answer = await fetch(zone.dataset.upload, {
        method: "POST",
        headers: { "Content-Type": "application/wasm", "X-CSRF-Token": csrf },
        body: file,
        credentials: "same-origin",
      });
      const body = await answer.json().catch(() => ({}));
      if (answer.ok && body.location) {
        window.location.assign(body.location);
      } else {
        show(body.detail || `The upload failed (${answer.status}).`, true);
      }
    } catch (e) {
      show(`The upload failed: ${e.message}`, true);
    }
  };
  input.addEventListener("change", () => send(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    send(event.dataTransfer.files[0]);
  });
}
