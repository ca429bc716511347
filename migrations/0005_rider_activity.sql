CREATE TABLE `rider_activity` (
	`trip_id` text NOT NULL,
	`kind` text NOT NULL,
	`rider_id` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`trip_id`, `kind`)
);
--> statement-breakpoint
CREATE INDEX `rider_activity_rider_idx` ON `rider_activity` (`rider_id`,`kind`,`at`);
