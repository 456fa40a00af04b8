// Reading a wasm binary's sections (shared by the JS tests).

/** Reads an unsigned LEB128 at `pos`; returns [value, nextPos]. */
export function leb(bytes, pos) {
  let result = 0, shift = 0, b;
  do {
    b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

/** Lists the sections of a wasm module: [{id, name (custom only), start, end}]. */
export function sections(bytes) {
  const out = [];
  let pos = 8; // magic + version
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size;
    [size, pos] = leb(bytes, pos);
    const end = pos + size;
    let name = null, start = pos;
    if (id === 0) {
      let n;
      [n, start] = leb(bytes, pos);
      name = new TextDecoder().decode(bytes.subarray(start, start + n));
      start += n;
    }
    out.push({ id, name, start, end });
    pos = end;
  }
  return out;
}

/** The features listed in the `target_features` custom section, e.g. ['+simd128', …]. */
export function targetFeatures(bytes) {
  const s = sections(bytes).find((s) => s.name === 'target_features');
  if (!s) return null;
  let [count, pos] = leb(bytes, s.start);
  const feats = [];
  for (let i = 0; i < count; i++) {
    const prefix = String.fromCharCode(bytes[pos++]);
    let n;
    [n, pos] = leb(bytes, pos);
    feats.push(prefix + new TextDecoder().decode(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  return feats;
}
