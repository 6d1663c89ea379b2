import type { Outcome } from '../core/outcome.js';

/** An outcome in words: what happens (nothing, mostly) and why. Credentials by reference only. */
export function describeOutcome(d: Outcome): string {
  switch (d.kind) {
    case 'done':
      return `nothing: current ${d.current} is fine until ${new Date(d.nextDueAtMs).toISOString()}`;
    case 'busy':
      return `nothing: ${d.reason}`;
    case 'waiting':
      return `nothing yet: keep ${d.kept} until ${d.on.join('; ')}`;
    case 'stuck':
      return `nothing until a person acts (STUCK)${d.kept ? `; ${d.kept} is kept` : ''}: ${d.on.join('; ')}`;
  }
}
