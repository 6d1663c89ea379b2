import { modelSuite } from '../support/model-suite.js';
import * as model from './auth-token.model.js';

/**
 * The properties of the Auth Token flow: one per invariant, over the world and commands of
 * ./auth-token.model.ts. I3 (a key another target holds) has no subject here: one API-key target, and
 * the admin copy of the token is refreshed by design. The API-key model checks it with two targets on
 * one account.
 */
modelSuite(
  'model: the Auth Token flow under kills, faults, late writes, races and a person acting',
  'auth-token',
  model,
  [
    ['I1', 'never deletes or promotes a secondary its target did not provably create'],
    ['I2', "kills (promotes over) or deletes a token an AWSCURRENT served only after the gate's overlap"],
    ['I4', 'leaves a working AWSCURRENT after every run without faults'],
    ['I5', 'loses nothing stored, and the primary token is always held by some version'],
  ],
);
