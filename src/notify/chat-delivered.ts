/**
 * @module notify/chat-delivered
 * Tells a chat room that a push of one of its messages reached a device of its recipient, so
 * that the recipient's delivered mark moves (rooms/delivery-marks.ts) as it does for a socket,
 * a stream or a long poll. Only what the consumer recorded counts: a notification that ended
 * `delivered`, or one retried after some devices already took it.
 */
import type { AttemptRecord } from "../db/notifications";
import { errorReason } from "../redact";
import { chatRoom } from "../rooms/stubs";
import type { NotificationMessage } from "./message";

/** Whether an attempt's records say a device of the recipient has the notification. */
function reachedDevice(records: readonly AttemptRecord[]): boolean {
  return records.some(
    (r) => (r.kind === "end" && r.status === "delivered") || (r.kind === "release" && r.deliveredTo.length > 0),
  );
}

/**
 * One RPC per delivered chat notification, after the attempts were recorded. A failed report is
 * logged and dropped: a delivered mark is a courtesy to the sender, not worth a redelivery.
 */
export async function reportChatDeliveries(
  env: Env,
  delivered: readonly { message: NotificationMessage; records: readonly AttemptRecord[] }[],
): Promise<void> {
  const reports = delivered.flatMap(({ message, records }) =>
    message.type === "chat_message" && reachedDevice(records)
      ? [{ roomId: message.data.roomId, userId: message.userId, seq: message.data.seq }]
      : [],
  );
  await Promise.all(
    reports.map(({ roomId, userId, seq }) =>
      chatRoom(env, roomId)
        .pushDelivered(userId, seq)
        .catch((err: unknown) =>
          console.error(JSON.stringify({ level: "error", where: "reportChatDeliveries", reason: errorReason(err) })),
        ),
    ),
  );
}
