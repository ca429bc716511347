CREATE TABLE `trip_history` (
	`user_id` text NOT NULL,
	`trip_id` text NOT NULL,
	`role` text NOT NULL,
	`status` text NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `trip_history_trip_user_idx` ON `trip_history` (`trip_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `trip_history_user_created_idx` ON `trip_history` (`user_id`,`created_at`,`trip_id`);--> statement-breakpoint
CREATE INDEX `trip_history_riders_created_idx` ON `trip_history` (`created_at`,`trip_id`) WHERE "trip_history"."role" = 'rider';