/**
 * @module rooms/refusals
 * A room's short refusal of one user's new connections, after an operator ended theirs (a
 * ban): stored in the object's sync KV, so it outlives a hibernation. It only has to bridge the
 * moments in which a Worker that has not yet heard of the ban may still let a socket through.
 */
type Refusal = { until: number; reason: string };

const refusalKey = (userId: string) => `refused:${userId}`;

export function refuseUntil(storage: DurableObjectStorage, userId: string, until: number, reason: string): void {
  storage.kv.put(refusalKey(userId), { until, reason } satisfies Refusal);
}

/** Why this user's new connections are refused, or null; an expired refusal is dropped. */
export function refusalOf(storage: DurableObjectStorage, userId: string): string | null {
  const refusal = storage.kv.get<Refusal>(refusalKey(userId));
  if (!refusal) return null;
  if (refusal.until > Date.now()) return refusal.reason;
  storage.kv.delete(refusalKey(userId));
  return null;
}
