/**
 * @module domain/tiers
 * Products (README, "Tiers"): economy, comfort, XL, moto… each with its own fare rules, and which
 * tiers a driver serves. TIERS (config) lists the tiers in order, first the default one (what a
 * quote or request that names none gets); a tier's rules are the FARE_* values times its
 * `multiplier`, unless it sets its own absolute amounts. A service area may list the tiers
 * offered there (`tiers`); without a list every configured tier is.
 *
 * A driver serves their approved vehicle's tier, and with `acceptLowerTiers` also the tiers that
 * tier lists under `accepts` (a comfort car taking economy rides). A driver without a vehicle
 * (approval off) serves the default tier; a vehicle whose tier is not configured serves none.
 */
import { z } from "zod";
import type { LatLng } from "./geo";
import { areaAt, type ServiceArea } from "./service-area";
import type { FareRules } from "./fare";

import { VehicleTier as TierName } from "../protocol/vehicles";

const Minor = z.number().int().nonnegative().max(100_000_000);

export const TierRules = z
  .object({
    /** Scales every FARE_* amount not set below (1: the FARE_* values). */
    multiplier: z.number().min(0.1).max(10).default(1),
    baseMinor: Minor.optional(),
    perKmMinor: Minor.optional(),
    perMinuteMinor: Minor.optional(),
    minimumMinor: Minor.optional(),
    /** Passengers the tier takes. */
    seats: z.number().int().min(1).max(8).default(4),
    /** Lower tiers a driver of this tier may serve when they opt in (`acceptLowerTiers`). */
    accepts: z.array(TierName).max(10).default([]),
  })
  .strict();
export type TierRules = z.infer<typeof TierRules>;

export type Tier = TierRules & { name: string };

const DEFAULT_TIERS = '[{"name":"economy"}]';

/** TIERS as the config holds it: a JSON array of `{ name, ...rules }`, the default tier first. */
export const TiersSetting = z
  .string()
  .default(DEFAULT_TIERS)
  .transform((raw, ctx): Tier[] => {
    let data: unknown;
    try {
      data = JSON.parse(raw.trim() === "" ? DEFAULT_TIERS : raw);
    } catch {
      ctx.addIssue({ code: "custom", message: "TIERS must be JSON: [{ name, multiplier?, ... }]" });
      return z.NEVER;
    }
    const parsed = z
      .array(TierRules.extend({ name: TierName }))
      .min(1)
      .max(20)
      .safeParse(data);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: `TIERS: ${parsed.error.issues[0]?.message ?? "invalid"}` });
      return z.NEVER;
    }
    const names = parsed.data.map((t) => t.name);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: "custom", message: "TIERS: a tier is listed twice" });
      return z.NEVER;
    }
    for (const tier of parsed.data)
      for (const lower of tier.accepts)
        if (!names.includes(lower)) {
          ctx.addIssue({ code: "custom", message: `TIERS: ${tier.name} accepts ${lower}, which is not a tier` });
          return z.NEVER;
        }
    return parsed.data;
  });

/** The tier a quote or request that names none gets. */
export const defaultTierOf = (tiers: readonly Tier[]): string => (tiers[0] as Tier).name;

/** The tiers offered at `pickup`, in TIERS' order: its area's `tiers`, else all (empty outside every area). */
export function tiersAt(tiers: readonly Tier[], areas: readonly ServiceArea[], pickup: LatLng): Tier[] {
  const area = areaAt(areas, pickup);
  if (area === null) return [];
  const listed = "tiers" in area ? area.tiers : undefined;
  return listed === undefined ? [...tiers] : tiers.filter((t) => listed.includes(t.name));
}

/** The fare rules of `tier`: its own amounts, else `base`'s times its multiplier. */
export function tierFareRules(base: FareRules, tier: TierRules): FareRules {
  const scaled = (own: number | undefined, fallback: number) => own ?? Math.round(fallback * tier.multiplier);
  return {
    ...base,
    baseMinor: scaled(tier.baseMinor, base.baseMinor),
    perKmMinor: scaled(tier.perKmMinor, base.perKmMinor),
    perMinuteMinor: scaled(tier.perMinuteMinor, base.perMinuteMinor),
    minimumMinor: scaled(tier.minimumMinor, base.minimumMinor),
  };
}

/** The tiers a driver serves: see the module comment. `vehicleTier` null: no vehicle. */
export function tiersServed(tiers: readonly Tier[], vehicleTier: string | null, acceptLowerTiers: boolean): string[] {
  if (vehicleTier === null) return [defaultTierOf(tiers)];
  const own = tiers.find((t) => t.name === vehicleTier);
  if (!own) return [];
  return acceptLowerTiers ? [own.name, ...own.accepts] : [own.name];
}
