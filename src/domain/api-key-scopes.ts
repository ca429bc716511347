/**
 * @module domain/api-key-scopes
 * Whether an API key's scopes let it do an action in a room. A pattern is a room id, matched
 * exactly, or a prefix ending in `*`, matched as a prefix of the id (`*` alone: every room).
 * Nothing else is special: `room_abc` names that room and never `room_abcd`.
 */
import type { ApiKeyAction, ApiKeyScopes } from "../protocol/server-api";

export function patternMatches(pattern: string, roomId: string): boolean {
  if (pattern.endsWith("*")) return roomId.startsWith(pattern.slice(0, -1));
  return pattern === roomId;
}

export function scopeAllows(scopes: ApiKeyScopes, action: ApiKeyAction, roomId: string): boolean {
  return scopes.actions.includes(action) && scopes.rooms.some((pattern) => patternMatches(pattern, roomId));
}
