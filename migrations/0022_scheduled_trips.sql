CREATE TABLE `scheduled_trips` (
	`trip_id` text PRIMARY KEY NOT NULL,
	`rider_id` text NOT NULL,
	`pickup_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `scheduled_trips_rider` ON `scheduled_trips` (`rider_id`,`pickup_at`);--> statement-breakpoint
CREATE INDEX `scheduled_trips_pickup` ON `scheduled_trips` (`pickup_at`);