CREATE TABLE `trip_cancellations` (
	`trip_id` text NOT NULL,
	`by` text NOT NULL,
	`user_id` text NOT NULL,
	`reason_code` text,
	`note` text,
	`fee` integer,
	`at` integer NOT NULL,
	PRIMARY KEY(`trip_id`, `user_id`, `at`)
);
--> statement-breakpoint
CREATE INDEX `trip_cancellations_at_idx` ON `trip_cancellations` (`at`);--> statement-breakpoint
CREATE INDEX `trip_cancellations_code_idx` ON `trip_cancellations` (`reason_code`,`at`);