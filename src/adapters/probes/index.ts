export { runProbe, runProbes } from './http-probe.js';
