export { actOutFault, EmulatorControls, FAULT_KINDS, prng, sleep, untilAnswer } from './controls.js';
export type { Admission, EmulatorHooks, FaultKind, FaultPlan, RequestLogEntry } from './controls.js';
export { serve } from './server.js';
export type { Handler, RunningServer, ServeOptions } from './server.js';
export { CONTROL_PREFIX, handleControlRoute } from './control-routes.js';
export { accessKeyOf } from './aws.js';
