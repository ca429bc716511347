/**
 * The local stand-in of Google's OAuth token endpoint and FCM's HTTP v1 API that
 * test/helpers/fcm-server.mjs runs on 127.0.0.1: script its answers per registration token,
 * read the sends it got and count the access tokens it issued.
 */
import { env } from "cloudflare:workers";
import { inject } from "vitest";

export type FcmStandIn = { baseUrl: string; projectId: string; serviceAccount: string };

declare module "vitest" {
  export interface ProvidedContext {
    fcm: FcmStandIn;
  }
}

export const fcmStandIn = (): FcmStandIn => inject("fcm");

/** A registration token shaped as FCM's are (an instance id, a colon, base64url). */
export function newFcmToken(): string {
  const bytes = (n: number) =>
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(n))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  return `${bytes(16)}:APA91b${bytes(100)}`;
}

export type FcmAnswer = "unregistered" | "invalid_token" | "quota" | "internal" | "unavailable" | "unauthenticated";

/** The stand-in's next answers to sends for `token` (success once they run out). */
export async function scriptFcm(token: string, answers: FcmAnswer[], retryAfter?: number): Promise<void> {
  const res = await fetch(`${fcmStandIn().baseUrl}/test/script/${encodeURIComponent(token)}`, {
    method: "PUT",
    body: JSON.stringify({ answers, retryAfter }),
  });
  if (res.status !== 204) throw new Error(`script failed: ${res.status}`);
}

// biome-ignore lint/suspicious/noExplicitAny: the FCM message as the stand-in received it, read by the tests.
export type FcmSend = { status: number; at: number; accessToken: string | null; message: any };

export async function fcmSends(token: string): Promise<FcmSend[]> {
  return (await fetch(`${fcmStandIn().baseUrl}/test/sends/${encodeURIComponent(token)}`)).json();
}

/** Resolves once `token` got `count` sends; rejects after `timeoutMs`. */
export async function waitForFcmSends(token: string, count = 1, timeoutMs = 8_000): Promise<FcmSend[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fcmSends(token);
    if (got.length >= count) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} FCM sends; got ${got.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many access tokens the stand-in issued to the service account `clientEmail`. */
export async function fcmExchanges(clientEmail: string): Promise<number> {
  const res = await fetch(`${fcmStandIn().baseUrl}/test/exchanges/${encodeURIComponent(clientEmail)}`);
  return ((await res.json()) as { count: number }).count;
}

/**
 * The Worker's env with a service account of its own (same key, another `client_email`): its
 * access tokens are cached apart from every other test's, so a test can count its exchanges.
 */
export function fcmEnvWithOwnAccount(name: string): { env: Env; clientEmail: string } {
  const account = JSON.parse(fcmStandIn().serviceAccount) as Record<string, string>;
  const clientEmail = `${name}@${account.project_id}.iam.gserviceaccount.com`;
  return {
    env: { ...env, FCM_SERVICE_ACCOUNT: JSON.stringify({ ...account, client_email: clientEmail }) } as Env,
    clientEmail,
  };
}
