import type { KindConfig } from '../config/common.js';
import type { CredentialKind, TargetConfig } from '../config/types.js';
import type { ObservationBase, KindModule, Session } from './kind.js';
import { apiKey } from './api-key/module.js';
import { apiKeyConfig } from './api-key/config.js';
import { authToken } from './auth-token/module.js';
import { authTokenConfig } from './auth-token/config.js';

/**
 * The one registry of credential kinds. Each entry is a folder's module and configuration; a kind
 * listed in `CredentialKind` (config/types.ts) without an entry here does not compile.
 */
export const KINDS = {
  'api-key': { module: apiKey, config: apiKeyConfig },
  'auth-token': { module: authToken, config: authTokenConfig },
} satisfies {
  [K in CredentialKind]: { module: unknown; config: { convert(raw: never): Extract<TargetConfig, { kind: K }> } };
};

/** A kind's module with its own types erased: what the kind-agnostic engine holds. */
export type AnyKind = KindModule<TargetConfig, Session, ObservationBase, { kind: string }, unknown, unknown>;
export type AnyKindConfig = KindConfig<unknown, TargetConfig>;

export function kindOf(target: TargetConfig): AnyKind {
  return KINDS[target.kind].module;
}

export type { ActResult, CurrentSummary, KindModule, ObservationBase, RotationEvent, Session } from './kind.js';
