/**
 * @module http/upload-destinations
 * Where an upload URL's file belongs, as its grant names it (files/upload-grant.ts): a chat
 * room's attachment, recorded by the room's own object (rooms/room-uploads.ts), or a driver's
 * document, recorded by its row in D1 (db/driver-documents.ts). The upload route
 * (http/routes/uploads.ts) streams and checks the bytes the same way for both; this is the
 * bookkeeping around them: take the grant's one upload, then store the checked file or record
 * its refusal, and the body the PUT answers.
 */
import { claimDocumentUpload, failDocumentUpload, publicDocument, storeDocumentUpload } from "../db/driver-documents";
import { conflict, unwrap } from "../errors";
import type { UploadGrantClaims } from "../files/upload-grant";
import type { UploadResponse } from "../protocol/attachments";
import type { DocumentUploadResponse } from "../protocol/vehicles";
import type { StoredFile } from "../rooms/room-uploads";
import { chatRoom } from "../rooms/stubs";

export type UploadDestination = {
  /** Takes the grant's one upload; 409 when its URL was used before. */
  claim(): Promise<void>;
  /** The bytes were refused (and deleted): the URL is spent, and nothing may use the key. */
  reject(): Promise<void>;
  /** Records the checked file; answers the PUT's body. */
  store(file: StoredFile): Promise<UploadResponse | DocumentUploadResponse>;
};

export function uploadDestination(env: Env, grant: UploadGrantClaims): UploadDestination {
  const target = grant.target;
  if (target.kind === "room") {
    const room = chatRoom(env, target.roomId);
    return {
      claim: async () => {
        unwrap(await room.claimUpload(grant.userId, grant.key));
      },
      reject: async () => {
        unwrap(await room.rejectUpload(grant.key));
      },
      store: async (file) => ({ attachment: unwrap(await room.storeUpload(grant.userId, grant.key, file)) }),
    };
  }
  return {
    claim: async () => {
      if (!(await claimDocumentUpload(env.DB, target.documentId, grant.userId)))
        throw conflict("this upload URL has been used already; ask for a new one");
    },
    reject: () => failDocumentUpload(env.DB, target.documentId),
    store: async (file) => ({
      document: publicDocument(await storeDocumentUpload(env.DB, target.documentId, file.size)),
    }),
  };
}
