export * from './ports.js';
export * from './state.js';
export { plan, gateBlockers, parseCurrentSince, formatCurrentSince } from './planner.js';
export { rotationId, isRotatorKeyName, ROTATION_ID } from './rotation-id.js';
export { verifyMethodFor, describeVerifyMethod } from './verify-method.js';
export * from './secret-shapes.js';
