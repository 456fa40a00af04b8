// The panels, in tab order. A new panel is one file, panels/<id>.js, and its id in PANEL_IDS:
// the app makes its tab (labelled by the string `nav.<id>`), its container and its place in
// the link (`panel=<id>`) from this list.
//
// The panel contract. panels/<id>.js default-exports a class:
//
//   new Panel(app, root)   called once, after the engine has loaded. Builds the panel's DOM in
//                          `root` (an empty <div class="panel" id="panel-<id>">) and binds its
//                          controls: a control changes the state with app.setState(patch,
//                          {render: 'light' | 'full'}), never the DOM of another control.
//   panel.steps            how many steps the panel has (a Stepper with that many sections);
//                          ←/→, PageUp/PageDown, space and `step=N` move through them.
//   panel.pending          (optional) a promise while the panel loads what it shows (app.idle()
//                          waits for it), e.g. trained weights fetched the first time it is shown.
//   panel.render(light)    redraws from app.state, the only source of what is shown. `light`:
//                          only the step changed (move the highlight, nothing else). Called at
//                          most once per animation frame, and only while the panel is shown.
//
// A panel may also export STRINGS = {en: {…}, zh: {…}}: its own strings, added to strings.js's
// table when the panels load (every key in both languages).
//
// What a panel may use: app.state (read), app.setState, app.t(key, vars) for its strings
// (strings.js, zh and en), app.embed, app.fontScale (the charts' type size: 1 on the page,
// more in a large embedded frame), app.hidden, app.setTransientNotice(id, notice); engine.js
// for computing, chart.js for drawing, dom.js to build, stepper.js for the steps, fit.js to
// size the current step's charts to an embedded frame (each chart's canvas in a
// .canvas-wrap: the box it may fill, measured before drawing). Its link keys
// are declared in state.js PROPS (with their ranges; a <select>'s options come from there with
// choices(key)), its hidable controls in HIDABLE with class ui-<name>.

import { addStrings } from '../strings.js';
import { asset } from '../assets.js';

export const PANEL_IDS = ['vectors', 'attention', 'layer', 'seq2seq', 'families', 'learn', 'backprop'];

/** Loads every panel's class: {id: Panel}, and adds the panels' own strings. */
export async function loadPanels() {
  const modules = await Promise.all(PANEL_IDS.map((id) => import(asset(`panels/${id}.js`))));
  for (const m of modules) if (m.STRINGS) addStrings(m.STRINGS);
  return Object.fromEntries(PANEL_IDS.map((id, i) => [id, modules[i].default]));
}
