// Errors in the page's language: every error a person can cause from the page carries a code
// (the engine's, engine.errorCodes(); the page's own, errors.js PAGE_CODES) with the values its
// message names, and strings.js has the code's sentence in both languages. The page's inputs
// that fail — the texts, prompts, targets, corpora, learning rates and files each panel hands
// the engine — are tried here one by one: each must come back with its code, said in Chinese
// in zh and in English in en.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as lm from '../../www/pkg/lm_playground.js';
import { STRINGS, errorText } from '../../www/strings.js';
import { PAGE_CODES, codedError, errorInfo } from '../../www/errors.js';
import { failure } from '../../www/training/loop.js';
import { wasmBytes } from './helpers.mjs';

lm.initSync({ module: wasmBytes });

const file = (name) => new Uint8Array(readFileSync(new URL(`../../www/models/${name}.safetensors`, import.meta.url)));
const CJK = /[\u4e00-\u9fff]/;
const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** What `f` throws (it must throw). */
function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail(`did not throw: ${f}`);
}

test('every code has its sentence in zh and en, with the same values to fill in, and no string is left over', () => {
  const codes = [...lm.errorCodes(), ...PAGE_CODES];
  assert.equal(new Set(codes).size, codes.length, 'each code once');
  for (const code of codes) {
    const en = STRINGS.en[`err.${code}`], zh = STRINGS.zh[`err.${code}`];
    assert.ok(en, `err.${code} in English`);
    assert.ok(zh && CJK.test(zh), `err.${code} in Chinese`);
    assert.deepEqual(holes(zh), holes(en), `err.${code}: the same {values} in both languages`);
  }
  const known = new Set(codes.map((c) => `err.${c}`));
  for (const lang of ['en', 'zh']) {
    for (const key of Object.keys(STRINGS[lang]).filter((k) => k.startsWith('err.'))) assert.ok(known.has(key), `${lang} ${key} belongs to no code`);
  }
});

test('errorText: a coded error in the page language, any other as its message', () => {
  const e = codedError('file.fetch', { file: 'models/stack-zh.safetensors', status: '404 Not Found' }, 'models/stack-zh.safetensors: 404 Not Found');
  assert.equal(errorText('zh', e), '无法下载 models/stack-zh.safetensors（404 Not Found）。');
  assert.equal(errorText('en', e), 'Could not download models/stack-zh.safetensors (404 Not Found).');
  // what survives postMessage says the same
  assert.equal(errorText('zh', structuredClone(errorInfo(e))), errorText('zh', e));
  assert.equal(errorText('zh', new Error('linear: x has 7 features')), 'linear: x has 7 features', 'no code: the message');
  assert.equal(errorText('zh', codedError('no.such.code', {}, 'as written')), 'as written', 'a code without a string: the message');
  assert.equal(errorText('zh', 'already said'), 'already said');
  assert.equal(errorText('zh', null), '');
  // a worker's failure: a trap is the crash, with its detail; a diverged run says so
  const crash = failure(new WebAssembly.RuntimeError('unreachable'), () => 'panicked at src/x.rs');
  assert.equal(crash.crashed, true);
  assert.equal(crash.code, 'engine.crashed');
  assert.match(errorText('zh', crash), /计算引擎.*panicked at src\/x\.rs/);
  const d = failure(Object.assign(new Error('training diverged: the loss is NaN'), { code: 'train.diverged', params: {} }), () => null);
  assert.equal(d.diverged, true);
  assert.match(errorText('zh', d), /训练发散/);
});

test('every failure the page can reach comes back coded, said in Chinese in zh and in English in en', () => {
  const stack = { zh: lm.Model.fromFile(file('stack-zh')), en: lm.Model.fromFile(file('stack-en')) };
  const s2s = lm.Seq2Seq.fromSafetensors(file('seq2seq-zh'));
  const masked = lm.MaskedLM.fromSafetensors(file('masked-zh'));
  const causal = lm.CausalLM.fromSafetensors(file('causal-en'));
  const tiny = new lm.Model({ corpus: lm.builtinCorpus('en'), dModel: 8, nHeads: 2, nLayers: 1, maxLen: 8, seqLen: 8, batchSize: 4, seed: 1, optimizer: { kind: 'sgd', lr: 1e6 } });
  // [the panel and its input, the call the panel makes, the code, what the message must name]
  const cases = [
    ['attention: a text of spaces', () => lm.attentionDemo('   ', { dModel: 16, heads: 2, seed: 1, causal: false }), 'text.noTokens'],
    ['attention (trained), layer: an empty text', () => stack.zh.traceLayers('', {}), 'text.noTokens'],
    ['learning: an empty prompt', () => tiny.predictNext('  ', 8), 'text.noTokens'],
    ['backpropagation: an empty prompt', () => stack.en.blame('  ', 'walk', {}), 'prompt.empty'],
    ['backpropagation: an empty target', () => stack.en.blame('the weather', ' ', {}), 'target.empty'],
    ['backpropagation: an unknown word as the target', () => stack.en.blame('the weather', 'xyzzyq', {}), 'target.notOneToken', ['xyzzyq']],
    ['backpropagation: two words as the target', () => stack.zh.stepSize('今天天气真好，适合去', '散步吧', { lrs: [0, 0.1] }), 'target.notOneToken', ['散步吧', '散步']],
    ['encoder–decoder: an empty sentence', () => s2s.generate('', {}), 'source.length', ['0', '16']],
    ['encoder–decoder: a sentence too long', () => s2s.generate('小明今天感冒了'.repeat(6).slice(0, 40), {}), 'source.length', ['16']],
    ['families: a text without [MASK]', () => masked.fillMask('小明今天感冒了', { top: 5 }), 'mask.missing'],
    ['families: a masked text too long', () => masked.fillMask('小明今天[MASK]了，他应该多喝水'.repeat(5).slice(0, 80), { top: 5 }), 'text.length', ['16']],
    ['families: a prompt too long', () => causal.generate('Tom has a cold today so he should drink water '.repeat(2).slice(0, 80), {}), 'prompt.tooLong', ['14']],
    ['learning: a corpus of spaces', () => lm.corpusStats(' \n ', { tokenizer: 'word', token: 'a', window: 3, top: 10 }), 'corpus.empty'],
    ['learning: a corpus over the limit', () => lm.corpusStats('a '.repeat(100_001), { tokenizer: 'word', token: 'a', window: 3, top: 10 }), 'corpus.tooLong', ['200002', '200000']],
    ['learning: a model on a corpus of spaces', () => new lm.Model({ corpus: '   ' }), 'corpus.empty'],
    ['learning: a NaN learning rate', () => tiny.setLearningRate(NaN), 'lr.invalid', ['NaN']],
    ['learning: a negative learning rate', () => tiny.setLearningRate(-1), 'lr.invalid', ['-1']],
    ['backpropagation: a negative step size', () => stack.en.blame('the weather', 'is', { lr: -1 }), 'lr.invalid', ['-1']],
    ['learning: training that diverges', () => { for (let i = 0; i < 50; i++) tiny.train(1); }, 'train.diverged'],
    ['a model file that is not one', () => lm.Model.fromFile(new Uint8Array([1, 2, 3])), 'file.unreadable', ['safetensors']],
    ['a model file of another family', () => lm.Seq2Seq.fromSafetensors(file('stack-zh')), 'file.unreadable', ['encoder-decoder']],
  ];
  const engineCodes = new Set(lm.errorCodes());
  for (const [what, f, code, names = []] of cases) {
    const e = thrown(f);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    assert.ok(engineCodes.has(code), `${what}: ${code} is listed by errorCodes()`);
    assert.equal(typeof e.params, 'object', what);
    const zh = errorText('zh', e), en = errorText('en', e);
    assert.ok(CJK.test(zh) && zh !== e.message, `${what}: zh ${zh}`);
    assert.ok(!/\{\w+\}/.test(zh) && !/\{\w+\}/.test(en), `${what}: every value filled in: ${zh} / ${en}`);
    assert.ok(!CJK.test(en.replace(/[“"][^”"]*[”"]/g, '')), `${what}: en ${en}`);
    for (const n of names) assert.ok(zh.includes(n) && en.includes(n), `${what}: names ${n}: ${zh} / ${en}`);
  }
  // the English message the JS API gives is unchanged
  assert.match(thrown(() => s2s.generate('', {})).message, /^generate: seq2seq: the source has 0 tokens; it needs 1 to 16$/);
  // every engine code was reached above
  assert.deepEqual([...engineCodes].filter((c) => !cases.some((x) => x[2] === c)), []);
});
