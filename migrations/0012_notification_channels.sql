CREATE TABLE `notification_channels` (
	`notification_id` text NOT NULL,
	`channel` text NOT NULL,
	`user_id` text NOT NULL,
	`outcome` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`reserved_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`notification_id`, `channel`)
);
--> statement-breakpoint
CREATE INDEX `notification_channels_user_reserved_idx` ON `notification_channels` (`user_id`,`channel`,`reserved_at`);--> statement-breakpoint
ALTER TABLE `notification_preferences` ADD `muted_channels` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `notification_preferences` ADD `quiet_hours` text;--> statement-breakpoint
ALTER TABLE `users` ADD `phone` text;