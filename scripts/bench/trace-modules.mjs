// node --import ./scripts/bench/trace-modules.mjs <program>: at exit, writes to $TKR_TRACE_OUT (JSON) every
// module file the process loaded: `esm`, in load order, what went through the ESM loader (the
// program's ES modules and chunks, and the CommonJS packages they import); `cjs`, everything in
// require's cache (CommonJS loaded by CommonJS never reaches the ESM hooks). Used by
// scripts/bench/startup.ts to learn what a path loads, in a run that is not timed.
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) port.postMessage(url);
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });
port1.unref();

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const esm = [];
  // The hooks run on their own thread; whatever they posted is drained here, synchronously.
  for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) esm.push(m.message);
  writeFileSync(process.env.TKR_TRACE_OUT, JSON.stringify({ esm, cjs: Object.keys(require.cache) }));
});
