// The sidebar opens on the specification's chapters, wherever the reader is.
document.addEventListener("DOMContentLoaded", () => {
  for (const link of document.querySelectorAll(".sidebar-tree li.toctree-l1 > a.reference")) {
    if (/(^|\/)spec\/index\.html$/.test(link.getAttribute("href") || "")) {
      const box = link.parentElement.querySelector(":scope > input.toctree-checkbox");
      if (box) box.checked = true;
    }
  }
});
