// Four projects: pure modules run in Node (fast, and proof they carry no `cloudflare:*`
// import); everything that touches bindings runs on workerd through the Cloudflare plugin;
// e2e drives the client SDK and the CLIs in Node (plus Bun and Deno) against real `wrangler dev`
// processes, which each test file starts on a free port and a fresh --persist-to directory; and
// web drives the web app in Chromium against such a server.
import { availableParallelism } from "node:os";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// "@ridewire/client" (an npm workspace) resolves to its TypeScript source in this repository:
// its package.json exports have this condition first, so tests need no build of the package.
const sourceFirst = { resolve: { conditions: ["@ridewire/source", ...defaultServerConditions] } };

/**
 * Vitest's 5 s default is for a quiet machine. These 2-core hosts are shared: a property test
 * that takes 1.5 s alone (or ten PBKDF2 logins) took over 5 s with the other core busy. The
 * limit stays a bound on a hang, not a speed target (speed is measured by the benchmarks).
 */
const TEST_TIMEOUT_MS = 20_000;

/**
 * How many test files run at once. The unit, worker and e2e (SDK, CLI) files run side by side, at
 * least two at a time: much of a worker file's time is its runtime starting and its database
 * migrating, and an e2e file's is spent waiting on its server, a token's expiry or a simulated
 * city; on these 2-core hosts two at a time took six worker files from 52 s to 33 s (three at a
 * time took fourteen from 88 s to 79 s only, with the tests themselves a quarter slower). The
 * browser files (the "web" project) run after them, two at a time on two cores: each keeps most
 * of a core busy (Chromium painting, the app's server), and two took four of them from 187 s to
 * 135 s. Vitest's own default is one fewer than the cores: one at a time here.
 */
const CORES = availableParallelism();
const SIDE_BY_SIDE = Math.max(2, CORES - 1);
const BROWSERS_AT_ONCE = Math.max(2, Math.floor(CORES / 2));
/** The browser tests (Chromium through playwright-core): the web app's pages. */
const BROWSER_TESTS = "test/e2e/web*.test.ts";

/** The message of a log or call cut off by a test file's teardown (see `onUnhandledError` below). */
const TEARDOWN_RPC = /^\[vitest-worker\]: Closing rpc while /;

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  // The partition databases' own schema (src/db/shards.ts), applied to every SHARD_n binding.
  const shardMigrations = await readD1Migrations("./migrations-shard");
  return {
    test: {
      // A worker test file's runtime is torn down when its tests end, and a Durable Object's alarm still due then
      // (a room's write-behind, 2.5-5 s after its last message) may log into the closed channel: vitest reports
      // "Closing rpc while onUserConsoleLog was pending" as an unhandled error and fails a run whose tests all
      // passed. Only that teardown message is let go; every other unhandled error still fails the run.
      onUnhandledError: (error: { message?: string }) => !TEARDOWN_RPC.test(error.message ?? ""),
      projects: [
        {
          ssr: sourceFirst,
          test: {
            name: "unit",
            include: ["test/unit/**/*.test.ts"],
            environment: "node",
            testTimeout: TEST_TIMEOUT_MS,
            maxWorkers: SIDE_BY_SIDE,
          },
        },
        {
          ssr: sourceFirst,
          plugins: [
            // A function of the global setup's values: the stand-ins' keys and ports exist only
            // once test/helpers/fcm-server.mjs, email-server.mjs and sms-server.mjs have started.
            cloudflareTest(({ inject }) => {
              const fcm = inject<{ baseUrl: string; serviceAccount: string }>("fcm");
              const email = inject<{ baseUrl: string; apiKey: string }>("email");
              const sms = inject<{ baseUrl: string; accountSid: string; authToken: string }>("sms");
              const geocoder = inject<{ baseUrl: string }>("geocoder");
              return {
                wrangler: { configPath: "./wrangler.toml" },
                miniflare: {
                  // A second copy of the directory's schema, standing in for a D1 read replica that lags
                  // (read replication has no local form): test/worker/ban-check.test.ts.
                  d1Databases: { REPLICA_STAND_IN: "replica-stand-in" },
                  bindings: {
                    TEST_MIGRATIONS: migrations,
                    TEST_SHARD_MIGRATIONS: shardMigrations,
                    JWT_SECRET: "test-secret-not-for-production",
                    // The webhook and push receiver of the tests runs on 127.0.0.1 (test/helpers/hook-server.mjs).
                    ALLOW_LOOPBACK_WEBHOOKS: "true",
                    // A VAPID pair made for the tests only (Web Push is off without one).
                    VAPID_PUBLIC_KEY:
                      "BEgiAQUCTYfMkFRKfdLrC4OCglo3BNNRRNMVQSLptAt6OlWjjxAC50VpS58IMy1puWIy9eI6jyO9pPEab9NKOqY",
                    VAPID_PRIVATE_KEY: "rn4ElKWtTCkHmYKi3WxtJTu0uQiuTjoLrnGCcyB6nmg",
                    // FCM through the local stand-in of Google's token endpoint and FCM's API.
                    FCM_SERVICE_ACCOUNT: fcm.serviceAccount,
                    FCM_API_BASE: fcm.baseUrl,
                    // Email through the local stand-in of Resend, SMS through that of Twilio.
                    RESEND_API_KEY: email.apiKey,
                    RESEND_API_BASE: email.baseUrl,
                    EMAIL_FROM: "ridewire <notifications@ridewire.test>",
                    TWILIO_ACCOUNT_SID: sms.accountSid,
                    TWILIO_AUTH_TOKEN: sms.authToken,
                    TWILIO_API_BASE: sms.baseUrl,
                    TWILIO_FROM: "+15005550006",
                    // Place search through the local stand-in of a Photon geocoder (test/helpers/geocoder-server.mjs),
                    // with a short timeout for its slow answer; the street map's archive in the local TILES bucket.
                    GEOCODER_URL: geocoder.baseUrl,
                    GEOCODER_TIMEOUT_MS: "1000",
                    MAP_TILES_ARCHIVE: "test-city",
                    // Every test city lies between 65° S and 65° N; beyond is outside the service.
                    // Trips need the PIN (TRIP_PIN_REQUIRED's default) only in "pin city", which
                    // the safety tests use; the first area that holds a pickup decides, and the
                    // test world opts out, as the tests written before PINs expect.
                    // "batch city" (70°-78° E) offers each trip to its best 3 drivers at once (OFFER_BATCH_SIZE is 1
                    // elsewhere): the batched-offers tests pick their pickups there. Areas do not overlap, but for
                    // the test world around them all.
                    SERVICE_AREAS: JSON.stringify([
                      {
                        // Only the economy tier is offered here (60°-68° E); the tiers tests use it.
                        name: "economy town",
                        tripPin: false,
                        driverApproval: false,
                        tiers: ["economy"],
                        polygon: [
                          [60, -65],
                          [68, -65],
                          [68, 65],
                          [60, 65],
                        ],
                      },
                      {
                        name: "batch city",
                        tripPin: false,
                        offerBatch: 3,
                        driverApproval: false,
                        polygon: [
                          [70, -65],
                          [78, -65],
                          [78, 65],
                          [70, 65],
                        ],
                      },
                      {
                        name: "pin city",
                        driverApproval: false,
                        polygon: [
                          [100, -65],
                          [120, -65],
                          [120, 65],
                          [100, 65],
                        ],
                      },
                      {
                        // Drivers going online here need approval (DRIVER_APPROVAL_REQUIRED's
                        // default); the vehicles tests use it. The test world opts out, as the
                        // tests written before approval expect.
                        name: "approval town",
                        tripPin: false,
                        polygon: [
                          [80, -65],
                          [100, -65],
                          [100, 65],
                          [80, 65],
                        ],
                      },
                      {
                        name: "test world",
                        tripPin: false,
                        driverApproval: false,
                        polygon: [
                          [-180, -65],
                          [180, -65],
                          [180, 65],
                          [-180, 65],
                        ],
                      },
                    ]),
                  },
                },
              };
            }),
          ],
          test: {
            name: "worker",
            include: ["test/worker/**/*.test.ts"],
            testTimeout: TEST_TIMEOUT_MS,
            maxWorkers: SIDE_BY_SIDE,
            setupFiles: ["test/worker/setup.ts"],
            globalSetup: [
              "test/helpers/hook-server.mjs",
              "test/helpers/stripe-server.mjs",
              "test/helpers/fcm-server.mjs",
              "test/helpers/email-server.mjs",
              "test/helpers/sms-server.mjs",
              "test/helpers/geocoder-server.mjs",
            ],
          },
        },
        {
          ssr: sourceFirst,
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            exclude: [BROWSER_TESTS],
            environment: "node",
            globalSetup: ["test/e2e/helpers/migrated-state.ts"],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            maxWorkers: SIDE_BY_SIDE,
          },
        },
        {
          ssr: sourceFirst,
          test: {
            name: "web",
            include: [BROWSER_TESTS],
            environment: "node",
            globalSetup: ["test/e2e/helpers/browser.ts", "test/e2e/helpers/migrated-state.ts"],
            // A bound on a hang, not a speed target: a walk through a whole trip took 30 s with another browser file
            // beside it, and 60 s on a busier machine.
            testTimeout: 120_000,
            hookTimeout: 120_000,
            // After the others: a browser file keeps most of a core busy (Chromium painting, the app's server).
            sequence: { groupOrder: 1 },
            maxWorkers: BROWSERS_AT_ONCE,
          },
        },
      ],
    },
  };
});
