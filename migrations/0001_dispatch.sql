CREATE TABLE `active_trips` (
	`rider_id` text PRIMARY KEY NOT NULL,
	`trip_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `quotes` (
	`id` text PRIMARY KEY NOT NULL,
	`rider_id` text NOT NULL,
	`data` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `trip_requests` (
	`rider_id` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`trip_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`rider_id`, `idempotency_key`)
);
--> statement-breakpoint
CREATE TABLE `trips` (
	`id` text PRIMARY KEY NOT NULL,
	`rider_id` text NOT NULL,
	`driver_id` text,
	`status` text NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `trips_rider_idx` ON `trips` (`rider_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `trips_driver_idx` ON `trips` (`driver_id`,`created_at`);