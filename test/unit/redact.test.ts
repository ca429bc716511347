// Log redaction (src/redact.ts): no token reaches a log line, whatever carries it.
import { describe, expect, it } from "vitest";
import { loggableUrl, redactSecrets } from "../../src/redact";

const JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

describe("redactSecrets", () => {
  it("redacts token-like query values and keeps the rest of the URL", () => {
    expect(loggableUrl(`https://x.example/v1/rooms/r1/ws?since=4&access_token=${JWT}`)).toBe(
      "https://x.example/v1/rooms/r1/ws?since=4&access_token=[redacted]",
    );
    expect(loggableUrl("/hook?token=abc&x=1&refresh_token=def")).toBe(
      "/hook?token=[redacted]&x=1&refresh_token=[redacted]",
    );
    expect(loggableUrl("/a?api_key=1&Signature=2&secret=3&password=4&code=5&sid=6#frag")).toBe(
      "/a?api_key=[redacted]&Signature=[redacted]&secret=[redacted]" +
        "&password=[redacted]&code=[redacted]&sid=[redacted]#frag",
    );
    expect(loggableUrl("/a?access%5Ftoken=zzz")).toBe("/a?access%5Ftoken=[redacted]");
    expect(loggableUrl("/v1/rooms?limit=5&since=2")).toBe("/v1/rooms?limit=5&since=2");
  });

  it("redacts URLs inside messages and bare JWTs anywhere", () => {
    const message = `TypeError: Fetch API cannot load: https://hooks.example/in?token=s3cr3t (status 0)`;
    expect(redactSecrets(message)).toBe(
      "TypeError: Fetch API cannot load: https://hooks.example/in?token=[redacted] (status 0)",
    );
    expect(redactSecrets(`bad token ${JWT} seen`)).toBe("bad token [redacted] seen");
    expect(redactSecrets("nothing to hide here")).toBe("nothing to hide here");
  });
});
