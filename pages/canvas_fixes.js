// The Draw page's two fixes to the canvas component (streamlit-drawable-canvas 0.13.0),
// run once per browser tab. pages/internals.py loads this file, puts the component's send
// button title in place of __SEND_BUTTON_TITLE__ and checks that the installed component
// (and Streamlit's page, for stMain) still has every name this relies on (check_internals).
//
// * The component keeps its toolbar invisible *over* the canvas's top-right corner until
//   the pointer has hovered for a moment, so a stroke started there straight away (a quick
//   mouse, any touch screen) presses the hidden toolbar and draws nothing. This pins the
//   toolbar, visible, in a band reserved above the canvas. The component's styles are
//   isolated in a shadow root, so the rule goes in there (also when the canvas is re-created).
// * It sends a finished stroke to the app only after a fixed 200 ms pause (a debounce meant
//   for bursts of edits), a fifth of a second added to every stroke-to-prediction time. When
//   a stroke drawn on the canvas ends, this presses the component's own send button, which
//   cancels that wait and sends the same drawing at once (one rerun per stroke, as before).
//   The button is hidden: the app is always up to date, so there is nothing to press.
(() => {
  if (window.__digitStudioCanvas) return;  // once per browser tab
  window.__digitStudioCanvas = {strokesSent: 0, missingSendButton: false};
  const css = ".dc-root{margin-top:2.9rem}" +
              ".dc-toolbar,.dc-root:hover>.dc-toolbar{opacity:1 !important;top:-2.75rem !important;transition:none !important}" +
              ".dc-toolbar button[title='__SEND_BUTTON_TITLE__']{display:none !important}";
  // Into every shadow root on the page (the rules match only the canvas component's
  // classes), checked a few times a second: a canvas can be (re)created, and its
  // shadow root filled, at any time without a DOM change visible from here.
  const pin = () => {
    for (const host of document.querySelectorAll("[data-testid=stMain] div")) {
      const root = host.shadowRoot;
      if (root && !root.querySelector("style[data-digit-studio]")) {
        const style = document.createElement("style");
        style.dataset.digitStudio = "pinned-toolbar";
        style.textContent = css;
        root.appendChild(style);
      }
    }
  };
  setInterval(pin, 200);
  pin();
  // A stroke starts with a press on a canvas (not in the component's edit mode) and
  // ends with the release, wherever it is. The component handles the release first
  // (Fabric adds the path, the component saves it and schedules the send); the
  // press of the send button comes in a task after that.
  let drawing = null;
  const started = (event) => {
    const canvas = event.composedPath().find((n) => n.classList && n.classList.contains("upper-canvas"));
    const root = canvas ? canvas.getRootNode() : null;
    const editing = root && root.querySelector && root.querySelector(".dc-toolbar button[aria-pressed=true]");
    drawing = root && root.querySelector && !editing ? root : null;
  };
  const ended = () => {
    const root = drawing;
    drawing = null;
    if (!root) return;
    setTimeout(() => {
      const send = root.querySelector("button[title='__SEND_BUTTON_TITLE__']");
      if (send && send.isConnected) {
        send.click();
        window.__digitStudioCanvas.strokesSent += 1;
      } else if (!send && !window.__digitStudioCanvas.missingSendButton) {
        // Loudly, once: strokes still arrive, but only after the component's own pause.
        window.__digitStudioCanvas.missingSendButton = true;
        console.warn("Digit Studio: the canvas component has no button titled '__SEND_BUTTON_TITLE__' " +
                     "(checked against streamlit-drawable-canvas 0.13.0); strokes are sent after its 200 ms pause.");
      }
    }, 0);
  };
  window.addEventListener("mousedown", started, true);
  window.addEventListener("touchstart", started, {capture: true, passive: true});
  window.addEventListener("mouseup", ended);
  window.addEventListener("touchend", ended, {passive: true});
})();
