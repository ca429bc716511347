/**
 * @module client/sse
 * A Server-Sent Events parser (the WHATWG "event stream" format) fed with the text of a
 * fetch() body. EventSource is not used: it cannot set headers and Node has none.
 */

export type SseEvent = {
  /** The `id:` of this event, if it had one (ridewire: the event's seq). */
  id: string | undefined;
  /** `event:` or "message". */
  event: string;
  data: string;
};

export type SseHandlers = {
  event: (event: SseEvent) => void;
  /** A comment line (`: heartbeat`), without the colon. */
  comment?: (text: string) => void;
};

export class SseParser {
  private buffer = "";
  /** A CR ended the last chunk: an LF starting the next one belongs to it. */
  private pendingCr = false;
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private hasId = false;

  constructor(private readonly handlers: SseHandlers) {}

  /** Feeds decoded text; complete lines are processed, a partial one waits for more. */
  push(text: string): void {
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== "\n" && ch !== "\r") continue;
      this.line(this.buffer.slice(start, i));
      if (ch === "\r") {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === "\n") i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      this.handlers.comment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.id = value;
          this.hasId = true;
        }
        break;
      // `retry:` and unknown fields are ignored: the SDK has its own reconnect policy.
    }
  }

  private dispatch(): void {
    const data = this.data;
    const event = this.event || "message";
    const id = this.hasId ? this.id : undefined;
    this.data = [];
    this.event = "";
    this.hasId = false;
    this.id = undefined;
    if (data.length === 0) return;
    this.handlers.event({ id, event, data: data.join("\n") });
  }
}
