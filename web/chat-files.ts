/**
 * @module web/chat-files
 * Chat attachments in the web app: which files may go (the service's types), uploading one
 * through the SDK with its refusals said in words, and showing a message's files: images inline
 * and other files as a download button. Downloads need the session's token, so a file is fetched
 * through the SDK as a Blob and shown from an object URL, which `FileCache.close` lets go of.
 */
import { type Attachment, type AttachmentContentType, isRidewireError, type RidewireClient } from "@ridewire/client";
import { describeError, h } from "./dom";

/** What the service takes (protocol/attachments.ts); anything else is refused before it is sent. */
const ALLOWED: Record<AttachmentContentType, string> = {
  "image/png": "PNG image",
  "image/jpeg": "JPEG image",
  "image/gif": "GIF image",
  "image/webp": "WebP image",
  "application/pdf": "PDF document",
  "text/plain": "text file",
};

/** For the file picker's `accept`: the dialog offers what the service takes. */
export const ACCEPTED_TYPES = Object.keys(ALLOWED).join(",");

const isAllowed = (type: string): type is AttachmentContentType => Object.hasOwn(ALLOWED, type);

export const isImage = (a: Pick<Attachment, "contentType">) => a.contentType.startsWith("image/");

/** 1536 → "1.5 KB": sizes as people read them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, "")} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, "")} MB`;
}

/** Why a file could not be attached, for people: never a raw code. */
export class AttachmentRefused extends Error {}

/**
 * Uploads `file` to the room and answers the stored attachment for a message to carry; rejects
 * with `AttachmentRefused` in words for a type the service does not take, a file over its limit,
 * or contents that are not what the file claims to be.
 */
export async function uploadFile(api: RidewireClient, roomId: string, file: File): Promise<Attachment> {
  const name = `“${file.name}”`;
  if (!isAllowed(file.type))
    throw new AttachmentRefused(
      `${name} cannot be sent: only PNG, JPEG, GIF and WebP images, PDFs and text files can.`,
    );
  if (file.size === 0) throw new AttachmentRefused(`${name} is empty.`);
  try {
    return await api.uploadAttachment(roomId, { filename: file.name, contentType: file.type, data: file });
  } catch (err) {
    if (!isRidewireError(err)) throw err;
    if (err.code === "payload_too_large") {
      const limit = (err.details as { limit?: unknown } | undefined)?.limit;
      const most = typeof limit === "number" ? `: files may be up to ${formatBytes(limit)}` : "";
      throw new AttachmentRefused(`${name} is too large (${formatBytes(file.size)})${most}.`);
    }
    if (err.code === "upload_rejected")
      throw new AttachmentRefused(`${name} was refused: its contents are not a ${ALLOWED[file.type]}.`);
    if (err.code === "rate_limited") throw new AttachmentRefused("Too many uploads just now: try again in a minute.");
    throw new AttachmentRefused(`${name} could not be uploaded. ${describeError(err)}`);
  }
}

/** Object URLs of a room's downloaded files, fetched once each and let go of when the room closes. */
export class FileCache {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(
    private readonly api: RidewireClient,
    private readonly roomId: string,
  ) {}

  url(attachment: Attachment): Promise<string> {
    let url = this.urls.get(attachment.key);
    if (!url) {
      url = this.api.downloadAttachment(this.roomId, attachment).then((blob) => URL.createObjectURL(blob));
      // A failed download may work later (a network blip): do not keep the failure.
      url.catch(() => this.urls.delete(attachment.key));
      this.urls.set(attachment.key, url);
    }
    return url;
  }

  close(): void {
    for (const url of this.urls.values()) url.then(URL.revokeObjectURL, () => undefined);
    this.urls.clear();
  }
}

/** A message's files: each image inline (its size reserved before it loads), each other file a download button. */
export function filesEl(attachments: Attachment[], files: FileCache): HTMLElement {
  return h(
    "div",
    { class: "files" },
    ...attachments.map((a) => (isImage(a) ? imageEl(a, files) : downloadEl(a, files))),
  );
}

function imageEl(a: Attachment, files: FileCache): HTMLElement {
  const img = h("img", {
    alt: a.filename,
    width: a.width,
    height: a.height,
    // The aspect ratio holds the space while the bytes come, so the list does not jump.
    style: a.width && a.height ? `aspect-ratio: ${a.width} / ${a.height}` : undefined,
  });
  const figure = h("figure", { class: "file-image" }, img);
  files.url(a).then(
    (url) => {
      img.src = url;
    },
    () => figure.append(h("figcaption", { class: "hint" }, `${a.filename} could not be loaded.`)),
  );
  return figure;
}

function downloadEl(a: Attachment, files: FileCache): HTMLElement {
  const label = `${a.filename} (${formatBytes(a.size)})`;
  const button = h("button", { type: "button", class: "link file-link", "aria-label": `Download ${label}` }, label);
  button.addEventListener("click", async () => {
    try {
      const anchor = h("a", { href: await files.url(a), download: a.filename, hidden: true });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    } catch {
      button.textContent = `${label}: the download failed, try again`;
    }
  });
  return button;
}
