/**
 * @module domain/ledger-legs
 * How an entry that moves money between two people is posted when each person's money lives in
 * their own partition (docs/DATA-LAYOUT.md, "The ledger, keyed by account"): as one leg per
 * owner, linked through the transit account.
 *
 * Every user account (`wallet:`, `hold:`, `receivable:`, `earnings:`, `payout:<user>`) is owned by
 * its user, and lives in that user's shard. An entry's lines are grouped by owner:
 *
 * - The **first leg** holds the lines of the entry's lead owner (the one whose guarded accounts it
 *   takes from, else the owner of its first owned line) and `transit +t`, where t is what the
 *   other legs' lines add up to. It keeps the entry's key, so a replay posts nothing, exactly as
 *   before.
 * - Each **following leg** holds one other owner's lines and `transit −t` for them, under the key
 *   `leg:<owner>:<entry key>`. It only credits or takes from accounts no guard protects, so once the
 *   first leg is posted it can always be posted: nothing can refuse it.
 * - The unowned lines (`platform:revenue`, `clearing:<provider>`) go with the driver whose earnings
 *   the entry moves, if it moves any, else with the lead owner: a charge's commission then sits
 *   beside the earnings it was taken from, so a driver's earnings statement (gross, commission,
 *   net) reads their shard alone.
 *
 * Each leg balances on its own, so each shard's lines sum to zero per currency. While a following
 * leg is not yet posted, its amount sits on `transit` in the first leg's shard: the transit account
 * of all shards together is what is in flight, and zero when every transfer has arrived.
 *
 * An entry with one owner is one leg, the entry itself. Legs are by owner, not by shard, even when
 * two owners share a shard today: an entry's rows then move with their owner's buckets when a
 * shard is split, and never have to be cut apart.
 *
 * Plain TypeScript, so the property tests run these exact rules in Node.
 */
import { Account, accountKind, accountOwner, balancedEntry, type Entry, guardsOf, type Line } from "./ledger-entries";

/** One owner's part of an entry: posted in that owner's shard. */
export type Leg = { owner: string; entry: Entry };

/**
 * The key of the leg that carries `owner`'s lines of the entry keyed `entryKey`. The prefix keeps
 * it apart from every entry's key: tips and refunds end in the client's Idempotency-Key, so a
 * suffix (`<entry key>:leg:<owner>`) could be sent as one, and the real leg would then be a
 * "duplicate" of it on a shared shard: marked done, never posted, its money left in transit. No
 * entry key starts with `leg:`, and a user id has no colon, so two legs' keys cannot meet either.
 */
export const legKey = (entryKey: string, owner: string) => `leg:${owner}:${entryKey}`;

/** The owner whose partition holds an entry's first leg. Every entry moves some user's money. */
export function leadOwnerOf(entry: Entry): string {
  const guardedOwner = guardsOf(entry)
    .map((g) => accountOwner(g.account))
    .find((owner) => owner !== null);
  if (guardedOwner) return guardedOwner;
  for (const line of entry.lines) {
    const owner = accountOwner(line.account);
    if (owner !== null) return owner;
  }
  throw new RangeError(`entry ${entry.key} moves no user's money`);
}

/**
 * The legs of `entry`, the first one first. A single owner's entry is returned as it is. Throws
 * (RangeError) if an owner other than the lead one would be guarded (that leg could be refused
 * after the first was posted, and no entry of the ledger needs it), or if the entry is a leg.
 */
export function legsOf(entry: Entry): Leg[] {
  // A leg read back from a shard is not an entry: splitting it again would post its transit line
  // as if it were money, and leave the other owners' side of it untouched.
  if (entry.lines.some((l) => l.account === Account.transit))
    throw new RangeError(`entry ${entry.key} is already a leg (it has a transit line)`);
  const lead = leadOwnerOf(entry);
  const earner = entry.lines.find((l) => accountKind(l.account) === "earnings");
  const unownedWith = (earner && accountOwner(earner.account)) ?? lead;
  const others = new Map<string, Line[]>();
  const leadLines: Line[] = [];
  for (const line of entry.lines) {
    const owner = accountOwner(line.account) ?? unownedWith;
    if (owner === lead) leadLines.push(line);
    else others.set(owner, [...(others.get(owner) ?? []), line]);
  }
  if (others.size === 0) return [{ owner: lead, entry }];
  for (const guard of guardsOf(entry))
    if (accountOwner(guard.account) !== lead)
      throw new RangeError(`entry ${entry.key} takes guarded money from a second owner (${guard.account})`);

  const following: Leg[] = [];
  const inFlight = new Map<string, number>();
  for (const [owner, lines] of others) {
    const sums = new Map<string, number>();
    for (const l of lines) sums.set(l.currency, (sums.get(l.currency) ?? 0) + l.amount);
    const transit = [...sums].map(([currency, sum]) => ({ account: Account.transit, amount: -sum, currency }));
    for (const [currency, sum] of sums) inFlight.set(currency, (inFlight.get(currency) ?? 0) + sum);
    following.push({
      owner,
      entry: balancedEntry(legKey(entry.key, owner), entry.kind, entry.tripId, [...lines, ...transit], entry.data),
    });
  }
  const transitOut = [...inFlight].map(([currency, sum]) => ({ account: Account.transit, amount: sum, currency }));
  const first = balancedEntry(entry.key, entry.kind, entry.tripId, [...leadLines, ...transitOut], entry.data);
  return [{ owner: lead, entry: first }, ...following];
}
