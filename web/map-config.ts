/**
 * @module web/map-config
 * `GET /v1/map` once per client: the street map, the place search and the place names all want
 * to know what the service has, and a page load should ask once, not once per part. A failed
 * answer is forgotten so that a later view can ask again.
 */
import type { RidewireClient } from "@ridewire/client";

type MapConfig = Awaited<ReturnType<RidewireClient["mapConfig"]>>;

const asked = new WeakMap<RidewireClient, Promise<MapConfig>>();

/** The service's map configuration, shared by every caller with the same client. */
export function mapConfigOnce(api: RidewireClient): Promise<MapConfig> {
  let answer = asked.get(api);
  if (!answer) {
    answer = api.mapConfig();
    asked.set(api, answer);
    answer.catch(() => {
      if (asked.get(api) === answer) asked.delete(api);
    });
  }
  return answer;
}
