// A helper of data-parallel training (shards.js): it holds a replica of the coordinator's model
// and computes the parts of a step it is asked for, with the weights it is sent. The page hands
// it a MessagePort to the coordinator (`{port}`, the first message after the lesson's module);
// everything else arrives on that port (shards.js serveReplica).

import init, { Model, Seq2Seq } from '../pkg/lm_playground.js';
import { wasmSource } from '../assets.js';
import { serveReplica } from './shards.js';

const ready = init({ module_or_path: wasmSource() });

self.onmessage = async (e) => {
  const port = e.data?.port;
  if (!port) return;
  await ready;
  serveReplica(port, { Model, Seq2Seq });
};
