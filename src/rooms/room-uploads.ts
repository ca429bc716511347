/**
 * @module rooms/room-uploads
 * A chat room's record of the files uploaded to it (the bytes are in R2, under the key). A key
 * is `granted` when its upload URL is signed (its declared size counts against the uploader's
 * quota of unattached bytes, UPLOAD_PENDING_MAX_BYTES, from then on), claimed once, when its
 * upload starts (`pending`): a second upload with the same URL finds it taken. It
 * is `stored` once the bytes passed the checks (files/scan.ts), or `rejected`; `attached` once a
 * message carries it, `deleted` once a message that carried it was deleted. An upload no message
 * carries within UPLOAD_UNATTACHED_TTL_MS is swept (the room's alarm): row and bytes go, so
 * nobody keeps storage that no message shows. A message may
 * carry only uploads its sender stored in this room, and takes their type, size, name and
 * dimensions from here, never from the client. Kept in the room's SQLite, so the check runs
 * beside the message it lets through, with no D1 read.
 */
import { ApiError, conflict, notFound } from "../errors";
import type { Attachment, AttachmentContentType } from "../protocol/attachments";

type UploadRow = {
  key: string;
  user_id: string;
  content_type: AttachmentContentType;
  filename: string;
  size: number | null;
  width: number | null;
  height: number | null;
  state: "granted" | "pending" | "stored" | "rejected" | "deleted";
  attached: number;
  created_at: number;
  expires_at: number | null;
};

/** What a checked upload adds to its claim. */
export type StoredFile = { size: number; width?: number; height?: number };

function attachmentOf(row: UploadRow): Attachment {
  return {
    key: row.key,
    contentType: row.content_type,
    size: row.size ?? 0,
    filename: row.filename,
    ...(row.width === null ? {} : { width: row.width }),
    ...(row.height === null ? {} : { height: row.height }),
  };
}

export class RoomUploads {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS uploads (key TEXT PRIMARY KEY, user_id TEXT NOT NULL, content_type TEXT NOT NULL,
       filename TEXT NOT NULL, size INTEGER, width INTEGER, height INTEGER, state TEXT NOT NULL,
       created_at INTEGER NOT NULL, attached INTEGER NOT NULL DEFAULT 0, expires_at INTEGER)`,
    );
    // A room's table from before the sweep: whether a message carries each of its uploads was
    // never recorded, so all of them count as attached (none is swept from under a message).
    const columns = sql.exec<{ name: string }>(`PRAGMA table_info(uploads)`).toArray();
    if (!columns.some((c) => c.name === "attached")) {
      sql.exec(`ALTER TABLE uploads ADD COLUMN attached INTEGER NOT NULL DEFAULT 0`);
      sql.exec(`ALTER TABLE uploads ADD COLUMN expires_at INTEGER`);
      sql.exec(`UPDATE uploads SET attached = 1`);
    }
    sql.exec(`CREATE INDEX IF NOT EXISTS uploads_unattached ON uploads (attached, created_at)`);
  }

  /**
   * Records the upload URL about to be signed for `key`: its declared size counts against the
   * user's unattached bytes in this room until a message carries it, its URL expires unused, or
   * the sweep takes it. 429 `upload_quota_exceeded` when it would pass `maxPendingBytes`.
   */
  grant(
    upload: { key: string; userId: string; contentType: AttachmentContentType; filename: string; size: number },
    expiresAt: number,
    maxPendingBytes: number,
    now: number,
  ): void {
    const pending = this.pendingBytes(upload.userId, now);
    if (pending + upload.size > maxPendingBytes)
      throw new ApiError(
        429,
        "upload_quota_exceeded",
        `you have ${pending} bytes uploaded to this room that no message carries (limit ${maxPendingBytes}); ` +
          "send or wait for them to expire",
        { limit: maxPendingBytes, pending },
      );
    this.sql.exec(
      `INSERT INTO uploads (key, user_id, content_type, filename, size, state, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, 'granted', ?, ?)`,
      upload.key,
      upload.userId,
      upload.contentType,
      upload.filename,
      upload.size,
      now,
      expiresAt,
    );
  }

  /**
   * Bytes of `userId`'s uploads here that no message carries: stored or uploading, and the
   * declared size of URLs not yet used nor expired.
   */
  pendingBytes(userId: string, now: number): number {
    const [row] = this.sql
      .exec<{ bytes: number | null }>(
        `SELECT SUM(size) AS bytes FROM uploads WHERE user_id = ? AND attached = 0
         AND (state IN ('pending', 'stored') OR (state = 'granted' AND expires_at > ?))`,
        userId,
        now,
      )
      .toArray();
    return row?.bytes ?? 0;
  }

  /** Claims `key` for its upload by `userId`; 409 when the URL was used before (or its record swept). */
  claim(key: string, userId: string, now: number): void {
    const claimed = this.sql
      .exec(
        `UPDATE uploads SET state = 'pending' WHERE key = ? AND user_id = ? AND state = 'granted' AND expires_at > ?
         RETURNING key`,
        key,
        userId,
        now,
      )
      .toArray();
    if (claimed.length === 0) throw conflict("this upload URL has been used already; ask for a new one");
  }

  /** A message now carries these (checked) uploads: the sweep leaves them, and they leave the quota. */
  markAttached(keys: readonly string[]): void {
    for (const key of keys) this.sql.exec(`UPDATE uploads SET attached = 1 WHERE key = ?`, key);
  }

  /** When the oldest upload no message carries is due for the sweep; null when there is none. */
  nextSweepAt(ttlMs: number): number | null {
    const [row] = this.sql
      .exec<{ oldest: number | null }>(
        `SELECT MIN(created_at) AS oldest FROM uploads WHERE attached = 0 AND state != 'deleted'`,
      )
      .toArray();
    return row?.oldest == null ? null : row.oldest + ttlMs;
  }

  /**
   * Forgets the uploads no message carried within `ttlMs` (unused URLs, unfinished or refused
   * uploads, stored files never sent), oldest first, at most 1,000 (one R2 delete call); answers
   * their keys, whose bytes the caller deletes. Forgotten first: a message sent meanwhile cannot
   * carry a key whose bytes are going, and its download 404s like any unknown key.
   */
  sweep(ttlMs: number, now: number): string[] {
    return this.sql
      .exec<{ key: string }>(
        `DELETE FROM uploads WHERE key IN (SELECT key FROM uploads WHERE attached = 0 AND state != 'deleted'
         AND created_at <= ? ORDER BY created_at LIMIT 1000) RETURNING key`,
        now - ttlMs,
      )
      .toArray()
      .map((row) => row.key);
  }

  /** Records the claimed upload's checked bytes; answers the attachment a message may carry. */
  store(key: string, userId: string, file: StoredFile): Attachment {
    const [row] = this.sql
      .exec<UploadRow>(
        `UPDATE uploads SET state = 'stored', size = ?, width = ?, height = ?
         WHERE key = ? AND user_id = ? AND state = 'pending' RETURNING *`,
        file.size,
        file.width ?? null,
        file.height ?? null,
        key,
        userId,
      )
      .toArray();
    if (!row) throw conflict("this upload is not waiting for its bytes");
    return attachmentOf(row);
  }

  /** The claimed upload's bytes were refused: the key stays taken, and nothing may carry it. */
  reject(key: string): void {
    this.sql.exec(`UPDATE uploads SET state = 'rejected' WHERE key = ? AND state = 'pending'`, key);
  }

  /** The files of a deleted message: no message may carry them again, and nobody downloads them. */
  discard(keys: readonly string[]): void {
    for (const key of keys) this.sql.exec(`UPDATE uploads SET state = 'deleted' WHERE key = ?`, key);
  }

  /**
   * The attachments a message by `userId` names, in its order: each must be an upload they
   * stored in this room. Someone else's key, a key of another room, one still uploading or
   * refused all get the same 403, which says nothing of whether the key exists.
   */
  ownedBy(userId: string, keys: readonly string[]): Attachment[] {
    return keys.map((key) => {
      const row = this.storedRow(key);
      if (!row || row.user_id !== userId)
        throw new ApiError(403, "forbidden", "a message may carry only files you uploaded to this room", { key });
      return attachmentOf(row);
    });
  }

  /** A stored upload of this room, for a download; 404 for any other key. */
  stored(key: string): Attachment {
    const row = this.storedRow(key);
    if (!row) throw notFound("attachment not found");
    return attachmentOf(row);
  }

  private storedRow(key: string): UploadRow | undefined {
    return this.sql.exec<UploadRow>(`SELECT * FROM uploads WHERE key = ? AND state = 'stored'`, key).toArray()[0];
  }
}
