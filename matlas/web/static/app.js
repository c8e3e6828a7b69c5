// matlas web app glue: the 3Dmol structure viewer of material pages, and chat scrolling.
// Partial updates and server-sent events are htmx's (hx-* and sse-* attributes in the templates).
"use strict";

function initViewer(element) {
  const url = element.dataset.structureUrl;
  fetch(url).then((r) => {
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.text();
  }).then((cif) => {
    const viewer = $3Dmol.createViewer(element, { backgroundColor: "white" });
    const model = viewer.addModel(cif, "cif");
    viewer.setStyle({}, { stick: { radius: 0.12, colorscheme: "Jmol" }, sphere: { scale: 0.28, colorscheme: "Jmol" } });
    viewer.addUnitCell(model);
    viewer.replicateUnitCell(3, 3, 3, model, true, true);  // the cell with its edge images, bonded across faces
    viewer.zoomTo();
    viewer.render(() => { element.dataset.rendered = "true"; });
    element.addEventListener("keydown", (event) => {
      const turns = { ArrowLeft: ["y", -15], ArrowRight: ["y", 15], ArrowUp: ["x", -15], ArrowDown: ["x", 15] };
      if (turns[event.key]) viewer.rotate(turns[event.key][1], turns[event.key][0]);
      else if (event.key === "+" || event.key === "=") viewer.zoom(1.2);
      else if (event.key === "-") viewer.zoom(1 / 1.2);
      else return;
      event.preventDefault();
      viewer.render();
    });
  }).catch((err) => {
    element.textContent = `The structure could not be shown (${err.message}).`;
    element.dataset.rendered = "error";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-structure-url]").forEach(initViewer);
});

// keep the newest chat output in view while a turn streams
document.addEventListener("htmx:sseMessage", () => {
  const turns = document.getElementById("turns");
  if (turns) turns.lastElementChild?.scrollIntoView({ block: "end" });
});
