// The Draw page's fixes to the canvas component (streamlit-drawable-canvas 0.13.0),
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
// * On a phone its fixed 280 px canvas is scaled up to the width of the screen, and in the
//   presentation layout (present_layout.css sets --ds-present) up to its column and the
//   screen's height (see fit).
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
      // Once the canvas is in the root: the style, the page's sign that the canvas is ready, and the
      // first fit below then come together.
      if (root && root.querySelector(".dc-root") && !root.querySelector("style[data-digit-studio]")) {
        const style = document.createElement("style");
        style.dataset.digitStudio = "pinned-toolbar";
        style.textContent = css;
        root.appendChild(style);
      }
      if (root) fit(host, root);
    }
  };
  // On a phone held upright (under 640 px, where Streamlit stacks the columns) the canvas is
  // scaled up to the column's width, toolbar and all: a bigger target for a finger. Only its
  // display grows (a CSS transform, which Fabric's pointer maths allows for): the drawing is
  // still 280 x 280 canvas pixels, and the page sends exactly what it sent before.
  const fit = (host, root) => {
    const canvas = root.querySelector(".dc-root");
    if (!canvas) return;
    const natural = canvas.offsetWidth;  // layout width: transforms do not change it
    // The column: the first enclosing box wider than the canvas (the boxes right around the
    // component are as wide as the canvas, or have no box at all).
    let column = host.parentElement;
    for (let up = 0; column && column.clientWidth <= natural && up < 6; up++) column = column.parentElement;
    const room = column ? column.clientWidth : natural;
    let scale = 1;
    if (natural > 0 && window.innerWidth < 640) scale = Math.max(1, Math.min(room / natural, 2));
    else if (natural > 0 && presenting()) {
      // As wide as the column, and (toolbar band included) no taller than the screen below its top.
      const top = host.getBoundingClientRect().top + window.scrollY;
      const band = parseFloat(getComputedStyle(canvas).marginTop) || 0;  // the toolbar's, above the canvas
      const tall = (window.innerHeight - top - 16) / (canvas.offsetHeight + band);
      scale = Math.max(1, Math.min(room / natural, tall, 3));
      scale = Math.floor(scale * 20) / 20;  // steady under rounding: no restyling on every check
    }
    const transform = scale === 1 ? "" : `scale(${scale})`;
    if (host.style.transform !== transform) {
      host.style.transformOrigin = "top left";
      host.style.transform = transform;
      host.style.width = scale === 1 ? "" : `${natural}px`;  // the scaled box is then the column's width
    }
    // Room below for the height the scaling adds (from the canvas's own height: the component's
    // box grows with what is added to it, so measuring that would feed back).
    const below = scale === 1 ? "" : `${Math.round((scale - 1) * canvas.offsetHeight)}px`;
    if (host.style.marginBottom !== below) host.style.marginBottom = below;
  };
  const presenting = () =>
    getComputedStyle(document.documentElement).getPropertyValue("--ds-present").trim() === "1";
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
