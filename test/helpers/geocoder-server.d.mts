// Types of geocoder-server.mjs for the browser tests, which start the stand-in themselves.
export declare const GEOCODER_PLACES: {
  name: string;
  street: string;
  housenumber?: string;
  lat: number;
  lng: number;
}[];
export declare function startGeocoder(): Promise<{ baseUrl: string; port: number; close(): Promise<void> }>;
export default function setup(project: { provide(key: string, value: unknown): void }): Promise<() => Promise<void>>;
