/**
 * @module protocol/ops-lists
 * Operators' lists to find people and trips by (`GET /v1/admin/drivers`, `GET /v1/admin/trips`): a search word, a
 * status, and pages newest first behind a cursor of the last row's creation time and id.
 */
import { z } from "zod";
import { TripStatus } from "../domain/trip";
import { LatLng, Money } from "./common";

/** "createdAt:id" of a page's last row: the next page starts after it (ties on createdAt are broken by id). */
export const ListCursor = z
  .string()
  .regex(/^\d{1,15}:[A-Za-z0-9_-]{1,64}$/, "must be a nextCursor")
  .transform((raw) => {
    const at = raw.indexOf(":");
    return { createdAt: Number(raw.slice(0, at)), id: raw.slice(at + 1) };
  });
export type ListCursor = z.infer<typeof ListCursor>;

/** What an operator types: a name, an email or part of one, or an id; at most 100 characters, trimmed. */
export const SearchWords = z.string().trim().min(1).max(100);

export const AdminDriverListQuery = z.object({
  /** Part of the driver's name or email (any case), or their id. */
  q: SearchWords.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: ListCursor.optional(),
});
export type AdminDriverListQuery = z.infer<typeof AdminDriverListQuery>;

/** A driver as the operations view lists them. */
export const AdminDriverRow = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  createdAt: z.number().int(),
  bannedAt: z.number().int().nullable(),
  /** When the driver was last connected (epoch ms), null if never: operators see it whatever the driver's setting. */
  lastSeenAt: z.number().int().nullable(),
});
export type AdminDriverRow = z.infer<typeof AdminDriverRow>;

export const AdminDriverListResponse = z.object({
  drivers: z.array(AdminDriverRow),
  nextCursor: z.string().nullable(),
});
export type AdminDriverListResponse = z.infer<typeof AdminDriverListResponse>;

export const AdminTripListQuery = z.object({
  /** A trip's id, or part of its rider's or driver's name or email (any case), or their id. */
  q: SearchWords.optional(),
  status: TripStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: ListCursor.optional(),
});
export type AdminTripListQuery = z.infer<typeof AdminTripListQuery>;

/** A trip as the operations view lists it: as the trip history last recorded it (seconds behind the trip itself). */
export const AdminTripRow = z.object({
  id: z.string(),
  status: TripStatus,
  rider: z.object({ id: z.string(), name: z.string() }),
  driver: z.object({ id: z.string(), name: z.string() }).nullable(),
  pickup: LatLng,
  dropoff: LatLng,
  /** The charged fare once completed, else the quote's. */
  fare: Money,
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type AdminTripRow = z.infer<typeof AdminTripRow>;

export const AdminTripListResponse = z.object({ trips: z.array(AdminTripRow), nextCursor: z.string().nullable() });
export type AdminTripListResponse = z.infer<typeof AdminTripListResponse>;
