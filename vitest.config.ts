// Three projects: pure modules run in Node (fast, and proof they carry no `cloudflare:*`
// import); everything that touches bindings runs on workerd through the Cloudflare plugin;
// and e2e drives the client SDK in Node (plus Bun and Deno) against real `wrangler dev`
// processes, which each test file starts on a free port and a fresh --persist-to directory.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  JWT_SECRET: "test-secret-not-for-production",
                  // The webhook and push receiver of the tests runs on 127.0.0.1 (test/helpers/hook-server.mjs).
                  ALLOW_LOOPBACK_WEBHOOKS: "true",
                  // A VAPID pair made for the tests only (Web Push is off without one).
                  VAPID_PUBLIC_KEY: "BEgiAQUCTYfMkFRKfdLrC4OCglo3BNNRRNMVQSLptAt6OlWjjxAC50VpS58IMy1puWIy9eI6jyO9pPEab9NKOqY",
                  VAPID_PRIVATE_KEY: "rn4ElKWtTCkHmYKi3WxtJTu0uQiuTjoLrnGCcyB6nmg",
                },
              },
            }),
          ],
          test: { name: "worker", include: ["test/worker/**/*.test.ts"], setupFiles: ["test/worker/setup.ts"], globalSetup: ["test/helpers/hook-server.mjs", "test/helpers/stripe-server.mjs"] },
        },
        {
          test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 120_000 },
        },
      ],
    },
  };
});
