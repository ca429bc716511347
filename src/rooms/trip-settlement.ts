/**
 * @module rooms/trip-settlement
 * The trip room's side of payments. When a move ends the trip, the settlement it calls for
 * (domain/settlement's `settlementOf`: capture, fee or release) is stored in the room's SQLite in
 * the same transaction as the status, like an outbox row. The room's write-behind (retried by
 * its alarm until it succeeds) and the receipt route then post it to the D1 ledger; the ledger
 * keys (`trip:<id>:release`, `trip:<id>:capture`, …) make a second run post nothing, so the row
 * is deleted only after the ledger has it. A charged rider gets a receipt notification.
 */
import type { Config } from "../config";
import { settleTrip } from "../db/settlement";
import { Settlement, settlementOf } from "../domain/settlement";
import type { TripEvent, TripState } from "../domain/trip";
import { receiptNotification } from "../notify/message";
import { notifyBehind } from "../notify/producer";

export const SETTLEMENT_SCHEMA = `CREATE TABLE IF NOT EXISTS settlement (trip_id TEXT PRIMARY KEY, data TEXT NOT NULL)`;

/** Call inside the transaction that stores `after`. */
export function recordSettlement(sql: SqlStorage, after: TripState, events: readonly TripEvent[]): void {
  const settlement = settlementOf(after, events);
  if (settlement)
    sql.exec(
      `INSERT OR IGNORE INTO settlement (trip_id, data) VALUES (?, ?)`,
      settlement.tripId,
      JSON.stringify(settlement),
    );
}

/** Posts every stored settlement to the ledger; throws (to be retried) if D1 fails. True when one was posted. */
export async function settlePending(
  sql: SqlStorage,
  env: Env,
  config: Config,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  onError: (err: unknown) => void,
): Promise<boolean> {
  const rows = sql.exec<{ trip_id: string; data: string }>(`SELECT trip_id, data FROM settlement`).toArray();
  for (const row of rows) {
    const parsed = Settlement.safeParse(JSON.parse(row.data));
    if (!parsed.success) {
      onError(new Error(`unreadable settlement for trip ${row.trip_id}`));
      continue;
    }
    const settlement = parsed.data;
    const charge = await settleTrip(env, settlement, config.commissionBps, Date.now());
    if (settlement.type !== "release" && charge?.data) {
      // Sent after every successful settle, not only the first: the notification id is
      // deterministic, so a repeat is dropped by the consumer, and a crash between the posting
      // and this line cannot lose the receipt.
      notifyBehind(
        ctx,
        env.NOTIFICATIONS,
        [
          receiptNotification(
            settlement.tripId,
            settlement.riderId,
            settlement.type,
            charge.data.charge,
            charge.createdAt,
          ),
        ],
        onError,
      );
    }
    sql.exec(`DELETE FROM settlement WHERE trip_id = ?`, row.trip_id);
  }
  return rows.length > 0;
}
