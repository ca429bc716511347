/**
 * @module rooms/room-uploads
 * A chat room's record of the files uploaded to it (the bytes are in R2, under the key). A key
 * is claimed once, when its upload starts: a second upload with the same URL finds it taken. It
 * is `stored` once the bytes passed the checks (files/scan.ts), or `rejected`; `deleted` once a
 * message that carried it was deleted. A message may
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
  state: "pending" | "stored" | "rejected" | "deleted";
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
       created_at INTEGER NOT NULL)`,
    );
  }

  /** Claims `key` for an upload by `userId`; 409 when the key was claimed before (a reused upload URL). */
  claim(key: string, userId: string, contentType: AttachmentContentType, filename: string, now: number): void {
    const claimed = this.sql
      .exec(
        `INSERT INTO uploads (key, user_id, content_type, filename, state, created_at)
         VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (key) DO NOTHING RETURNING key`,
        key,
        userId,
        contentType,
        filename,
        now,
      )
      .toArray();
    if (claimed.length === 0) throw conflict("this upload URL has been used already; ask for a new one");
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
