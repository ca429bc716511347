/**
 * The local stand-in of a Photon geocoder (geocoder-server.mjs) as the worker tests find it.
 */
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    geocoder: { baseUrl: string };
  }
}

/** The requests the stand-in received so far: path and query of each. */
export async function geocoderRequests(): Promise<{ path: string; query: Record<string, string> }[]> {
  const res = await fetch(`${inject("geocoder").baseUrl}/test/requests`);
  return (await res.json()) as { path: string; query: Record<string, string> }[];
}
