/**
 * @module domain/sharded-memory-ledger
 * The partitioned ledger in memory, the reference model of the per-user D1 shards: N
 * `MemoryLedger`s, each user's accounts in their owner's shard (the shard function is given), and
 * an entry between two people posted as legs (domain/ledger-legs) by the protocol db/ runs on D1:
 *
 * 1. `begin`: the first leg on the lead owner's shard, under the two rules; in the same step,
 *    only if that leg was posted now, one pending transfer per following leg on that shard,
 *    holding the leg.
 * 2. `deliver`: a following leg posted on its owner's shard, idempotent by its leg key.
 * 3. `complete`: its transfer marked done on the lead shard.
 *
 * Each step is its own call so the property tests can crash between any two (by not making the
 * next call), retry a whole posting (`post`: a duplicate first leg still drives what is pending of
 * that entry), drive transfers in any order, and sweep (`drivePending`) as the reconciliation cron
 * does. The platform's, the providers' and the transit accounts have no owner: each shard holds
 * its own part of them, and their balance is the sum over the shards.
 */
import { Account, accountOwner, type Line, type Entry, type PostOutcome } from "./ledger-entries";
import { type Leg, leadOwnerOf, legsOf } from "./ledger-legs";
import { MemoryLedger } from "./memory-ledger";
import type { Money } from "./fare";

/** A following leg on its way: the row step 1 writes on the lead shard (D1: a table in each shard). */
export type Transfer = {
  /** The following leg's key: unique on the lead shard, and the leg's idempotency key on its own. */
  key: string;
  entryKey: string;
  leg: Leg;
  /** The lead shard, which holds this row, and the shard the leg is posted on. */
  from: number;
  to: number;
  /** When step 1 recorded it: the sweep drives only transfers older than its grace period. */
  at: number;
  done: boolean;
};

/** The ledger split over shards by owner, posting entries as legs; the property tests drive it. */
export class ShardedMemoryLedger {
  readonly shards: MemoryLedger[];
  private readonly shardOf: (owner: string) => number;
  /** Per shard, the transfers its first legs recorded, by leg key; done ones are kept, as D1 keeps the rows. */
  private readonly transfers: Map<string, Transfer>[];

  constructor(count: number, shardOf: (owner: string) => number) {
    if (!Number.isSafeInteger(count) || count < 1)
      throw new RangeError(`a ledger needs 1 or more shards, not ${count}`);
    this.shards = Array.from({ length: count }, () => new MemoryLedger());
    this.transfers = Array.from({ length: count }, () => new Map());
    this.shardOf = shardOf;
  }

  /** The shard that holds `owner`'s accounts. */
  shardOfOwner(owner: string): number {
    const shard = this.shardOf(owner);
    if (!Number.isSafeInteger(shard) || shard < 0 || shard >= this.shards.length)
      throw new RangeError(`user ${owner} maps to shard ${shard}, not one of 0..${this.shards.length - 1}`);
    return shard;
  }

  private shard(index: number): MemoryLedger {
    const shard = this.shards[index];
    if (!shard) throw new RangeError(`no shard ${index}`);
    return shard;
  }

  /**
   * Step 1: the first leg on the lead owner's shard, and, only if it was posted now, a pending
   * transfer per following leg. A duplicate or refused first leg records nothing.
   */
  begin(entry: Entry, at = 0): PostOutcome {
    const [first, ...following] = legsOf(entry);
    if (!first) throw new RangeError(`entry ${entry.key} has no legs`);
    const from = this.shardOfOwner(first.owner);
    const outcome = this.shard(from).post(first.entry);
    if (outcome !== "posted") return outcome;
    const rows = this.transfers[from];
    for (const leg of following) {
      const transfer = { key: leg.entry.key, entryKey: entry.key, leg, from, to: this.shardOfOwner(leg.owner), at };
      rows?.set(leg.entry.key, { ...transfer, done: false });
    }
    return outcome;
  }

  /** Step 2: the transfer's leg posted on its owner's shard; a replay of it is a duplicate. */
  deliver(transfer: Transfer): PostOutcome {
    return this.shard(transfer.to).post(transfer.leg.entry);
  }

  /** Whether the transfer's leg is on its owner's shard (delivered, whether or not marked done). */
  arrived(transfer: Transfer): boolean {
    return this.shard(transfer.to).has(transfer.key);
  }

  /** Step 3: the transfer marked done on the lead shard. Only after its leg arrived, as in D1. */
  complete(transfer: Transfer): void {
    if (!this.arrived(transfer)) throw new RangeError(`transfer ${transfer.key} is marked done before its leg arrived`);
    const row = this.transfers[transfer.from]?.get(transfer.key);
    if (row) row.done = true;
  }

  /** Steps 2 and 3 for one transfer. A refused leg (which legsOf rules out) stays pending. */
  drive(transfer: Transfer): PostOutcome {
    const outcome = this.deliver(transfer);
    if (outcome !== "refused") this.complete(transfer);
    return outcome;
  }

  /** The pending transfers of one entry: read on its lead shard, as a retry of the posting does. */
  pendingOf(entry: Entry): Transfer[] {
    const rows = this.transfers[this.shardOfOwner(leadOwnerOf(entry))];
    return [...(rows?.values() ?? [])].filter((t) => !t.done && t.entryKey === entry.key);
  }

  /** Every pending transfer, over all shards. */
  pending(): Transfer[] {
    return this.transfers.flatMap((rows) => [...rows.values()].filter((t) => !t.done));
  }

  /**
   * The whole posting, or its retry: step 1, then every still pending transfer of the entry
   * (a duplicate first leg recorded none now, but an earlier attempt may have). The outcome is
   * the first leg's.
   */
  post(entry: Entry, at = 0): PostOutcome {
    const outcome = this.begin(entry, at);
    for (const transfer of this.pendingOf(entry)) this.drive(transfer);
    return outcome;
  }

  /** The reconciliation sweep: drives every pending transfer recorded at or before `recordedBy`. */
  drivePending(recordedBy = Number.POSITIVE_INFINITY): number {
    const due = this.pending().filter((t) => t.at <= recordedBy);
    for (const transfer of due) this.drive(transfer);
    return due.length;
  }

  /** A user's account on its owner's shard; an unowned one summed over all shards. */
  balance(account: string, currency: string): number {
    const owner = accountOwner(account);
    if (owner !== null) return this.shard(this.shardOfOwner(owner)).balance(account, currency);
    return this.shards.reduce((sum, shard) => sum + shard.balance(account, currency), 0);
  }

  /** Every account with lines, an unowned one summed over the shards. */
  accounts(): { account: string; currency: string; balance: number }[] {
    const sums = new Map<string, { account: string; currency: string; balance: number }>();
    for (const shard of this.shards)
      for (const a of shard.accounts()) {
        const id = `${a.account}\u0000${a.currency}`;
        const sum = sums.get(id) ?? { account: a.account, currency: a.currency, balance: 0 };
        sum.balance += a.balance;
        sums.set(id, sum);
      }
    return [...sums.values()];
  }

  /** The transit account over all shards: what left a first leg and has not arrived yet. */
  transit(currency: string): number {
    return this.balance(Account.transit, currency);
  }

  /** What the pending transfers whose legs have not arrived carry, from the transfer rows alone. */
  inFlight(currency: string): number {
    let sum = 0;
    for (const t of this.pending()) if (!this.arrived(t)) sum -= transitOf(t.leg.entry.lines, currency);
    return sum;
  }

  /** What is on hold for one trip, on the rider's shard. */
  heldFor(tripId: string, riderId: string, currency: string): Money {
    return this.shard(this.shardOfOwner(riderId)).heldFor(tripId, riderId, currency);
  }
}

/** The sum of the transit lines of one currency. */
function transitOf(lines: Line[], currency: string): number {
  return lines
    .filter((l) => l.account === Account.transit && l.currency === currency)
    .reduce((s, l) => s + l.amount, 0);
}
