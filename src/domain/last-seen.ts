/**
 * @module domain/last-seen
 * Whether a viewer may read a user's last seen: always their own; never while the user blocks
 * them; otherwise as the user's setting says (everyone; contacts, the users they share a direct
 * conversation with; nobody).
 */
import type { LastSeenVisibility } from "../protocol/http";

export function lastSeenVisible(facts: {
  self: boolean;
  visibility: LastSeenVisibility;
  blocksViewer: boolean;
  contact: boolean;
}): boolean {
  if (facts.self) return true;
  if (facts.blocksViewer) return false;
  if (facts.visibility === "everyone") return true;
  return facts.visibility === "contacts" && facts.contact;
}
