// Errors the page can say in its own language. An error a person can cause carries a `code`
// and the values its message names (`params`): the engine's (engine.errorCodes(): a text
// without tokens, a target that is not one token, a run that diverged…, set by the Rust core,
// src/error.rs) and the page's own, below. strings.js's errorText(lang, e) says it with the
// string `err.<code>`, or, for an error without one, gives its message as written (English).
// No imports: the training workers use this file too.

/** The codes the page itself gives (params in brackets). */
export const PAGE_CODES = Object.freeze([
  'engine.crashed', // the engine trapped: it must be reloaded {detail}
  'file.fetch', // a model file could not be downloaded {file, status}
  'worker.failed', // a training worker could not run {detail}
]);

/** An Error with `code` and `params`, and `message` (English) for whoever does not translate it. */
export function codedError(code, params, message) {
  const e = new Error(message);
  e.code = code;
  e.params = params;
  return e;
}

/**
 * What the page keeps of an error, as plain data that survives postMessage (which drops an
 * Error's own properties): `{message, code?, params?}`.
 */
export function errorInfo(e) {
  const info = { message: String(e?.message ?? e) };
  if (typeof e?.code === 'string') Object.assign(info, { code: e.code, params: { ...(e.params ?? {}) } });
  return info;
}
