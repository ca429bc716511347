CREATE TABLE `trip_alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`trip_id` text NOT NULL,
	`raised_by` text NOT NULL,
	`role` text NOT NULL,
	`lat` real NOT NULL,
	`lng` real NOT NULL,
	`note` text,
	`idempotency_key` text,
	`created_at` integer NOT NULL,
	`acknowledged_at` integer,
	`acknowledged_by` text
);
--> statement-breakpoint
CREATE INDEX `trip_alerts_open_idx` ON `trip_alerts` (`acknowledged_at`,`created_at`);--> statement-breakpoint
CREATE INDEX `trip_alerts_trip_idx` ON `trip_alerts` (`trip_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `trip_alerts_idempotency_idx` ON `trip_alerts` (`raised_by`,`trip_id`,`idempotency_key`);