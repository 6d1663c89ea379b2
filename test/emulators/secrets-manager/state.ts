import { randomBytes } from 'node:crypto';
import { markedForDeletion, notFound } from './errors.js';
import { RotationEngine, type RotationRetryPolicy } from './rotation.js';
import type { RotationRules } from './schedule.js';

export interface Version {
  versionId: string;
  stages: string[];
  /** SecretString. A version holds this or `binary`; neither while it is a rotation's placeholder. */
  value?: string;
  /** SecretBinary, as bytes. */
  binary?: Buffer;
  createdAt: number;
  /** When GetSecretValue last returned this version, truncated to the day (UTC midnight, ms). */
  lastAccessedAt?: number;
}

export const hasValue = (v: Version) => v.value !== undefined || v.binary !== undefined;

/** Rotation configuration, present once RotateSecret has stored one ("configured for rotation"). */
export interface RotationConfig {
  enabled: boolean;
  lambdaArn: string;
  rules?: RotationRules;
  configuredAt: number;
}

export interface Secret {
  arn: string;
  name: string;
  description?: string;
  createdAt: number;
  lastChangedAt: number;
  deletedAt?: number;
  tags?: { Key: string; Value: string }[];
  /** Creation order; labelled and deprecated versions alike. */
  versions: Version[];
  rotation?: RotationConfig;
  /** When GetSecretValue last read any version, truncated to the day (UTC midnight, ms). */
  lastAccessedAt?: number;
  /** When a rotation last succeeded. */
  lastRotatedAt?: number;
  /** When PutSecretValue/UpdateSecret last made a new AWSCURRENT; that counts as a rotation for the schedule. */
  lastValueChangeAt?: number;
}

/** Secrets as JSON-ready data (SecretBinary in base64), for a sandbox that keeps them across restarts. */
export interface SmSnapshot {
  secrets: (Omit<Secret, 'versions'> & { versions: (Omit<Version, 'binary'> & { binary?: string })[] })[];
}

const ARN_SUFFIX = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Secrets by name; lookups accept the name, the full ARN or the ARN without its random suffix. */
export class SmState {
  readonly secrets = new Map<string, Secret>();
  readonly rotations: RotationEngine;

  constructor(
    readonly region: string,
    readonly accountId: string,
    public now: () => number,
    rotationRetry: Partial<RotationRetryPolicy> = {},
  ) {
    this.rotations = new RotationEngine(this, rotationRetry);
  }

  snapshot(): SmSnapshot {
    return {
      secrets: [...this.secrets.values()].map((s) => ({
        ...structuredClone({ ...s, versions: [] }),
        versions: s.versions.map(({ binary, ...v }) => ({
          ...structuredClone(v),
          ...(binary ? { binary: binary.toString('base64') } : {}),
        })),
      })),
    };
  }

  restore(snapshot: SmSnapshot): void {
    for (const s of snapshot.secrets) {
      const versions = s.versions.map(({ binary, ...v }) => ({
        ...structuredClone(v),
        ...(binary !== undefined ? { binary: Buffer.from(binary, 'base64') } : {}),
      }));
      this.secrets.set(s.name, { ...structuredClone({ ...s, versions: [] }), versions });
    }
  }

  arnFor(name: string): string {
    const suffix = Array.from(randomBytes(6), (b) => ARN_SUFFIX[b % ARN_SUFFIX.length]).join('');
    return `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${suffix}`;
  }

  find(id: string): Secret | undefined {
    const byName = this.secrets.get(id);
    if (byName) return byName;
    for (const s of this.secrets.values()) if (s.arn === id || s.arn.slice(0, -7) === id) return s;
    return undefined;
  }

  /** For reads that still work on a secret scheduled for deletion (DescribeSecret). */
  get(id: string): Secret {
    const s = this.find(id);
    if (!s) throw notFound();
    return s;
  }

  /** For everything else. */
  live(id: string): Secret {
    const s = this.get(id);
    if (s.deletedAt !== undefined) throw markedForDeletion();
    return s;
  }

  /** Moves `stage` to `versionId`; moving AWSCURRENT hands AWSPREVIOUS to the version it left. */
  moveStage(secret: Secret, stage: string, versionId: string | undefined): void {
    const from = secret.versions.find((v) => v.stages.includes(stage));
    if (from && from.versionId === versionId) return;
    if (from) from.stages = from.stages.filter((s) => s !== stage);
    if (versionId) secret.versions.find((v) => v.versionId === versionId)?.stages.push(stage);
    if (stage === 'AWSCURRENT' && from && versionId) {
      for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
      from.stages.push('AWSPREVIOUS');
    }
    secret.lastChangedAt = this.now();
  }

  /**
   * What Secrets Manager does before it invokes a rotation function: a value-less version with
   * VersionId = token, labelled AWSPENDING (DescribeSecret doc: "Secrets Manager creates an
   * AWSPENDING version ID before creating the new secret version").
   */
  beginRotation(secret: Secret, token: string): void {
    if (!secret.versions.some((v) => v.versionId === token))
      secret.versions.push({ versionId: token, stages: [], createdAt: this.now() });
    this.moveStage(secret, 'AWSPENDING', token);
  }

  /** RotateImmediately=false: "This test creates an AWSPENDING version of the secret and then removes it." */
  endRotationTest(secret: Secret, token: string): void {
    const at = secret.versions.findIndex((v) => v.versionId === token);
    const version = secret.versions[at];
    if (!version) return;
    version.stages = version.stages.filter((s) => s !== 'AWSPENDING');
    if (version.stages.length === 0 && !hasValue(version)) secret.versions.splice(at, 1);
  }

  /** AWS keeps at most 100 unlabelled versions; older ones are removed. */
  trim(secret: Secret): void {
    let deprecated = secret.versions.filter((v) => v.stages.length === 0).length;
    while (deprecated > 100) {
      const index = secret.versions.findIndex((v) => v.stages.length === 0);
      secret.versions.splice(index, 1);
      deprecated--;
    }
  }
}
