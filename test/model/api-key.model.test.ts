import { modelSuite } from '../support/model-suite.js';
import * as model from './api-key.model.js';

/** The properties of the API-key flow: one per invariant, over the world and commands of ./api-key.model.ts. */
modelSuite('model: the API-key flow under kills, faults, late writes, races and a person acting', 'api-key', model, [
  ['I1', 'never deletes a key its target did not provably create'],
  ['I2', "deletes a key any AWSCURRENT served only once none has served it for the gate's overlap"],
  ['I3', "never deletes a key another configured target's secret holds"],
  ['I4', 'leaves a working AWSCURRENT after every run without faults'],
  ['I5', 'loses nothing stored'],
]);
