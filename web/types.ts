/**
 * @module web/types
 * The contract between the shell (main.ts) and its views (rider, driver, chat, ops): here so
 * that a view needs nothing from the shell that imports it.
 */
import type { RidewireClient } from "@ridewire/client";
import type { Session } from "./session";

/** Draws a view into `root`; returns the function that closes its connections when another view takes over. */
export type View = (root: HTMLElement, api: RidewireClient, session: Session) => () => void;
